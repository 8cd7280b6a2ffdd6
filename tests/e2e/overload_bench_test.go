package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkOverload sends logs flat out from 8 senders for
// OTELCOL_AGENTIC_OVERLOAD_SECONDS (default 20) to the default
// configuration and to the one from before the spool, in the same run, and
// reports what each acknowledged and stored per second, how it refused
// (429 with Retry-After, or 503), the collector's peak resident memory, and
// the disk its queue or spool takes once everything is stored.
func BenchmarkOverload(b *testing.B) {
	seconds := 20
	if v := os.Getenv("OTELCOL_AGENTIC_OVERLOAD_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		seconds = n
	}
	for _, tc := range []struct {
		name, config, queue string
	}{
		{"spool", "otelcol-config.yaml", "spool"},
		{"before_spool", filepath.Join("tests", "e2e", "testdata", "config-before-spool.yaml"), "queue"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for range b.N {
				overload(b, filepath.Join(RepoRoot(b), tc.config), tc.queue, time.Duration(seconds)*time.Second)
			}
		})
	}
}

func overload(b *testing.B, config, queueDir string, d time.Duration, sets ...string) {
	dir := b.TempDir()
	col := StartCollectorWithConfig(b, config, dir, sets...)
	l := newLedger()
	client := newClient()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ld, ids, _ := l.logBatch(2000)
				body, err := marshalLogs(ld)
				if err != nil {
					b.Error(err)
					return
				}
				l.mu.Lock()
				refused := l.answers["429"]
				l.mu.Unlock()
				ok := l.post(client, "http://"+col.OTLPHTTP+"/v1/logs", body)
				l.mu.Lock()
				for _, id := range ids {
					l.logs[id] = ok
				}
				backOff := l.answers["429"] > refused
				l.mu.Unlock()
				if backOff {
					// As OTel SDKs do: wait what Retry-After says (5 s).
					select {
					case <-stop:
						return
					case <-time.After(5 * time.Second):
					}
				}
			}
		})
	}
	start := time.Now()
	b.ResetTimer()
	time.Sleep(d)
	close(stop)
	wg.Wait()
	sent := time.Since(start)
	storedAtEnd, _ := col.Query(context.Background(), "SELECT count() FROM otel_logs")
	acked := l.acked(l.logs)
	// Then until every acknowledged record is stored.
	want := strconv.Itoa(acked)
	drainStart := time.Now()
	deadline := drainStart.Add(10 * time.Minute)
	stored := ""
	for time.Now().Before(deadline) {
		stored, _ = col.Query(context.Background(), "SELECT count() FROM otel_logs WHERE ServiceName = 'durability'")
		if n, _ := strconv.Atoi(stored); n >= acked {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	drained := time.Since(drainStart)
	b.StopTimer()
	_, peak := rssKiB(col.Pid())
	time.Sleep(5 * time.Second) // the queue deletes what was delivered
	footprint := DirBytes(b, filepath.Join(dir, queueDir))
	n, _ := strconv.Atoi(storedAtEnd)
	b.ReportMetric(float64(acked)/sent.Seconds(), "acked_logs/s")
	b.ReportMetric(float64(n)/sent.Seconds(), "stored_logs/s")
	b.ReportMetric(float64(acked)/(sent+drained).Seconds(), "stored_until_drained_logs/s")
	b.ReportMetric(drained.Seconds(), "drain_s")
	b.ReportMetric(float64(peak)/1024, "peak_rss_MiB")
	b.ReportMetric(float64(footprint)/(1<<20), "queue_after_drain_MiB")
	l.mu.Lock()
	b.ReportMetric(float64(l.answers["429"]), "answers_429")
	b.ReportMetric(float64(l.answers["503"]), "answers_503")
	b.ReportMetric(float64(l.answers["200"]), "answers_200")
	l.mu.Unlock()
	if stored != want {
		b.Logf("stored %s of %d acknowledged logs after %v", stored, acked, drained)
	}
	col.Stop(b)
}
