package mcp

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// Tool names.
const (
	ToolListTables            = "list_tables"
	ToolDescribeTable         = "describe_table"
	ToolRunSelectQuery        = "run_select_query"
	ToolEstimateQuery         = "estimate_query"
	ToolFindSimilarErrors     = "find_similar_errors"
	ToolDetectAnomalousTraces = "detect_anomalous_traces"
	ToolMatchErrorPatterns    = "match_error_patterns"
	ToolErrorSummary          = "error_summary"
	ToolGetTrace              = "get_trace"
	ToolGetSession            = "get_session"
	ToolAnalyzeRootCause      = "analyze_root_cause"
	ToolCompareWindows        = "compare_windows"
	ToolCompareAttributes     = "compare_attributes"
	ToolListIncidents         = "list_incidents"
)

// readOnly are the annotations of every tool: ClickHouse runs each of
// their statements with readonly=1, so none can change anything. They reach
// only this server's ClickHouse — and, for the tools that embed text, the
// embedding API when one is configured (the hash embedder is local).
func readOnly(title string, openWorld bool) *sdk.ToolAnnotations {
	no := false
	return &sdk.ToolAnnotations{Title: title, ReadOnlyHint: true, IdempotentHint: true, DestructiveHint: &no, OpenWorldHint: &openWorld}
}

func (s *Server) addTools() {
	remoteEmbedder := s.cfg.Embedder.Provider == embed.ProviderOpenAI
	add(s, &sdk.Tool{
		Name:        ToolAnalyzeRootCause,
		Annotations: readOnly("Analyze root cause", remoteEmbedder),
		Description: "Start here when asked why errors or latency rose (\"payment errors spiked in the last hour — why?\"). " +
			"Ranks candidate root causes for a service or the whole system over a window: service, operation and kind " +
			"(db_pool_exhaustion, dependency_timeout, latency, deploy_regression, memory_leak, race_condition, …) scored by what changed against the " +
			"preceding baseline (error rate by Fisher's test, durations by Mann-Whitney U; chronic errors rank low), each with evidence — onset, " +
			"propagation from the deepest failing span, pool and heap metrics, the version change, known incidents — citing compare_windows and compare_attributes. " +
			"Then verify with get_trace on an example trace id.",
	}, s.analyzeRootCause, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 10, 5)
	})
	add(s, &sdk.Tool{
		Name:        ToolCompareWindows,
		Annotations: readOnly("Compare windows", false),
		Description: "What changed between a window and the period just before it: error templates that are new, spiking or vanished, and operations " +
			"(service, span name) that are new, vanished, failing more, slower (Mann-Whitney U on durations) or busier/quieter, each with counts, " +
			"rates, p-value and example traces. Flags are tested so that a window where nothing changed flags nothing 99% of the time. " +
			"Use it to see what is different now; then compare_attributes for which segment is hit.",
	}, s.compareWindowsTool, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 50, 10)
	})
	add(s, &sdk.Tool{
		Name:        ToolCompareAttributes,
		Annotations: readOnly("Compare attributes of bad and good traces", false),
		Description: "Which attribute values (service.version, region, customer tier, browser, any resource or span attribute) are over-represented " +
			"among the window's bad traces (failed, slower than the baseline's p95, or either) against the good ones, with counts, shares, " +
			"effect size and Fisher's exact p-value. Use it to find the deploy, segment or dependency a fault is confined to.",
	}, s.compareAttributesTool, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 50, 10)
		sc.Properties["bad"].Enum = []any{BadErrors, BadSlow, BadEither}
	})
	add(s, &sdk.Tool{
		Name:        ToolErrorSummary,
		Annotations: readOnly("Error summary", false),
		Description: "Per service over a window: log counts by severity, failed requests and error rate, and the top error templates, each compared with " +
			"the previous window of the same length, with spikes flagged. Use it first to see what is failing and since when, then analyze_root_cause on a spiking service.",
	}, s.errorSummary, func(sc *jsonschema.Schema) {
		intRange(sc, "top", 1, 20, 5)
	})
	add(s, &sdk.Tool{
		Name:        ToolFindSimilarErrors,
		Annotations: readOnly("Find similar errors", remoteEmbedder),
		Description: "Search past error logs by words and meaning: give an error message, a description or a few words, in English or Korean (\"NullPointerException\", \"connection refused\", \"ECONNREFUSED\", \"DB 커넥션 풀 고갈\"), " +
			"or a trace id to use its errors. Returns error templates ranked by their words (across ecosystems' spellings of the failure) and embedding, each with why it matched, " +
			"occurrences in the window, first/last seen, service and example trace ids; when nothing matches confidently, the closest few flagged low_confidence. " +
			"Use it to learn whether an error is new and where else it happens.",
	}, s.findSimilarErrors, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 50, 10)
		numRange(sc, "max_distance", 0, 2)
	})
	add(s, &sdk.Tool{
		Name:        ToolMatchErrorPatterns,
		Annotations: readOnly("Match known error patterns", remoteEmbedder),
		Description: "Retrieves known incidents (error_patterns) matching an error message, a few words or a trace's errors, by words and meaning: root cause, resolution, how often it occurred " +
			"and related traces, with why each matched. Use it after finding the failing error to see how it was resolved before.",
	}, s.matchErrorPatterns, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 20, 5)
		numRange(sc, "max_distance", 0, 2)
	})
	add(s, &sdk.Tool{
		Name:        ToolDetectAnomalousTraces,
		Annotations: readOnly("Detect anomalous traces", false),
		Description: "Ranks the window's traces by anomaly score (span sequence embedding vs what is normal for the entry operation, latency, retries, errors), " +
			"with span sequence, duration, error count and anomaly type. Use it to scan for unusual behaviour (\"is anything abnormal right now?\"); then get_trace on the top ones.",
	}, s.detectAnomalousTraces, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 100, 20)
	})
	add(s, &sdk.Tool{
		Name:        ToolListIncidents,
		Annotations: readOnly("List incidents", false),
		Description: "Groups the window's flagged (anomalous) traces into a handful of incidents: traces that deviate at the same span " +
			"(the deepest failing one, or the one a slow trace waited on) in the same way, close in time. Each with trace and error counts, " +
			"first/last seen, entry operations, services, sessions, typical span sequence and example traces. " +
			"Use it for \"what is wrong right now?\" instead of reading traces one by one; then analyze_root_cause or get_trace.",
	}, s.listIncidents, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 20, 5)
	})
	add(s, &sdk.Tool{
		Name:        ToolGetTrace,
		Annotations: readOnly("Get trace", false),
		Description: "One trace as a span tree (text and structured): services, operations, start offsets, durations, statuses with messages, events, and each span's logs. " +
			"Use it to check a candidate cause on an example trace id from the other tools.",
	}, s.getTrace, func(sc *jsonschema.Schema) {
		intRange(sc, "max_spans", 1, 1000, 300)
	})
	add(s, &sdk.Tool{
		Name:        ToolGetSession,
		Annotations: readOnly("Get browser session", false),
		Description: "The browser session (otel_sessions) that produced a trace, and the user's story: pages in order, clicks and rage clicks, errors the page showed, " +
			"failed requests with their backend trace ids; and where its replay is (a HyperDX link; hyperdx_sessions by rum.sessionId). " +
			"Use it to see what the user did around a failing request.",
	}, s.getSession, nil)
	s.addSessionAnomalyTool()
	add(s, &sdk.Tool{
		Name:        ToolListTables,
		Annotations: readOnly("List tables", false),
		Description: "Tables of the database with engine, row counts, and every column's type and comment. Call it before writing SQL for run_select_query.",
	}, s.listTables, nil)
	add(s, &sdk.Tool{
		Name:        ToolDescribeTable,
		Annotations: readOnly("Describe table", false),
		Description: "One table's columns (type, default, comment), sorting/partition keys and indexes. Use it to write fast SQL: filter on the sorting key and a time range.",
	}, s.describeTable, nil)
	add(s, &sdk.Tool{
		Name:        ToolRunSelectQuery,
		Annotations: readOnly("Run SELECT query", false),
		Description: "Runs one read-only SQL statement (ClickHouse dialect) and returns rows. ClickHouse enforces read-only (readonly=1), a time limit " +
			"(max_execution_time) and a result limit (1,000 rows by default, with a notice when cut). Prefer the specialised tools; for heavy queries call estimate_query first. " +
			"Time-filter otel_logs/otel_traces on Timestamp and aggregate instead of listing rows.",
	}, s.runSelectQuery, func(sc *jsonschema.Schema) {
		intRange(sc, "max_rows", 1, s.cfg.Limits.MaxRows, s.cfg.Limits.MaxRows)
	})
	add(s, &sdk.Tool{
		Name:        ToolEstimateQuery,
		Annotations: readOnly("Estimate query cost", false),
		Description: "EXPLAIN ESTIMATE of a SELECT: the parts, rows and marks it would read per table, with advice. Call it before a query that may scan a lot.",
	}, s.estimateQuery, nil)
}

// add registers a typed tool; tweak refines the inferred input schema
// (ranges, defaults). Errors are returned to the model as tool errors.
func add[In, Out any](s *Server, t *sdk.Tool, h sdk.ToolHandlerFor[In, Out], tweak func(*jsonschema.Schema)) {
	sc, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("input schema of %s: %v", t.Name, err))
	}
	if tweak != nil {
		tweak(sc)
	}
	t.InputSchema = sc
	sdk.AddTool(s.mcp, t, func(ctx context.Context, req *sdk.CallToolRequest, in In) (*sdk.CallToolResult, Out, error) {
		res, out, err := h(ctx, req, in)
		if err != nil {
			var te *toolError
			if !errors.As(err, &te) {
				err = s.db.explain(err)
			}
			s.logger.Debug("tool error", "tool", t.Name, "error", err)
		}
		return res, out, err
	})
}

func intRange(sc *jsonschema.Schema, name string, lo, hi, def int) {
	p := sc.Properties[name]
	if p == nil {
		panic("no property " + name)
	}
	l, h := float64(lo), float64(hi)
	p.Minimum, p.Maximum = &l, &h
	p.Default = []byte(fmt.Sprint(def))
}

func numRange(sc *jsonschema.Schema, name string, lo, hi float64) {
	p := sc.Properties[name]
	if p == nil {
		panic("no property " + name)
	}
	p.Minimum, p.Maximum = &lo, &hi
}
