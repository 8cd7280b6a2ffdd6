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

// withAttributes gives every record of ld the six attributes a shop error
// carries.
func withAttributes(ld plog.Logs) plog.Logs {
	recs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := range recs.Len() {
		a := recs.At(i).Attributes()
		a.PutStr("exception.type", "UpstreamException")
		a.PutStr("exception.message", fmt.Sprintf("upstream host-%d.internal returned 503", i%30))
		a.PutStr("http.request.method", "POST")
		a.PutStr("http.response.status_code", "500")
		a.PutStr("http.route", "/carts/{id}/items")
		a.PutStr("operation", "add_item")
	}
	return ld
}

// BenchmarkProcessLogs measures the logs path (select, template, embed with
// the hash provider, attach) in logs/s: "warm" repeats 50 templates the
// cache already holds; "cold" makes every template new, so every record is
// embedded. The attributes_* cases are warm, with six attributes on every
// record, passed on (kept) or not (dropped, keep_attributes: false).
func BenchmarkProcessLogs(b *testing.B) {
	for _, tc := range []struct {
		name      string
		templates int
		fresh     bool
		attrs     bool
		keep      bool
	}{
		{name: "warm", templates: 50, keep: true},
		{name: "cold", templates: 1 << 30, fresh: true, keep: true},
		{name: "attributes_kept", templates: 50, attrs: true, keep: true},
		{name: "attributes_dropped", templates: 50, attrs: true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := createDefaultConfig()
			cfg.Logs.KeepAttributes = tc.keep
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
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
				if tc.attrs {
					batches[i] = withAttributes(batches[i])
				}
			}
			b.ReportAllocs()
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
