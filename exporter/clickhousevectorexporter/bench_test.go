package clickhousevectorexporter

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
)

// BenchmarkExportErrorLogs measures the vector path of error logs in
// process — embedding processor, then this exporter writing over ClickHouse's
// HTTP interface to the embedded engine — in error logs/s, for batches of
// 2,000 errors of 30 recurring templates.
func BenchmarkExportErrorLogs(b *testing.B) {
	ctx := context.Background()
	cfg := createDefaultConfig()
	cfg.Endpoint = chdbtest.HTTP(b).URL
	cfg.Database = "bench_export"
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.Start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(ctx) }()
	pf := embeddingprocessor.NewFactory()
	sink := new(consumertest.LogsSink)
	proc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), sink)
	if err != nil {
		b.Fatal(err)
	}
	const perBatch = 2000
	batches := make([]plog.Logs, b.N)
	for i := range batches {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "inventory")
		sl := rl.ScopeLogs().AppendEmpty()
		now := pcommon.NewTimestampFromTime(time.Now())
		for j := range perBatch {
			k := i*perBatch + j
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(now)
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetTraceID(pcommon.TraceID([16]byte{byte(k), byte(k >> 8), byte(k >> 16), 3}))
			lr.Body().SetStr(fmt.Sprintf("Operation%d failed: timeout after %dms calling host-%d:%d (request %x)", k%30, 100+k%900, k%17, 8000+k%100, k*7919))
		}
		batches[i] = ld
	}
	b.ResetTimer()
	for i := range b.N {
		if err := proc.ConsumeLogs(ctx, batches[i]); err != nil {
			b.Fatal(err)
		}
		out := sink.AllLogs()[len(sink.AllLogs())-1]
		if err := exp.ConsumeLogs(ctx, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "errors/s")
}
