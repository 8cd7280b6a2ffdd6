package clickhousevectorexporter

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
)

// NewFactory creates the clickhouse_vector exporter's factory.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		exporter.WithLogs(createLogs, metadata.LogsStability),
		exporter.WithTraces(createTraces, metadata.TracesStability))
}

func options(c *Config, w *writer, queue exporterhelper.Option) []exporterhelper.Option {
	return []exporterhelper.Option{
		exporterhelper.WithStart(w.start),
		exporterhelper.WithShutdown(w.shutdown),
		exporterhelper.WithTimeout(c.Timeout),
		queue,
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	}
}

// createLogs builds the logs exporter on its own request type: the queue
// holds error occurrences in logsEncoding, not OTLP (see logsRequest).
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	w := newWriter(c, set.Logger)
	w.logs = true
	queue := xexporterhelper.WithQueueBatch(c.QueueSettings, xexporterhelper.QueueBatchSettings{Encoding: logsEncoding{}})
	return xexporterhelper.NewLogsRequest(ctx, set, w.logsRequestFrom, w.pushLogsRequest, options(c, w, queue)...)
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	w := newWriter(c, set.Logger)
	return exporterhelper.NewTraces(ctx, set, cfg, w.pushTraces, options(c, w, exporterhelper.WithQueue(c.QueueSettings))...)
}
