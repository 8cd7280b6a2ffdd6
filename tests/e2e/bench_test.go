package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.yaml.in/yaml/v3"
)

// configWithout writes the repository's config minus the named pipelines,
// for a baseline measured in the same run.
func configWithout(tb testing.TB, pipelines ...string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), "otelcol-config.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	ps := doc["service"].(map[string]any)["pipelines"].(map[string]any)
	for _, p := range pipelines {
		delete(ps, p)
	}
	// A connector that no remaining pipeline receives from goes too, and a
	// spool no longer groups traces for a pipeline that went.
	connectors, _ := doc["connectors"].(map[string]any)
	for _, c := range connectors {
		cm, _ := c.(map[string]any)
		g, _ := cm["group_by_trace"].(map[string]any)
		if g == nil {
			continue
		}
		var keep []any
		for _, p := range g["pipelines"].([]any) {
			if _, ok := ps[p.(string)]; ok {
				keep = append(keep, p)
			}
		}
		g["pipelines"] = keep
	}
	for name := range connectors {
		used := false
		for _, p := range ps {
			for _, r := range p.(map[string]any)["receivers"].([]any) {
				used = used || r == name
			}
		}
		if used {
			continue
		}
		delete(connectors, name)
		for _, p := range ps {
			pm := p.(map[string]any)
			var keep []any
			for _, e := range pm["exporters"].([]any) {
				if e != name {
					keep = append(keep, e)
				}
			}
			pm["exporters"] = keep
		}
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "config.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

// settleMerges waits until no background merge has run for a second
// (bounded: a minute).
func settleMerges(tb testing.TB, col *Collector) {
	tb.Helper()
	quiet := 0
	for deadline := time.Now().Add(time.Minute); quiet < 4 && time.Now().Before(deadline); {
		time.Sleep(250 * time.Millisecond)
		n, err := col.Query(context.Background(), "SELECT count() FROM system.merges")
		if err != nil {
			tb.Fatal(err)
		}
		if n == "0" {
			quiet++
		} else {
			quiet = 0
		}
	}
}

// cpuTime reads a process's user+system CPU time from /proc.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which may contain spaces.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const clkTck = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / clkTck
}

// rssKiB reads a process's resident set (VmRSS) and its peak (VmHWM).
func rssKiB(pid int) (rss, peak int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		n, _ := strconv.Atoi(f[1])
		switch f[0] {
		case "VmRSS:":
			rss = n
		case "VmHWM:":
			peak = n
		}
	}
	return rss, peak
}

// mixedLogs is a bare stream in which errorPct % of the records are errors
// of 30 templates with varying ids and the rest INFO: a resource with only
// its service name, no attributes, no span ids. It is the worst case for
// the vector pipelines' share of the work, the raw pipeline's being least.
func mixedLogs(seq, n, errorPct int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", seq%5))
	sl := rl.ScopeLogs().AppendEmpty()
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(now)
		k := seq*n + i
		lr.SetTraceID(pcommon.TraceID([16]byte{byte(k), byte(k >> 8), byte(k >> 16), 5}))
		if i%100 < errorPct {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.Body().SetStr(fmt.Sprintf("Operation%d failed: timeout after %dms calling host-%d:%d (request %x)", k%30, 100+k%900, k%17, 8000+k%100, k*7919))
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr(fmt.Sprintf("handled request %d in %dms", k, k%250))
		}
	}
	return ld
}

// shopLogs is a batch of n log records shaped like those the sample shop
// stores (its Go SDK's resource, one scope, trace and span ids, and on
// average 12 resource attributes, 4 log attributes and a 60-byte body, as
// otel_logs holds them after a demo run), errorPct percent of them errors
// that carry their exception's type and message and the request's
// attributes, as the shop's handlers log them.
func shopLogs(seq, n, errorPct int) plog.Logs {
	services := [...]string{"frontend", "cart", "checkout", "payment", "inventory"}
	routes := [...]string{"/carts/{id}/items", "/carts/{id}", "/checkout", "/orders/{id}", "/products/{id}"}
	svc := services[seq%len(services)]
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.SetSchemaUrl("https://opentelemetry.io/schemas/1.43.0")
	res := rl.Resource().Attributes()
	res.PutStr("deployment.environment.name", "demo")
	res.PutStr("host.name", "vm")
	res.PutInt("process.pid", int64(23900+seq%len(services)))
	res.PutStr("process.runtime.name", "go")
	res.PutStr("process.runtime.version", "go1.26.8")
	res.PutStr("service.instance.id", fmt.Sprintf("%s-%016x", svc, uint64(seq%len(services))*0x9e3779b97f4a7c15))
	res.PutStr("service.name", svc)
	res.PutStr("service.namespace", "shop")
	res.PutStr("service.version", "1.8.0")
	res.PutStr("telemetry.sdk.language", "go")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	res.PutStr("telemetry.sdk.version", "1.47.0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("github.com/otelcol-agentic/otelcol-agentic/sampleapp")
	now := pcommon.NewTimestampFromTime(time.Now())
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(now)
		lr.SetObservedTimestamp(now)
		k := seq*n + i
		lr.SetTraceID(pcommon.TraceID([16]byte{byte(k), byte(k >> 8), byte(k >> 16), 5, byte(seq), 9, 9, 9}))
		lr.SetSpanID(pcommon.SpanID([8]byte{byte(k), byte(k >> 8), byte(k >> 16), 6}))
		attrs := lr.Attributes()
		cart := fmt.Sprintf("cart-%016x", uint64(k)*0x9e3779b97f4a7c15)
		if i%100 < errorPct {
			typ := fmt.Sprintf("Operation%dError", k%30)
			msg := fmt.Sprintf("timeout after %dms calling host-%d:%d for %s", 100+k%900, k%17, 8000+k%100, cart)
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.Body().SetStr(typ + ": " + msg + " during add_item")
			attrs.PutStr("exception.message", msg)
			attrs.PutStr("exception.type", typ)
			attrs.PutStr("http.request.method", "POST")
			attrs.PutStr("http.response.status_code", "500")
			attrs.PutStr("http.route", routes[k%len(routes)])
			attrs.PutStr("operation", "add_item")
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			sku := fmt.Sprintf("SKU-%d", 1000+k%1000)
			lr.Body().SetStr(fmt.Sprintf("added %d x %s to cart %s", 1+k%3, sku, cart))
			attrs.PutStr("cart_id", cart)
			attrs.PutStr("quantity", strconv.Itoa(1+k%3))
			attrs.PutStr("sku", sku)
		}
	}
	return ld
}

// BenchmarkCollectorIngest measures OTLP-in to rows-in-ClickHouse throughput
// of a log stream through the built collector, with the vector pipelines and
// without them (the baseline, same run), and the collector's resident memory
// at idle and at the end of the load. The stream is error-heavy (60 % errors,
// every one of which the vector pipelines template and store again), and
// for the shape of the cost also 20 % and 5 %; its records are shaped like
// the sample shop's (shop) or bare (bare, the worst case: see mixedLogs).
//
// -count repeats each sub-benchmark back to back (all raw runs, then all
// vector runs), so drift on a shared machine lands on one side; to compare,
// loop over -count 1 runs, which interleave the two, and take medians.
func BenchmarkCollectorIngest(b *testing.B) {
	const perBatch = 2000
	// Data dirs go when the benchmark ends, not between its runs: deleting
	// thousands of part files slows the next run's file creation on ext4.
	root := b.TempDir()
	run := 0
	for _, stream := range []struct {
		name string
		gen  func(seq, n, errorPct int) plog.Logs
	}{{"shop", shopLogs}, {"bare", mixedLogs}} {
		b.Run(stream.name, func(b *testing.B) {
			for _, errorPct := range []int{60, 20, 5} {
				b.Run(fmt.Sprintf("errors_%dpct", errorPct), func(b *testing.B) {
					for _, tc := range []struct {
						name   string
						config func(testing.TB) string
						vector bool
					}{
						{"raw_only", func(tb testing.TB) string { return configWithout(tb, "logs/vector", "traces/vector") }, false},
						{"with_vector", func(tb testing.TB) string { return filepath.Join(RepoRoot(tb), "otelcol-config.yaml") }, true},
						// The default configuration before the spool (batch
						// processors acknowledging from memory, a persistent
						// queue per exporter), for the rate's price of
						// acknowledging only what is on disk.
						{"before_spool", func(tb testing.TB) string {
							return filepath.Join(RepoRoot(tb), "tests", "e2e", "testdata", "config-before-spool.yaml")
						}, true},
					} {
						b.Run(tc.name, func(b *testing.B) {
							run++
							col := StartCollectorWithConfig(b, tc.config(b), filepath.Join(root, strconv.Itoa(run)))
							benchIngest(b, col, stream.gen, perBatch, errorPct, tc.vector)
						})
					}
				})
			}
		})
	}
}

func benchIngest(b *testing.B, col *Collector, gen func(seq, n, errorPct int) plog.Logs, perBatch, errorPct int, vector bool) {
	time.Sleep(2 * time.Second)
	idle, _ := rssKiB(col.Pid())
	batches := make([]plog.Logs, b.N)
	errors := 0
	for i := range batches {
		batches[i] = gen(i, perBatch, errorPct)
		errors += countErrors(batches[i])
	}
	cpu0 := cpuTime(col.Pid())
	b.ResetTimer()
	start := time.Now()
	progress := watchStored(col, b.N*perBatch, errors, vector)
	for i := range batches {
		PostLogs(b, col.OTLPHTTP, batches[i])
	}
	want := strconv.Itoa(b.N * perBatch)
	col.Eventually(b, "SELECT count() FROM otel_logs", func(s string) bool { return s == want })
	if vector {
		wantErr := strconv.Itoa(errors)
		col.Eventually(b, "SELECT count() FROM logs_with_embeddings", func(s string) bool { return s == wantErr })
	}
	elapsed := time.Since(start)
	b.StopTimer()
	rss, peak := rssKiB(col.Pid())
	// From the first post until every row is stored: includes the
	// pipelines' flush timeouts at the end (the spool's batch.flush_timeout,
	// 1 s; before the spool, the batcher's 1 s and for the vector rows the
	// exporter queue's 2 s), which on a short run weigh on the rate as
	// much as the work does.
	b.ReportMetric(float64(b.N*perBatch)/elapsed.Seconds(), "logs/s")
	// The sustained rate: the middle half of the logs, from the moment a
	// quarter of the rows of every table written is stored to the moment
	// three quarters are, free of start-up and of the final flushes.
	if t25, t75, ok := progress(); ok {
		b.ReportMetric(float64(b.N*perBatch)/2/(t75-t25).Seconds(), "steady_logs/s")
	}
	// The collector's CPU time per log, background merges included so
	// far: steadier than the rate on a shared machine.
	b.ReportMetric(float64((cpuTime(col.Pid())-cpu0).Microseconds())/float64(b.N*perBatch), "cpu_µs/log")
	// And once the merges of what it stored are done: a run that ends
	// before them (parts pile up while inserts take the CPU) leaves
	// that work to whatever comes next, so the rate alone flatters it.
	settleMerges(b, col)
	b.ReportMetric(float64((cpuTime(col.Pid())-cpu0).Microseconds())/float64(b.N*perBatch), "settled_cpu_µs/log")
	b.ReportMetric(float64(idle)/1024, "idle_rss_MiB")
	b.ReportMetric(float64(rss)/1024, "rss_MiB")
	b.ReportMetric(float64(peak)/1024, "peak_rss_MiB")
	col.Stop(b)
}

// watchStored polls the stored row counts every 100 ms until all rows are
// stored, and returns a function that waits for that and gives the times at
// which the least complete table reached a quarter and three quarters of its
// rows.
func watchStored(col *Collector, logs, errors int, vector bool) func() (t25, t75 time.Duration, ok bool) {
	start := time.Now()
	done := make(chan struct{})
	var t25, t75 time.Duration
	go func() {
		defer close(done)
		sql := "SELECT (SELECT count() FROM otel_logs), (SELECT count() FROM logs_with_embeddings)"
		for deadline := start.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			out, err := col.Query(context.Background(), sql)
			if err != nil {
				continue
			}
			f := strings.Fields(out)
			if len(f) != 2 {
				continue
			}
			n, _ := strconv.Atoi(f[0])
			frac := float64(n) / float64(logs)
			if vector {
				e, _ := strconv.Atoi(f[1])
				frac = min(frac, float64(e)/float64(errors))
			}
			at := time.Since(start)
			if frac >= 0.25 && t25 == 0 {
				t25 = at
			}
			if frac >= 0.75 && t75 == 0 {
				t75 = at
			}
			if frac >= 1 {
				return
			}
		}
	}()
	return func() (time.Duration, time.Duration, bool) {
		<-done
		return t25, t75, t25 > 0 && t75 > t25
	}
}

// countErrors counts a batch's ERROR records.
func countErrors(ld plog.Logs) int {
	n := 0
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range recs.Len() {
		if recs.At(i).SeverityNumber() == plog.SeverityNumberError {
			n++
		}
	}
	return n
}
