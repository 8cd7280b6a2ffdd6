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
	// A connector that no remaining pipeline receives from goes too.
	connectors, _ := doc["connectors"].(map[string]any)
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

// mixedLogs is a stream in which errorPct % of the records are errors of
// 30 templates with varying ids and the rest INFO.
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

// BenchmarkCollectorIngest measures OTLP-in to rows-in-ClickHouse throughput
// of a log stream through the built collector, with the vector pipelines and
// without them (the baseline, same run), and the collector's resident memory
// at idle and at the end of the load. The stream is error-heavy (60 % errors,
// every one of which the vector pipelines template and store again), and
// for the shape of the cost also 20 % and 5 %.
func BenchmarkCollectorIngest(b *testing.B) {
	const perBatch = 2000
	// Data dirs go when the benchmark ends, not between its runs: deleting
	// thousands of part files slows the next run's file creation on ext4.
	root := b.TempDir()
	run := 0
	for _, errorPct := range []int{60, 20, 5} {
		b.Run(fmt.Sprintf("errors_%dpct", errorPct), func(b *testing.B) {
			for _, tc := range []struct {
				name   string
				config func(testing.TB) string
				vector bool
			}{
				{"raw_only", func(tb testing.TB) string { return configWithout(tb, "logs/vector", "traces/vector") }, false},
				{"with_vector", func(tb testing.TB) string { return filepath.Join(RepoRoot(tb), "otelcol-config.yaml") }, true},
			} {
				b.Run(tc.name, func(b *testing.B) {
					run++
					benchIngest(b, StartCollectorWithConfig(b, tc.config(b), filepath.Join(root, strconv.Itoa(run))), perBatch, errorPct, tc.vector)
				})
			}
		})
	}
}

func benchIngest(b *testing.B, col *Collector, perBatch, errorPct int, vector bool) {
	time.Sleep(2 * time.Second)
	idle, _ := rssKiB(col.Pid())
	batches := make([]plog.Logs, b.N)
	errors := 0
	for i := range batches {
		batches[i] = mixedLogs(i, perBatch, errorPct)
		errors += batches[i].LogRecordCount() - countInfo(batches[i])
	}
	cpu0 := cpuTime(col.Pid())
	b.ResetTimer()
	start := time.Now()
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
	b.ReportMetric(float64(b.N*perBatch)/elapsed.Seconds(), "logs/s")
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

// countInfo counts a batch's INFO records.
func countInfo(ld plog.Logs) int {
	n := 0
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range recs.Len() {
		if recs.At(i).SeverityNumber() == plog.SeverityNumberInfo {
			n++
		}
	}
	return n
}
