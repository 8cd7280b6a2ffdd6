package mcp

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

// harness is an MCP client session connected to a server through the
// SDK's in-memory transport.
type harness struct {
	srv *Server
	cs  *sdk.ClientSession
}

func connect(t testing.TB, cfg Config, now time.Time) *harness {
	t.Helper()
	srv, err := New(cfg, WithClock(func() time.Time { return now }))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	ctx := context.Background()
	ct, st := sdk.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, st, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "mcp-test", Version: "1"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cs.Close() })
	return &harness{srv: srv, cs: cs}
}

func onDataset(t testing.TB, sc scenario) (*harness, *dataset) {
	d := loadDataset(t, sc)
	return connect(t, testConfig(t, d.db), d.now), d
}

func call[Out any](t testing.TB, h *harness, name string, args map[string]any) Out {
	t.Helper()
	res, err := h.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	require.False(t, res.IsError, "%s(%v) failed: %s", name, args, resultText(res))
	b, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	var out Out
	require.NoError(t, json.Unmarshal(b, &out), string(b))
	return out
}

// callError calls a tool that must fail and returns the message the model sees.
func callError(t testing.TB, h *harness, name string, args map[string]any) string {
	t.Helper()
	res, err := h.cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	require.True(t, res.IsError, "%s(%v) should fail, got %s", name, args, resultText(res))
	return resultText(res)
}

func resultText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestStartCheck(t *testing.T) {
	d := loadDataset(t, poolExhaustion)
	ctx := context.Background()

	srv, err := New(testConfig(t, d.db))
	require.NoError(t, err)
	require.NoError(t, srv.Check(ctx))
	require.NoError(t, srv.Close())

	cfg := testConfig(t, d.db)
	cfg.Embedder.Dims = 64
	srv, err = New(cfg)
	require.NoError(t, err)
	err = srv.Check(ctx)
	require.ErrorContains(t, err, "holds 384-dim vectors but this server's embedder makes 64-dim ones")
	require.ErrorContains(t, err, "leave --embedder-dims unset")
	require.NoError(t, srv.Close())

	t.Setenv("MCP_TEST_EMBED_KEY", "sk-test-not-a-real-key")
	cfg = testConfig(t, d.db)
	cfg.Embedder.Provider = "openai"
	cfg.Embedder.Model = "text-embedding-3-small"
	cfg.Embedder.BaseURL = "http://127.0.0.1:9/v1"
	cfg.Embedder.APIKeyEnv = "MCP_TEST_EMBED_KEY"
	srv, err = New(cfg)
	require.NoError(t, err)
	err = srv.Check(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `embeds queries with "text-embedding-3-small"`)
	assert.Contains(t, err.Error(), "hash-")
	assert.Contains(t, err.Error(), "leave --embedder-provider/--embedder-model/--embedder-dims unset")
	assert.NotContains(t, err.Error(), "sk-test-not-a-real-key")
	require.NoError(t, srv.Close())

	srv, err = New(testConfig(t, "no_such_db"))
	require.NoError(t, err)
	err = srv.Check(ctx)
	require.ErrorContains(t, err, "start the collector")
	require.NoError(t, srv.Close())

	cfg = testConfig(t, d.db)
	cfg.ClickHouse.Port = 9 // nothing listens on the discard port
	cfg.ClickHouse.ConnectTimeout = 2 * time.Second
	srv, err = New(cfg)
	require.NoError(t, err)
	err = srv.Check(ctx)
	require.ErrorContains(t, err, "cannot reach ClickHouse at 127.0.0.1:9")
	require.NoError(t, srv.Close())

	cfg = testConfig(t, d.db)
	cfg.ClickHouse.User, cfg.ClickHouse.Password = "alice", "wrong-secret-value"
	srv, err = New(cfg)
	require.NoError(t, err)
	err = srv.Check(ctx)
	require.ErrorContains(t, err, "refused the configured credentials")
	assert.NotContains(t, err.Error(), "wrong-secret-value")
	require.NoError(t, srv.Close())

	cfg.ClickHouse.Password = "secret"
	srv, err = New(cfg)
	require.NoError(t, err)
	require.NoError(t, srv.Check(ctx))
	require.NoError(t, srv.Close())
}

func TestSQLTools(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)

	tables := call[ListTablesOutput](t, h, ToolListTables, nil)
	assert.Equal(t, "mcp_pool", tables.Database)
	names := map[string]TableInfo{}
	for _, tb := range tables.Tables {
		names[tb.Name] = tb
	}
	for _, want := range []string{"otel_logs", "otel_traces", "otel_metrics_gauge", "otel_metrics_sum", "log_templates",
		"logs_with_embeddings", "traces_with_embeddings", "error_patterns", "otel_sessions", "hyperdx_sessions"} {
		assert.Contains(t, names, want)
	}
	logs := names["otel_logs"]
	require.NotEmpty(t, logs.Columns)
	assert.Equal(t, ColumnInfo{Name: "Timestamp", Type: "DateTime64(9)", Comment: "Event timestamp with nanosecond precision"}, logs.Columns[0])
	require.NotNil(t, logs.TotalRows)
	assert.Positive(t, *logs.TotalRows)

	only := call[ListTablesOutput](t, h, ToolListTables, map[string]any{"like": "otel_metrics_%"})
	for _, tb := range only.Tables {
		assert.True(t, strings.HasPrefix(tb.Name, "otel_metrics_"), tb.Name)
	}

	desc := call[DescribeTableOutput](t, h, ToolDescribeTable, map[string]any{"table": "log_templates"})
	assert.Contains(t, desc.Engine, "ReplacingMergeTree")
	assert.Contains(t, desc.SortingKey, "template_hash")
	var indexTypes []string
	for _, ix := range desc.Indices {
		indexTypes = append(indexTypes, ix.Type)
	}
	assert.Contains(t, strings.Join(indexTypes, " "), "vector_similarity")
	assert.Contains(t, strings.Join(indexTypes, " "), "text(tokenizer = array)", "migration 0009's index on the search terms")
	assert.Contains(t, callError(t, h, ToolDescribeTable, map[string]any{"table": "nope"}), "call list_tables")

	res := call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{
		"sql": "SELECT ServiceName, count() AS n FROM otel_traces GROUP BY ServiceName ORDER BY ServiceName"})
	assert.Equal(t, []ResultColumn{{"ServiceName", "LowCardinality(String)"}, {"n", "UInt64"}}, res.Columns)
	require.Len(t, res.Rows, 6, "five services and the browser")
	assert.Equal(t, "cart", res.Rows[0][0])
	assert.Equal(t, "shop-web", res.Rows[5][0])
	assert.False(t, res.Truncated)

	// Every kind of value comes back as JSON: maps, arrays, times, NaN,
	// vectors summarised.
	res = call[QueryResult](t, h, ToolRunSelectQuery, map[string]any{
		"sql": "SELECT map('a', 1) AS m, [1, 2] AS a, toDateTime64('2026-01-02 03:04:05.5', 3, 'UTC') AS t, nan AS x, toUUID('00000000-0000-0000-0000-000000000001') AS u, toDecimal64(1.25, 2) AS d, embedding FROM log_templates LIMIT 1"})
	require.Len(t, res.Rows, 1)
	assert.Equal(t, map[string]any{"a": float64(1)}, res.Rows[0][0])
	assert.Equal(t, []any{float64(1), float64(2)}, res.Rows[0][1])
	assert.Equal(t, "2026-01-02T03:04:05.5Z", res.Rows[0][2])
	assert.Equal(t, "NaN", res.Rows[0][3])
	assert.Equal(t, "00000000-0000-0000-0000-000000000001", res.Rows[0][4])
	assert.Equal(t, "1.25", res.Rows[0][5])
	assert.Equal(t, "<vector of 384 floats>", res.Rows[0][6])

	est := call[EstimateQueryOutput](t, h, ToolEstimateQuery, map[string]any{
		"sql": "SELECT count() FROM otel_logs WHERE Timestamp >= now() - INTERVAL 1 HOUR"})
	require.NotEmpty(t, est.Estimates)
	assert.Equal(t, "otel_logs", est.Estimates[0].Table)
	assert.Positive(t, est.TotalRows)
	assert.Contains(t, est.Advice, "rows would be read")
}

func TestFindSimilarErrors(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{
		"text": "InventoryDBError: timed out acquiring connection from pool after 2000ms (in_use=10 max=10 waiting=9) during reserve_stock order_id=ord-99999 sku=SKU-0001",
		"k":    3,
	})
	require.NotEmpty(t, out.Hits)
	top := out.Hits[0]
	assert.Equal(t, "inventory", top.Service)
	assert.Contains(t, top.Template, "timed out acquiring connection from pool")
	assert.Less(t, top.Distance, 0.05)
	assert.Greater(t, top.Occurrences, uint64(50))
	assert.NotEmpty(t, top.ExampleTraceIDs)
	assert.True(t, top.FirstSeen.Before(top.LastSeen))
	assert.True(t, top.FirstSeen.After(d.now.Add(-25*time.Minute)), "the errors began in the incident")
	assert.LessOrEqual(t, len(out.Hits), 3)

	// Free text in other words still finds it; a service filter narrows.
	out = call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "timed out acquiring connection from pool", "service": "inventory"})
	require.NotEmpty(t, out.Hits)
	assert.Contains(t, out.Hits[0].Template, "acquiring connection from pool")
	for _, hit := range out.Hits {
		assert.Equal(t, "inventory", hit.Service)
	}

	// By trace id: the trace's own errors are the query.
	out = call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"trace_id": d.failing[0]})
	assert.Contains(t, out.Query.Source, d.failing[0])
	require.NotEmpty(t, out.Hits)
	assert.InDelta(t, 0, out.Hits[0].Distance, 1e-3)

	assert.Contains(t, callError(t, h, ToolFindSimilarErrors, nil), "give text")
	assert.Contains(t, callError(t, h, ToolFindSimilarErrors, map[string]any{"trace_id": "xyz"}), "32 hex digits")
	assert.Contains(t, callError(t, h, ToolFindSimilarErrors, map[string]any{"text": "x", "window": "forever"}), "not a duration")
}

func TestMatchErrorPatterns(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[MatchErrorPatternsOutput](t, h, ToolMatchErrorPatterns, map[string]any{
		"text": "InventoryDBError: timed out acquiring connection from pool after 2004ms (in_use=10 max=10 waiting=5) during reserve_stock order_id=ord-1 sku=SKU-1"})
	require.NotEmpty(t, out.Patterns)
	p := out.Patterns[0]
	assert.Equal(t, "inventory_db_pool_exhausted", p.Signature)
	assert.Contains(t, p.Resolution, "20→50")
	assert.Contains(t, p.RootCause, "inventory_service_db_pool_exhaustion")
	assert.Positive(t, p.OccurrenceCount, "the exporter counted the incident's errors against the pattern")

	out = call[MatchErrorPatternsOutput](t, h, ToolMatchErrorPatterns, map[string]any{"trace_id": d.conflict[0], "service": "cart"})
	require.NotEmpty(t, out.Patterns)
	assert.Equal(t, "cart_update_conflict", out.Patterns[0].Signature)
}

func TestDetectAnomalousTraces(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	out := call[DetectAnomalousTracesOutput](t, h, ToolDetectAnomalousTraces, map[string]any{"window": "30m", "k": 5})
	assert.Positive(t, out.Traces)
	assert.Positive(t, out.Anomalous)
	require.Len(t, out.Top, 5)
	for i := 1; i < len(out.Top); i++ {
		assert.GreaterOrEqual(t, out.Top[i-1].AnomalyScore, out.Top[i].AnomalyScore)
	}
	assert.Contains(t, out.Top[0].SpanSequence, "inventory")

	cart := call[DetectAnomalousTracesOutput](t, h, ToolDetectAnomalousTraces, map[string]any{"window": "30m", "service": "cart"})
	require.NotEmpty(t, cart.Top)
	for _, tr := range cart.Top {
		assert.Contains(t, tr.SpanSequence, "cart ")
	}
	assert.Less(t, cart.Traces, out.Traces)
}

func TestErrorSummary(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	out := call[ErrorSummaryOutput](t, h, ToolErrorSummary, map[string]any{"window": "30m"})
	require.NotEmpty(t, out.Services)
	byName := map[string]ServiceErrors{}
	for _, s := range out.Services {
		byName[s.Service] = s
	}
	inv := byName["inventory"]
	assert.True(t, inv.Spike)
	assert.Zero(t, inv.ErrorLogsPrevious)
	assert.Greater(t, inv.ErrorLogs, uint64(50))
	assert.Equal(t, "new", inv.ErrorLogsChange)
	require.NotEmpty(t, inv.TopTemplates)
	assert.Contains(t, inv.TopTemplates[0].Template, "timed out acquiring connection from pool")
	assert.True(t, inv.TopTemplates[0].New)
	assert.NotEmpty(t, inv.TopTemplates[0].ExampleTraceIDs)
	assert.True(t, byName["payment"].Spike)
	assert.Greater(t, byName["payment"].ErrorRate, 0.3)
	assert.False(t, byName["cart"].Spike, "cart's conflicts are steady, not a spike")
	var sev []string
	for _, s := range inv.BySeverity {
		sev = append(sev, s.Severity)
	}
	assert.ElementsMatch(t, []string{"ERROR", "INFO"}, sev)
	assert.NotEmpty(t, out.Spikes)

	one := call[ErrorSummaryOutput](t, h, ToolErrorSummary, map[string]any{"window": "30m", "service": "payment"})
	require.Len(t, one.Services, 1)
	assert.Equal(t, "payment", one.Services[0].Service)
}

func TestGetTrace(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[GetTraceOutput](t, h, ToolGetTrace, map[string]any{"trace_id": strings.ToUpper(d.failing[0])})
	assert.Equal(t, d.failing[0], out.TraceID)
	assert.Equal(t, []string{"checkout", "frontend", "inventory", "payment"}, out.Services)
	require.NotEmpty(t, out.Spans)
	assert.Equal(t, 0, out.Spans[0].Depth)
	assert.Equal(t, "frontend", out.Spans[0].Service)
	var inv *TraceSpan
	for i := range out.Spans {
		if out.Spans[i].Service == "inventory" {
			inv = &out.Spans[i]
		}
	}
	require.NotNil(t, inv)
	assert.Equal(t, "Error", inv.Status)
	assert.Contains(t, inv.StatusMessage, "timed out acquiring connection from pool")
	require.Len(t, inv.Logs, 1)
	assert.Equal(t, "ERROR", inv.Logs[0].Severity)
	assert.Greater(t, inv.Depth, 3)
	assert.InDelta(t, 2000, inv.DurationMs, 100)
	assert.Contains(t, out.Tree, "inventory POST /inventory/reserve [server]")
	assert.Equal(t, 7, out.ErrorCount, "every hop from inventory up to frontend failed")

	assert.Contains(t, callError(t, h, ToolGetTrace, map[string]any{"trace_id": strings.Repeat("ab", 16)}), "not in otel_traces")
}

func TestGetSession(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	require.NotEmpty(t, d.browserTrace)
	out := call[GetSessionOutput](t, h, ToolGetSession, map[string]any{"trace_id": d.browserTrace})
	require.NotNil(t, out.Session, out.Notice)
	assert.Equal(t, browserSession, out.Session.SessionID)
	assert.Equal(t, "shop-web", out.Session.Service)
	assert.Equal(t, "u-17", out.Session.UserID)
	assert.Contains(t, out.Session.TraceIDs, d.browserTrace)
	assert.Equal(t, uint32(1), out.Session.PageViews)
	assert.Contains(t, out.Session.Browser, "Chrome")
	assert.True(t, out.Replay.Available)
	assert.Equal(t, uint64(3), out.Replay.Events, "the recorder's events in hyperdx_sessions")
	assert.Equal(t, uint64(3), out.Replay.ReplayEvents, "and in session_replay_events")
	assert.Equal(t, browserSession, out.Replay.SessionID)
	assert.Contains(t, out.Replay.Query, "rum.sessionId'] = 'sess-7f3a'")
	assert.Contains(t, out.Replay.HowToWatch, "rum.sessionId:sess-7f3a")

	bySID := call[GetSessionOutput](t, h, ToolGetSession, map[string]any{"session_id": browserSession})
	require.NotNil(t, bySID.Session)
	assert.Equal(t, out.Session.SessionID, bySID.Session.SessionID)

	none := call[GetSessionOutput](t, h, ToolGetSession, map[string]any{"trace_id": d.failing[0]})
	assert.Nil(t, none.Session)
	assert.Contains(t, none.Notice, "no session found")
	assert.Contains(t, callError(t, h, ToolGetSession, nil), "give trace_id")
}

func TestAnalyzeRootCausePoolExhaustion(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	for _, service := range []string{"", "payment", "checkout"} {
		t.Run("service="+service, func(t *testing.T) {
			out := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"window": "30m", "service": service})
			require.NotEmpty(t, out.Candidates)
			top := out.Candidates[0]
			assert.Equal(t, "inventory", top.Service, top.Summary)
			assert.Equal(t, "POST /inventory/reserve", top.Operation)
			assert.Equal(t, rca.KindDBPoolExhaustion, top.Kind)
			assert.Equal(t, "high", top.Confidence)
			ev := top.Evidence
			assert.Greater(t, ev.DeepestShare, 0.8)
			assert.Zero(t, ev.BaseErrorRate)
			assert.Greater(t, ev.ErrorRate, 0.3)
			require.NotNil(t, ev.StartedAt)
			assert.WithinDuration(t, d.now.Add(-20*time.Minute), *ev.StartedAt, 90*time.Second, "the pool ran dry at minute 40")
			require.NotEmpty(t, ev.Propagation)
			assert.Equal(t, []string{"inventory POST /inventory/reserve", "payment POST /payment/authorize", "checkout POST /checkout", "frontend POST /checkout"}, ev.Propagation[0].Hops)
			require.NotEmpty(t, ev.Messages)
			assert.Contains(t, ev.Messages[0].Text, "timed out acquiring connection from pool")
			var notes []string
			for _, m := range ev.Metrics {
				notes = append(notes, m.Note)
			}
			assert.Contains(t, strings.Join(notes, "\n"), "DB pool in use peaked at 10 of 10")
			assert.Contains(t, strings.Join(notes, "\n"), "callers waiting")
			require.NotEmpty(t, top.KnownPatterns)
			assert.Equal(t, "inventory_db_pool_exhausted", top.KnownPatterns[0].Signature)
			assert.Contains(t, top.KnownPatterns[0].Resolution, "Raise the inventory DB pool size 20→50")
			assert.Contains(t, top.Summary, "propagates inventory → payment → checkout → frontend")
			assert.NotEmpty(t, out.NextSteps)

			// The cart race is steady background, ranked below.
			for _, c := range out.Candidates[1:] {
				assert.Less(t, c.Score, top.Score)
			}
		})
	}
	// Deterministic: the same question gets the same answer.
	a := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"window": "30m"})
	b := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"window": "30m"})
	assert.Equal(t, a, b)
}

func TestAnalyzeRootCauseMemoryLeak(t *testing.T) {
	h, d := onDataset(t, memoryLeak)
	out := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"window": "30m", "service": "checkout"})
	require.NotEmpty(t, out.Candidates)
	top := out.Candidates[0]
	assert.Equal(t, "inventory", top.Service, top.Summary)
	assert.Equal(t, rca.KindMemoryLeak, top.Kind, top.Summary)
	require.NotNil(t, top.Evidence.MetricsStartedAt)
	require.NotNil(t, top.Evidence.ErrorsStartedAt)
	assert.True(t, top.Evidence.MetricsStartedAt.Before(*top.Evidence.ErrorsStartedAt), "the leak shows in the heap before requests fail")
	assert.WithinDuration(t, d.now.Add(-29*time.Minute), *top.Evidence.StartedAt, 3*time.Minute)
	require.NotEmpty(t, top.Evidence.Metrics)
	assert.Equal(t, "process.runtime.go.mem.heap_alloc", top.Evidence.Metrics[0].Metric)
	assert.Contains(t, top.Evidence.Metrics[0].Note, "grew")
	require.NotEmpty(t, top.KnownPatterns)
	assert.Equal(t, "inventory_memory_leak_load_shedding", top.KnownPatterns[0].Signature)
	for _, c := range out.Candidates {
		assert.NotEqual(t, rca.KindDBPoolExhaustion, c.Kind, "the pool is healthy in this incident")
	}
}

func TestPrompts(t *testing.T) {
	h := connect(t, testConfig(t, "mcp_pool"), time.Now())
	ctx := context.Background()
	list, err := h.cs.ListPrompts(ctx, nil)
	require.NoError(t, err)
	var names []string
	for _, p := range list.Prompts {
		names = append(names, p.Name)
	}
	assert.ElementsMatch(t, []string{"error_spike_root_cause", "error_spike_root_cause_ko", "anomaly_scan", "anomaly_scan_ko",
		"similar_error_search", "similar_error_search_ko"}, names)
	got, err := h.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "error_spike_root_cause_ko", Arguments: map[string]string{"service": "payment", "window": "1h"}})
	require.NoError(t, err)
	require.Len(t, got.Messages, 1)
	text := got.Messages[0].Content.(*sdk.TextContent).Text
	assert.Contains(t, text, "지난 1h 동안 payment 서비스에서 에러가 급증했어")
	assert.Contains(t, text, "analyze_root_cause (service=payment, window=1h)")
	_, err = h.cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: "similar_error_search", Arguments: map[string]string{}})
	require.ErrorContains(t, err, "needs the argument")
}

// Metrics are bucketed finer than a minute for short windows: a leak is a
// heap rising bucket after bucket, and a one-minute window holds one minute.
func TestMetricStep(t *testing.T) {
	assert.Equal(t, 10, metricStep(time.Minute))
	assert.Equal(t, 15, metricStep(90*time.Second))
	assert.Equal(t, 60, metricStep(time.Hour))
	assert.Equal(t, 10, metricStep(10*time.Second))
}
