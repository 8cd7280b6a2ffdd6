package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/replay"
	"github.com/otelcol-agentic/otelcol-agentic/mcp"
)

// BenchmarkScaleBackfill backfills a fresh store from a recording (loadgen
// record) at a multiple of its density for a stretch of hours ending now,
// then measures what the store holds and how long the agent's tools and
// HyperDX's queries take over 15 min, 1 h and 24 h windows. It is a harness,
// run by hand (it is skipped without SCALE_RECORDING):
//
//	SCALE_RECORDING=run.otlp SCALE_HOURS=1 SCALE_OVERLAP=10 \
//	  nice -n 10 go test ./tests/e2e -run '^$' -bench ScaleBackfill -benchtime 1x -timeout 6h -v
//
// SCALE_OVERLAP is the density multiple (10: ten copies of a seed-rate
// recording share every stretch of time), SCALE_CALLS the calls per tool
// and window (default 7), SCALE_DATA a data directory to keep.
func BenchmarkScaleBackfill(b *testing.B) {
	path := os.Getenv("SCALE_RECORDING")
	if path == "" {
		b.Skip("set SCALE_RECORDING to a recording made by loadgen record (see the comment)")
	}
	hours := envFloat(b, "SCALE_HOURS", 1)
	overlap := int(envFloat(b, "SCALE_OVERLAP", 10))
	calls := int(envFloat(b, "SCALE_CALLS", 7))
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	frames, err := replay.ReadAll(f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	first, last := replay.Span(frames)
	recLogs, recSpans, recTraces := recordingCounts(b, frames)
	recMin := last.Sub(first).Minutes()
	say("recording: %s, %.1f min, %d logs (%.0f/min), %d spans, %d traces (%.0f/min)",
		path, recMin, recLogs, float64(recLogs)/recMin, recSpans, recTraces, float64(recTraces)/recMin)
	period := last.Sub(first) + time.Second
	slots := int(time.Duration(hours*float64(time.Hour))/period) + 1
	copies := slots * overlap
	wantLogs, wantSpans := int64(copies)*recLogs, int64(copies)*recSpans

	dataDir := os.Getenv("SCALE_DATA")
	if dataDir == "" {
		dataDir = b.TempDir()
	}
	col := StartCollector(b, dataDir)
	defer col.Stop(b)
	pid := col.Pid()
	cpu0 := cpuTime(pid)
	ctx := context.Background()
	start := time.Now().Add(-time.Duration(slots) * period).Truncate(time.Minute)
	say("backfill: %d copies (%d stretches of %.1f min × overlap %d) from %s: %d logs, %d spans expected",
		copies, slots, recMin, overlap, start.UTC().Format(time.RFC3339), wantLogs, wantSpans)

	b.ResetTimer()
	began := time.Now()
	peak := 0
	st, err := replay.Replay(ctx, frames, replay.Options{Target: "http://" + col.OTLPHTTP, Start: start, Copies: copies,
		Overlap: overlap, Seed: 1000, Workers: 4, Progress: func(s replay.Stats) {
			_, p := rssKiB(pid)
			peak = max(peak, p)
			if s.Elapsed%time.Minute < 5*time.Second {
				say("  replay: copy %d/%d, %d requests, %d MiB, %d retries, %s, collector CPU %s, peak RSS %d MiB",
					s.Copy, s.Copies, s.Requests, s.Bytes>>20, s.Retries, s.Elapsed.Round(time.Second), cpuTime(pid)-cpu0, p>>10)
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	accepted := time.Since(began)
	count := func(sql string) int64 {
		out, err := col.Query(ctx, sql)
		if err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
		n, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		return n
	}
	var logs, spans int64
	for {
		logs, spans = count("SELECT count() FROM otel_logs"), count("SELECT count() FROM otel_traces")
		_, p := rssKiB(pid)
		peak = max(peak, p)
		if logs >= wantLogs && spans >= wantSpans {
			break
		}
		if time.Since(began) > 6*time.Hour {
			b.Fatalf("not stored after 6 h: %d/%d logs, %d/%d spans", logs, wantLogs, spans, wantSpans)
		}
		say("  draining: %d/%d logs, %d/%d spans stored, %s", logs, wantLogs, spans, wantSpans, time.Since(began).Round(time.Second))
		time.Sleep(10 * time.Second)
	}
	stored := time.Since(began)
	vecTraces := count("SELECT count() FROM traces_with_embeddings")
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); {
		time.Sleep(10 * time.Second)
		n := count("SELECT count() FROM traces_with_embeddings")
		if n == vecTraces {
			break
		}
		vecTraces = n
	}
	vectorsDone := time.Since(began)
	cpu := cpuTime(pid) - cpu0
	_, p := rssKiB(pid)
	peak = max(peak, p)
	b.StopTimer()
	b.ReportMetric(accepted.Seconds(), "accepted-s")
	b.ReportMetric(stored.Seconds(), "stored-s")
	b.ReportMetric(float64(logs+spans)/stored.Seconds(), "records/s")
	b.ReportMetric(float64(peak>>10), "peak-RSS-MiB")
	say("backfill of %.2f h at %d× the recording: accepted in %s, raw rows stored in %s, vectors settled in %s; %d logs, %d spans, %d embedded traces; collector CPU %s (%.2f cores), peak RSS %d MiB",
		hours, overlap, accepted.Round(time.Second), stored.Round(time.Second), vectorsDone.Round(time.Second),
		logs, spans, vecTraces, cpu.Round(time.Second), cpu.Seconds()/vectorsDone.Seconds(), peak>>10)

	out, err := col.Query(ctx, `SELECT table, sum(rows), formatReadableSize(sum(bytes_on_disk)), round(sum(bytes_on_disk) / greatest(sum(rows), 1), 1),
		formatReadableSize(sum(data_uncompressed_bytes)), count(), max(level)
		FROM system.parts WHERE database = 'agentic_otel' AND active GROUP BY table ORDER BY sum(bytes_on_disk) DESC`)
	if err != nil {
		b.Fatal(err)
	}
	say("disk per table (rows, on disk, bytes/row, uncompressed, active parts, max merge level):\n%s", out)
	out, _ = col.Query(ctx, "SELECT formatReadableSize(sum(bytes_on_disk)) FROM system.parts WHERE database = 'agentic_otel' AND active")
	say("total on disk: %s; data directory %s", strings.TrimSpace(out), humanBytes(DirBytes(b, dataDir)))
	out, _ = col.Query(ctx, "SELECT count(), sum(num_parts) FROM system.merges")
	say("merges outstanding at the end (merges, parts in them): %s", strings.TrimSpace(out))
	out, _ = col.Query(ctx, "SELECT table, count() FROM system.parts WHERE database = 'agentic_otel' AND active GROUP BY table HAVING count() > 20 ORDER BY 2 DESC")
	say("tables with more than 20 active parts:\n%s", out)

	measureTools(b, col, start, st.WindowEnd, calls)
}

// measureTools calls each MCP tool and HyperDX query over windows ending at
// the backfill's end, and logs p50/p95.
func measureTools(b *testing.B, col *Collector, start, end time.Time, calls int) {
	ctx := context.Background()
	host, portS, _ := net.SplitHostPort(col.ClickHTTP)
	port, _ := strconv.Atoi(portS)
	cfg := mcp.DefaultConfig()
	cfg.ClickHouse.Host, cfg.ClickHouse.Port = host, port
	agent := col.As("agent")
	cfg.ClickHouse.User, cfg.ClickHouse.Password = agent.User, agent.Password
	srv, err := mcp.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ct, stT := sdk.NewInMemoryTransports()
	ss, err := srv.MCP().Connect(ctx, stT, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ss.Close()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "scale-bench", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer cs.Close()

	pick := func(sql string) []string {
		out, err := col.Query(ctx, sql)
		if err != nil {
			b.Fatalf("%s: %v", sql, err)
		}
		return strings.Fields(out)
	}
	endS := end.UTC().Format(time.RFC3339)
	viewer := col.As("viewer")
	for _, w := range []time.Duration{15 * time.Minute, time.Hour, 24 * time.Hour} {
		from := end.Add(-w)
		if from.Before(start) {
			say("window %s reaches before the backfill's start (%s): it holds %.1f h of data", w, start.UTC().Format(time.RFC3339), end.Sub(start).Hours())
		}
		win := fmt.Sprintf("Timestamp BETWEEN toDateTime64(%d, 9) AND toDateTime64(%d, 9)", from.Unix(), end.Unix())
		traces := pick("SELECT TraceId FROM otel_traces WHERE " + win + " AND StatusCode = 'Error' AND ParentSpanId = '' GROUP BY TraceId ORDER BY cityHash64(TraceId) LIMIT 50")
		if len(traces) == 0 {
			traces = pick("SELECT TraceId FROM otel_traces WHERE " + win + " GROUP BY TraceId ORDER BY cityHash64(TraceId) LIMIT 50")
		}
		texts := pick("SELECT replaceRegexpAll(example_body, '\\\\s+', '_') FROM log_templates ORDER BY template_hash LIMIT 20")
		if len(traces) == 0 || len(texts) == 0 {
			b.Fatalf("window %s: no traces (%d) or templates (%d) to ask about", w, len(traces), len(texts))
		}
		text := func(i int) string { return strings.ReplaceAll(texts[i%len(texts)], "_", " ") }
		ws := w.String()
		if w == 24*time.Hour {
			ws = "24h"
		}
		tools := []struct {
			name string
			args func(i int) map[string]any
		}{
			{mcp.ToolAnalyzeRootCause, func(int) map[string]any { return map[string]any{"window": ws, "end": endS} }},
			{mcp.ToolErrorSummary, func(int) map[string]any { return map[string]any{"window": ws, "end": endS} }},
			{mcp.ToolFindSimilarErrors, func(i int) map[string]any { return map[string]any{"text": text(i), "window": ws} }},
			{mcp.ToolMatchErrorPatterns, func(i int) map[string]any { return map[string]any{"text": text(i)} }},
			{mcp.ToolDetectAnomalousTraces, func(int) map[string]any { return map[string]any{"window": ws, "end": endS} }},
			{mcp.ToolGetTrace, func(i int) map[string]any { return map[string]any{"trace_id": traces[i%len(traces)]} }},
			{mcp.ToolGetSession, func(i int) map[string]any { return map[string]any{"trace_id": traces[i%len(traces)]} }},
		}
		for _, tool := range tools {
			lat := make([]time.Duration, 0, calls)
			failed := ""
			for i := range calls {
				t0 := time.Now()
				res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: tool.name, Arguments: tool.args(i)})
				lat = append(lat, time.Since(t0))
				if err != nil {
					failed = err.Error()
				} else if res.IsError {
					failed = resultText(res)
				}
			}
			logLatency(b, tool.name, ws, lat, failed)
		}
		hyperdx := []struct {
			name string
			sql  func(i int) string
		}{
			{"hyperdx_search_histogram", func(int) string {
				return "SELECT toStartOfInterval(toDateTime(Timestamp), INTERVAL 1 minute) AS t, count() FROM otel_logs WHERE " + win + " GROUP BY t ORDER BY t"
			}},
			{"hyperdx_search_rows", func(i int) string {
				return "SELECT Timestamp, ServiceName, SeverityText, Body FROM otel_logs WHERE " + win +
					" AND hasToken(lower(Body), 'timeout') ORDER BY toStartOfFiveMinutes(Timestamp) DESC, Timestamp DESC LIMIT 200"
			}},
			{"hyperdx_waterfall", func(i int) string {
				return "SELECT Timestamp, SpanId, ParentSpanId, SpanName, ServiceName, Duration, StatusCode FROM otel_traces WHERE TraceId = '" +
					traces[i%len(traces)] + "' AND " + win + " ORDER BY Timestamp LIMIT 10000"
			}},
			{"hyperdx_trace_logs", func(i int) string {
				return "SELECT Timestamp, Body FROM otel_logs WHERE TraceId = '" + traces[i%len(traces)] + "' AND " + win + " ORDER BY Timestamp LIMIT 1000"
			}},
		}
		for _, q := range hyperdx {
			lat := make([]time.Duration, 0, calls)
			failed := ""
			for i := range calls {
				t0 := time.Now()
				if _, err := viewer.Query(ctx, q.sql(i), nil); err != nil {
					failed = err.Error()
				}
				lat = append(lat, time.Since(t0))
			}
			logLatency(b, q.name, ws, lat, failed)
		}
	}
}

func resultText(res *sdk.CallToolResult) string {
	var parts []string
	for _, c := range res.Content {
		if t, ok := c.(*sdk.TextContent); ok {
			parts = append(parts, t.Text)
		}
	}
	return strings.Join(parts, " ")
}

// say prints a line of the harness's report at once (a benchmark's own log
// shows only when it ends).
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05 ")+format+"\n", args...)
}

func logLatency(b *testing.B, name, window string, lat []time.Duration, failed string) {
	slices.Sort(lat)
	p50, p95 := lat[len(lat)/2], lat[min(len(lat)-1, (len(lat)*95+99)/100-1)]
	note := ""
	if failed != "" {
		note = " FAILED: " + failed
	}
	say("  %-26s %-4s p50 %7.0f ms  p95 %7.0f ms  (n=%d)%s", name, window, float64(p50)/1e6, float64(p95)/1e6, len(lat), note)
}

func recordingCounts(b *testing.B, frames []replay.Frame) (logs, spans, traces int64) {
	ids := map[[16]byte]bool{}
	for _, f := range frames {
		switch f.Path {
		case "/v1/logs":
			req := plogotlp.NewExportRequest()
			if err := req.UnmarshalProto(f.Body); err != nil {
				b.Fatal(err)
			}
			logs += int64(req.Logs().LogRecordCount())
		case "/v1/traces":
			req := ptraceotlp.NewExportRequest()
			if err := req.UnmarshalProto(f.Body); err != nil {
				b.Fatal(err)
			}
			td := req.Traces()
			spans += int64(td.SpanCount())
			for i := 0; i < td.ResourceSpans().Len(); i++ {
				ss := td.ResourceSpans().At(i).ScopeSpans()
				for j := 0; j < ss.Len(); j++ {
					for k := 0; k < ss.At(j).Spans().Len(); k++ {
						ids[ss.At(j).Spans().At(k).TraceID()] = true
					}
				}
			}
		}
	}
	return logs, spans, int64(len(ids))
}

func envFloat(b *testing.B, name string, def float64) float64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("%s=%q: want a number", name, s)
	}
	return v
}

func humanBytes(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
