package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

var errorTemplates = []func(i int) string{
	func(i int) string {
		return fmt.Sprintf("InventoryDBError: timed out acquiring connection from pool after %dms (in_use=10 max=10 waiting=%d) during reserve_stock sku=SKU-%d", 2000+i, i%9, 1000+i)
	},
	func(i int) string {
		return fmt.Sprintf("dial tcp 10.0.%d.%d:5432: connect: connection refused", i%250, i%200)
	},
	func(i int) string {
		return fmt.Sprintf("PaymentGatewayError: gateway returned 502 Bad Gateway for charge of order o-%d", 7000+i)
	},
	func(i int) string {
		return fmt.Sprintf("CartConflictError: concurrent update of cart c-%04d lost (expected version %d, found %d)", i, i, i+1)
	},
}

func errorBatch(start, n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "inventory")
	sl := rl.ScopeLogs().AppendEmpty()
	now := time.Now()
	for i := start; i < start+n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
		lr.SetTraceID(pcommon.TraceID([16]byte{9, byte(i), byte(i >> 8)}))
		lr.Body().SetStr(errorTemplates[i%len(errorTemplates)](i))
		if i%5 == 0 { // INFO noise stays out of the vector tables
			info := sl.LogRecords().AppendEmpty()
			info.SetSeverityNumber(plog.SeverityNumberInfo)
			info.Body().SetStr(fmt.Sprintf("reserved stock for order o-%d", i))
		}
	}
	return ld
}

func vectorLiteral(v []float32) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprintf("%g", f)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// Error logs of a few templates go in over OTLP; the similar-error query for
// one of them returns ten hits all of its template.
func TestCollectorFindsSimilarErrors(t *testing.T) {
	col := StartCollector(t, t.TempDir())
	for b := range 4 {
		PostLogs(t, col.OTLPHTTP, errorBatch(b*100, 100))
	}
	col.Eventually(t, "SELECT count() FROM logs_with_embeddings", func(s string) bool { return s == "400" })
	raw := col.Eventually(t, "SELECT count() FROM otel_logs", func(s string) bool { return s == "480" })
	assert.Equal(t, "480", raw, "the raw pipeline keeps everything")
	templates, err := col.Query(t.Context(), "SELECT count() FROM log_templates FINAL")
	require.NoError(t, err)
	assert.Equal(t, "4", templates)

	q := logtemplate.Normalize("dial tcp 10.9.8.7:5432: connect: connection refused")
	sql, err := schema.Query("similar_error_occurrences")
	require.NoError(t, err)
	vec := embed.NewHash(384).EmbedOne(q.Template)
	sql = strings.NewReplacer(
		"{embedding:Array(Float32)}", vectorLiteral(vec),
		"{templates:UInt32}", "3", "{k:UInt32}", "10", "{since:DateTime64(9)}", "'2000-01-01 00:00:00'",
	).Replace(sql)
	hits, err := col.Query(t.Context(), "SELECT template_hash FROM ("+sql+")")
	require.NoError(t, err)
	lines := strings.Split(hits, "\n")
	require.Len(t, lines, 10)
	for _, l := range lines {
		assert.Equal(t, fmt.Sprint(q.Hash), l)
	}
	col.Stop(t)
}

func checkoutTrace(id int, slow bool, retries int) ptrace.Traces {
	td := ptrace.NewTraces()
	tid := pcommon.TraceID([16]byte{7, byte(id), byte(id >> 8)})
	start := time.Now()
	add := func(svc, name string, span, parent byte, offMs, durMs float64, isErr bool) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID([8]byte{span, byte(id)}))
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID([8]byte{parent, byte(id)}))
		}
		s.SetName(name)
		s.SetKind(ptrace.SpanKindServer)
		b := start.Add(time.Duration(offMs * float64(time.Millisecond)))
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(b))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(b.Add(time.Duration(durMs * float64(time.Millisecond)))))
		if isErr {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	inv := 8.0 + float64(id%5)
	if slow {
		inv *= 10
	}
	extra := float64(retries) * 6
	add("frontend", "POST /checkout", 1, 0, 0, 20+inv+extra, false)
	add("checkout", "POST /checkout", 2, 1, 1, 18+inv+extra, false)
	for r := range retries {
		add("payment", "POST /charge", byte(10+r), 2, 2+float64(r)*6, 5, true)
	}
	add("payment", "POST /charge", 3, 2, 2+extra, 12+inv, false)
	add("inventory", "SELECT stock", 4, 3, 3+extra, inv, false)
	return td
}

// Traces with an extra retry loop or a 10x slower span rank at the top of
// the anomaly query among ordinary checkouts.
func TestCollectorRanksAbnormalTraces(t *testing.T) {
	col := StartCollector(t, t.TempDir())
	for i := range 60 {
		PostTraces(t, col.OTLPHTTP, checkoutTrace(i, false, 0))
	}
	// Let the model learn the normal checkouts before the odd ones come.
	col.Eventually(t, "SELECT count() FROM traces_with_embeddings", func(s string) bool { return s == "60" })
	special := map[string]bool{}
	kind := map[string]string{} // the retry loops, and the first slow checkout
	for i := 60; i < 100; i++ {
		td := checkoutTrace(i, false, 0)
		switch i % 13 {
		case 0:
			td = checkoutTrace(i, true, 0)
		case 6:
			td = checkoutTrace(i, false, 4)
		}
		if i%13 == 0 || i%13 == 6 {
			id := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID().String()
			special[id] = true
			switch {
			case i%13 == 6:
				kind[id] = "retry_storm"
			case i == 65:
				kind[id] = "latency"
			}
		}
		PostTraces(t, col.OTLPHTTP, td)
	}
	col.Eventually(t, "SELECT count() FROM traces_with_embeddings", func(s string) bool { return s == "100" })

	sql, err := schema.Query("anomaly_detection")
	require.NoError(t, err)
	sql = strings.NewReplacer("{since:DateTime64(9)}", "'2000-01-01 00:00:00'", "{baseline_since:DateTime64(9)}", "'2000-01-01 00:00:00'",
		"{until:DateTime64(9)}", "'2100-01-01 00:00:00'", "{service:String}", "''", "{only_anomalous:UInt8}", "0",
		"{k:UInt64}", fmt.Sprint(len(special))).Replace(sql)
	top, err := col.Query(t.Context(), "SELECT TraceId, anomaly_type, is_anomaly FROM ("+sql+")")
	require.NoError(t, err)
	lines := strings.Split(top, "\n")
	require.Len(t, lines, len(special))
	flaggedTop := 0
	for _, l := range lines {
		f := strings.Split(l, "\t")
		assert.True(t, special[f[0]], "top trace %s is an ordinary checkout", l)
		if f[2] == "1" {
			flaggedTop++
			assert.Contains(t, []string{"latency", "retry_storm"}, f[1])
		}
		if want := kind[f[0]]; want != "" {
			assert.Equal(t, []string{"1", want}, []string{f[2], f[1]}, "trace %s", f[0])
		}
	}
	// Every retry loop is flagged, and the slow traces until they recur:
	// the model learns from every trace, so a 10x slowdown seen twice in a
	// hundred checkouts is part of the path's recent tail by the third
	// (the eval replay flags 4x more ordinary traffic when it is not).
	flagged, err := col.Query(t.Context(), "SELECT count() FROM traces_with_embeddings WHERE is_anomaly = 1")
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprint(flaggedTop), flagged, "no ordinary checkout is flagged")
	col.Stop(t)
}
