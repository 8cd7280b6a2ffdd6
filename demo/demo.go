package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
)

// DemoOptions configure the demo.
type DemoOptions struct {
	DataDir string
	Rate    float64
	Seed    uint64
	Warmup  time.Duration // traffic before payment_timeout opens
}

// DefaultDemoOptions keep the demo around five minutes.
func DefaultDemoOptions() DemoOptions {
	return DemoOptions{Rate: 8, Seed: 42, Warmup: 45 * time.Second}
}

// gate drops progress output while a scenario is being played.
type gate struct {
	w      io.Writer
	closed atomic.Bool
}

func (g *gate) Write(b []byte) (int, error) {
	if g.closed.Load() {
		return len(b), nil
	}
	return g.w.Write(b)
}

// RunDemo starts everything, injects the seed's failures in fixed windows and
// plays the seed's three scenarios through the MCP server over stdio.
func RunDemo(ctx context.Context, o DemoOptions, out io.Writer) error {
	st, err := StartStack(ctx, o.DataDir, out)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintln(out, "\n▶ stopping the MCP server, the shop and the collector…")
		st.Close()
		fmt.Fprintln(out, "  stopped.")
	}()
	// Fixed windows: the demo is the same every time.
	type win struct {
		name    string
		at, dur time.Duration
	}
	pt := o.Warmup
	plan := []win{
		{"payment_timeout", pt, 60 * time.Second},
		{"cascade_failure", pt + 85*time.Second, 60 * time.Second},
		{"intermittent_error", pt + 160*time.Second, 45 * time.Second},
	}
	var scenarios []run.Scenario
	for _, w := range plan {
		sc, err := st.SeedScenario(w.name)
		if err != nil {
			return err
		}
		sc.Window = run.Duration(w.dur)
		sc.Windows = []run.FixedWindow{{Start: run.Duration(w.at), Duration: run.Duration(w.dur)}}
		scenarios = append(scenarios, sc)
	}
	total := plan[2].at + plan[2].dur + 10*time.Second
	// Scenario 3 asks for errors like a NullPointerException: the shop's Go
	// services have a latent nil-pointer bug in the product page (a recovered
	// panic on one request in twenty) for most of the run.
	bugAt := 30 * time.Second
	scenarios = append(scenarios, run.Scenario{
		Name: "nil_pointer_bug", Description: "a nil pointer dereference in the product page handler on a share of requests",
		RootCause: "frontend_nil_pointer_dereference", RootCauseService: "frontend", RootCauseKind: "code_error",
		Inject: []faults.Spec{{Type: faults.ErrorRate, Service: "frontend", Route: "GET /products/{id}", Probability: 0.05, Mode: faults.ModePanic}},
		Window: run.Duration(total - bugAt), Windows: []run.FixedWindow{{Start: run.Duration(bugAt), Duration: run.Duration(total - bugAt - 5*time.Second)}},
	})
	truth := filepath.Join(os.TempDir(), fmt.Sprintf("agentic-demo-truth-%d.jsonl", os.Getpid()))
	defer os.Remove(truth)
	lcfg, err := st.LoadgenConfig(o.Rate, total, o.Seed, truth, scenarios)
	if err != nil {
		return err
	}
	g := &gate{w: out}
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&prefixWriter{w: g, prefix: "  [loadgen] "}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	defer slog.SetDefault(prev)

	fmt.Fprintf(out, "▶ load generator: %.0f journeys/s for %s; failures injected at fixed times:\n", o.Rate, total)
	for _, w := range plan {
		fmt.Fprintf(out, "    %-20s at +%s for %s\n", w.name, w.at, w.dur)
	}
	fmt.Fprintf(out, "    %-20s from +%s, 5%% of GET /products/{id} (a latent bug, for scenario 3)\n", "nil_pointer_bug", bugAt)
	started := time.Now()
	lctx, lcancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// On Ctrl-C the load generator closes its fault windows through the
	// shop's admin API: let it finish before the shop stops.
	defer func() { lcancel(); wg.Wait() }()
	wg.Add(2)
	var lerr error
	go func() {
		defer wg.Done()
		_, lerr = run.Run(lctx, lcfg, &prefixWriter{w: g, prefix: "  [loadgen] "})
	}()
	go func() { // what the store holds, while traffic builds up
		defer wg.Done()
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				s, err := st.Col.Query(lctx, storeCountsSQL)
				if err == nil {
					f := strings.Fields(s)
					if len(f) == 5 {
						fmt.Fprintf(g, "  [store +%s] spans %s, logs %s, traces embedded %s (anomalous %s), error templates %s\n",
							time.Since(started).Round(time.Second), f[0], f[1], f[2], f[4], f[3])
					}
				}
			}
		}
	}()
	wait := func(until time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(started.Add(until))):
			return nil
		}
	}

	// Scenario 1, right after the payment errors spiked (the other failures
	// are still to come).
	if err := wait(plan[0].at + plan[0].dur + 8*time.Second); err != nil {
		return err
	}
	g.closed.Store(true)
	fmt.Fprintln(out, "\n▶ starting the MCP server (build/agentic-mcp over stdio, as Claude Desktop runs it)…")
	if err := st.StartAgent(ctx); err != nil {
		return err
	}
	st.Agent.Out = out
	if err := scenario1(ctx, st, out); err != nil {
		fmt.Fprintf(out, "  scenario 1 failed: %v\n", err)
	}
	g.closed.Store(false)
	fmt.Fprintln(out, "\n▶ traffic continues: the memory leak and the intermittent cart errors come next…")

	if err := wait(total + time.Second); err != nil {
		return err
	}
	lcancel()
	wg.Wait()
	if lerr != nil && ctx.Err() == nil {
		fmt.Fprintf(out, "  load generator: %v\n", lerr)
	}
	g.closed.Store(true)
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	_ = st.Shop.Flush(fctx)
	cancel()
	time.Sleep(4 * time.Second)
	if err := scenario2(ctx, st, out); err != nil {
		fmt.Fprintf(out, "  scenario 2 failed: %v\n", err)
	}
	if err := scenario3(ctx, st, out); err != nil {
		fmt.Fprintf(out, "  scenario 3 failed: %v\n", err)
	}
	return ctx.Err()
}

func header(out io.Writer, n int, q string) {
	fmt.Fprintf(out, "\n══════════════════════════════════════════════════════════════════════\n")
	fmt.Fprintf(out, " Scenario %d — user: %q\n", n, q)
	fmt.Fprintf(out, "══════════════════════════════════════════════════════════════════════\n")
}

func step(out io.Writer, n int, what string) { fmt.Fprintf(out, "\n[step %d] %s\n", n, what) }

func scenario1(ctx context.Context, st *Stack, out io.Writer) error {
	a := st.Agent
	header(out, 1, "payment errors spiked in the last hour — find the cause")

	step(out, 1, "what fails in payment? (error_summary)")
	var sum ErrorSummary
	if err := a.Call(ctx, "error_summary", map[string]any{"service": "payment", "window": "1h", "top": 5}, &sum); err != nil {
		return err
	}
	var topTpl, exampleTrace, firstSeen string
	for _, s := range sum.Services {
		fmt.Fprintf(out, "    %s: %d error logs (%s), %d/%d requests failed (%.1f%%), spike=%v\n", s.Service, s.ErrorLogs, s.ErrorLogsChange, s.FailedRequests, s.Requests, 100*s.ErrorRate, s.Spike)
		for i, t := range s.TopTemplates {
			fmt.Fprintf(out, "      %d. [%s ×%d] %s\n", i+1, t.Severity, t.Count, truncate(t.Template, 130))
			if i == 0 {
				topTpl, firstSeen = t.Template, t.FirstSeen
				if len(t.ExampleTraceIDs) > 0 {
					exampleTrace = t.ExampleTraceIDs[0]
				}
			}
		}
	}
	if topTpl == "" {
		return fmt.Errorf("no payment error templates yet")
	}

	step(out, 2, "have we seen errors like the top one? (find_similar_errors)")
	var sim SimilarErrors
	if err := a.Call(ctx, "find_similar_errors", map[string]any{"text": topTpl, "k": 5}, &sim); err != nil {
		return err
	}
	for _, h := range sim.Hits {
		fmt.Fprintf(out, "    %.2f  %-9s ×%-5d %s\n", h.Similarity, h.Service, h.Occurrences, truncate(h.Template, 110))
	}

	step(out, 3, "look at one failing trace (get_trace)")
	var tr Trace
	if exampleTrace != "" {
		if err := a.Call(ctx, "get_trace", map[string]any{"trace_id": exampleTrace, "max_spans": 80}, &tr); err != nil {
			return err
		}
		printTrace(out, tr)
	}

	step(out, 4, "is this a known incident? (match_error_patterns)")
	var pat Patterns
	args := map[string]any{"k": 3}
	if exampleTrace != "" {
		args["trace_id"] = exampleTrace
	} else {
		args["text"] = topTpl
	}
	if err := a.Call(ctx, "match_error_patterns", args, &pat); err != nil {
		return err
	}
	for _, p := range pat.Patterns {
		fmt.Fprintf(out, "    %.2f  %s (%s): root cause %q\n          resolution: %s\n", p.Similarity, p.Signature, p.Service, p.RootCause, truncate(p.Resolution, 200))
	}

	step(out, 5, "rank the root causes since the errors began (analyze_root_cause)")
	window := "15m"
	if t, err := time.Parse(time.RFC3339Nano, firstSeen); err == nil {
		d := time.Since(t) + 30*time.Second
		window = fmt.Sprintf("%dm", int(math.Max(1, math.Ceil(d.Minutes()))))
	}
	var rca RCAAnswer
	if err := a.Call(ctx, "analyze_root_cause", map[string]any{"service": "payment", "window": window, "k": 3}, &rca); err != nil {
		return err
	}
	for _, c := range rca.Candidates {
		fmt.Fprintf(out, "    #%d %s/%s %s score=%.2f (%s): %s\n", c.Rank, c.Service, c.Operation, c.Kind, c.Score, c.Confidence, truncate(c.Summary, 160))
	}

	fmt.Fprintln(out, "\n── Report ──")
	if len(rca.Candidates) == 0 {
		fmt.Fprintln(out, "No root-cause candidate was found.", rca.Notice)
		return nil
	}
	c := rca.Candidates[0]
	fmt.Fprintf(out, "Symptom: %s\n", rca.Symptom.Description)
	fmt.Fprintf(out, "Most likely root cause: %s (%s) in %s — %s\n", kindText(c.Kind), c.Kind, c.Service, c.Summary)
	if len(c.Evidence.Propagation) > 0 {
		fmt.Fprintf(out, "Propagation: %s (%d traces)\n", strings.Join(c.Evidence.Propagation[0].Hops, " → "), c.Evidence.Propagation[0].Traces)
	}
	for _, m := range c.Evidence.Metrics {
		fmt.Fprintf(out, "Metric: %s %s %s\n", m.Metric, m.Change, m.Note)
	}
	for i, m := range c.Evidence.Messages {
		if i == 2 {
			break
		}
		fmt.Fprintf(out, "Error at the cause (×%d): %s\n", m.Count, truncate(m.Text, 150))
	}
	known := c.KnownPatterns
	if len(known) == 0 {
		known = pat.Patterns
	}
	if len(known) > 0 {
		fmt.Fprintf(out, "Seen before: %s — root cause %q\nPast resolution: %s\n", known[0].Signature, known[0].RootCause, known[0].Resolution)
	}
	return nil
}

func kindText(k string) string {
	return map[string]string{
		"db_pool_exhaustion":     "database connection-pool exhaustion",
		"memory_leak":            "memory leak",
		"memory_pressure":        "memory pressure",
		"race_condition":         "race condition",
		"dependency_unavailable": "dependency unavailable",
		"dependency_timeout":     "dependency timeout",
		"code_error":             "code error",
		"latency":                "latency",
		"error_rate":             "error rate increase",
	}[k]
}

func printTrace(out io.Writer, tr Trace) {
	fmt.Fprintf(out, "    trace %s: %d spans, %d errors, %.0f ms, services %s\n", tr.TraceID, tr.SpanCount, tr.ErrorCount, tr.DurationMS, strings.Join(tr.Services, ","))
	shown := 0
	for _, s := range tr.Spans {
		if shown >= 14 {
			fmt.Fprintln(out, "      …")
			break
		}
		mark := ""
		if strings.EqualFold(s.Status, "error") || strings.Contains(strings.ToLower(s.Status), "error") {
			mark = " ✗ " + truncate(s.StatusMessage, 70)
		}
		fmt.Fprintf(out, "      %s%s %s %.0fms%s\n", strings.Repeat("  ", s.Depth), s.Service, s.Name, s.DurationMS, mark)
		shown++
		for _, l := range s.Logs {
			if l.Severity == "ERROR" || l.Severity == "WARN" {
				fmt.Fprintf(out, "      %s  └ %s %s\n", strings.Repeat("  ", s.Depth), l.Severity, truncate(l.Body, 100))
			}
		}
	}
}

func scenario2(ctx context.Context, st *Stack, out io.Writer) error {
	a := st.Agent
	header(out, 2, "is anything abnormal right now?")
	step(out, 1, "scan recent traces (detect_anomalous_traces)")
	var an Anomalies
	if err := a.Call(ctx, "detect_anomalous_traces", map[string]any{"window": "5m", "only_anomalous": true, "k": 100}, &an); err != nil {
		return err
	}
	fmt.Fprintf(out, "    %d of %d traces flagged; by type %s; top 10 of 100:\n", an.AnomalousInWin, an.TracesInWindow, byType(an.AnomalousByType))
	for i, t := range an.Top {
		if i == 10 {
			break
		}
		fmt.Fprintf(out, "    %.2f %-14s %s %.0fms err=%d  %s\n", t.AnomalyScore, t.AnomalyType, t.TraceID[:12], t.DurationMS, t.ErrorCount, truncate(t.SpanSequence, 90))
	}
	if len(an.Top) == 0 {
		fmt.Fprintln(out, "\n── Report ──\nNothing abnormal in the last 5 minutes.", an.Notice)
		return nil
	}
	step(out, 2, "open the most anomalous trace (get_trace)")
	var tr Trace
	if err := a.Call(ctx, "get_trace", map[string]any{"trace_id": an.Top[0].TraceID, "max_spans": 60}, &tr); err != nil {
		return err
	}
	printTrace(out, tr)
	step(out, 3, "which user session produced it? (get_session)")
	var ses Session
	if err := a.Call(ctx, "get_session", map[string]any{"trace_id": an.Top[0].TraceID}, &ses); err != nil {
		fmt.Fprintf(out, "    %v\n", err)
	} else if ses.Session != nil {
		fmt.Fprintf(out, "    session %s: %d page views, %d traces, %d errors, browser %s\n", ses.Session.SessionID, ses.Session.PageViews, ses.Session.TraceCount, ses.Session.ErrorCount, ses.Session.Browser)
		if ses.Replay != nil {
			fmt.Fprintf(out, "    replay: available=%v events=%d — %s\n", ses.Replay.Available, ses.Replay.Events, ses.Replay.HowToWatch)
		}
	} else {
		fmt.Fprintf(out, "    no browser session: %s\n", truncate(ses.Notice, 200))
	}

	fmt.Fprintln(out, "\n── Report ──")
	fmt.Fprintf(out, "%d of %d traces in the last 5 minutes look abnormal (%s).\n", an.AnomalousInWin, an.TracesInWindow, byType(an.AnomalousByType))
	fmt.Fprintln(out, "Abnormal patterns among the 100 highest-scoring traces (kind, entry operation):")
	type group struct {
		key   string
		n     int
		first int
	}
	idx := map[string]int{}
	var groups []group
	for i, t := range an.Top {
		entry := t.RootOperation
		if f := strings.SplitN(t.SpanSequence, " -> ", 2); len(f) > 0 && f[0] != "" {
			entry = f[0]
		}
		key := orDash(t.AnomalyType) + " on " + entry
		if j, ok := idx[key]; ok {
			groups[j].n++
			continue
		}
		idx[key] = len(groups)
		groups = append(groups, group{key, 1, i})
	}
	for i, g := range groups {
		if i == 6 {
			fmt.Fprintf(out, "  … and %d more patterns\n", len(groups)-6)
			break
		}
		t := an.Top[g.first]
		fmt.Fprintf(out, "  - %s: %d trace(s); e.g. score %.1f, %.0f ms, %d errors — %s (trace %s)\n", g.key, g.n, t.AnomalyScore, t.DurationMS, t.ErrorCount, truncate(t.SpanSequence, 120), t.TraceID)
	}
	return nil
}

func byType(m map[string]int) string {
	types := make([]string, 0, len(m))
	for k, v := range m {
		types = append(types, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(types)
	return strings.Join(types, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func scenario3(ctx context.Context, st *Stack, out io.Writer) error {
	a := st.Agent
	header(out, 3, "find errors like NullPointerException")
	step(out, 1, "semantic search over error templates (find_similar_errors)")
	var sim SimilarErrors
	if err := a.Call(ctx, "find_similar_errors", map[string]any{"text": "NullPointerException", "k": 10}, &sim); err != nil {
		return err
	}
	loose := false
	if len(sim.Hits) == 0 {
		fmt.Fprintf(out, "    no hits: %s\n", truncate(sim.Notice, 160))
		step(out, 2, "nothing close: widen the search as the tool suggests (find_similar_errors, max_distance 1.0, 30d)")
		loose = true
		if err := a.Call(ctx, "find_similar_errors", map[string]any{"text": "NullPointerException", "k": 10, "max_distance": 1.0, "window": "30d"}, &sim); err != nil {
			return err
		}
	}
	loose = loose || sim.LowConfidence
	for _, h := range sim.Hits {
		fmt.Fprintf(out, "    %.2f  %-9s ×%-5d %s\n", h.Similarity, h.Service, h.Occurrences, truncate(h.Template, 110))
	}
	fmt.Fprintln(out, "\n── Report ──")
	if len(sim.Hits) == 0 {
		fmt.Fprintln(out, "No stored error is close to \"NullPointerException\".", sim.Notice)
		return nil
	}
	if loose {
		fmt.Fprintf(out, "No stored error is a close match for \"NullPointerException\" (none within the default distance); the nearest %d, loosely related (distance ≥ %.2f):\n", len(sim.Hits), sim.Hits[0].Distance)
	} else {
		fmt.Fprintf(out, "%d error templates resemble \"NullPointerException\"; the closest:\n", len(sim.Hits))
	}
	for i, h := range sim.Hits {
		if i == 3 {
			break
		}
		ex := ""
		if len(h.ExampleTraceIDs) > 0 {
			ex = ", e.g. trace " + h.ExampleTraceIDs[0]
		}
		fmt.Fprintf(out, "  %d. %s in %s, %d occurrences (first %s, last %s%s)\n", i+1, truncate(h.Template, 120), h.Service, h.Occurrences, h.FirstSeen, h.LastSeen, ex)
	}
	if sim.Notice != "" && !loose {
		fmt.Fprintln(out, "Note:", sim.Notice)
	}
	return nil
}

// storeCountsSQL is what the demo's progress line counts: spans, logs,
// traces embedded, error templates and anomalous traces. A template that
// generalised into another (log_template_canonical) is counted as the one
// it became, not again.
const storeCountsSQL = `SELECT (SELECT count() FROM otel_traces), (SELECT count() FROM otel_logs),
	(SELECT count() FROM traces_with_embeddings),
	(SELECT count() FROM log_templates FINAL WHERE template_hash NOT IN (SELECT template_hash FROM log_template_canonical)),
	(SELECT countIf(is_anomaly = 1) FROM traces_with_embeddings)`
