package embeddingprocessor

import (
	"context"
	"fmt"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
)

// benchLogs builds a batch of error logs over `templates` distinct templates.
func benchLogs(n, templates, salt int) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		t := word((i + salt) % templates)
		lr.Body().SetStr(fmt.Sprintf("%sException: operation %s failed for request %x after %dms: upstream host-%d.internal:%d returned 503",
			t, t, (i+1)*2654435761, 100+i%900, i%30, 8000+i%50))
	}
	return ld
}

// BenchmarkProcessLogs measures the logs path (select, template, embed with
// the hash provider, attach) in logs/s: "warm" repeats 50 templates the
// cache already holds; "cold" makes every template new, so every record is
// embedded.
func BenchmarkProcessLogs(b *testing.B) {
	for _, tc := range []struct {
		name      string
		templates int
		fresh     bool
	}{{"warm", 50, false}, {"cold", 1 << 30, true}} {
		b.Run(tc.name, func(b *testing.B) {
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			const batch = 1000
			if !tc.fresh {
				if err := p.ConsumeLogs(context.Background(), benchLogs(batch, tc.templates, 0)); err != nil {
					b.Fatal(err)
				}
			}
			batches := make([]plog.Logs, b.N)
			for i := range batches {
				salt := 0
				if tc.fresh {
					salt = i * batch
				}
				batches[i] = benchLogs(batch, tc.templates, salt)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := p.ConsumeLogs(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "logs/s")
		})
	}
}

// word spells n in letters: templates differ by words, as real ones do,
// not by digits, which the normaliser masks.
func word(n int) string {
	b := []byte{'K'}
	for {
		b = append(b, byte('a'+n%26))
		n /= 26
		if n == 0 {
			return string(b)
		}
	}
}
