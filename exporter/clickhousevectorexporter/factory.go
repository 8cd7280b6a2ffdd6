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
		exporterhelper.WithTimeout(c.TimeoutSettings),
		queue,
		exporterhelper.WithRetry(c.BackOffConfig),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	}
}

// createLogs builds the logs exporter on its own request type: the queue
// holds error occurrences in logsEncoding, not OTLP (see logsRequest).
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	c.warnDeprecated(set.Logger)
	w := newWriter(c, set.Logger)
	w.logs = true
	queue := xexporterhelper.WithQueueBatch(c.QueueSettings, xexporterhelper.QueueBatchSettings{Encoding: logsEncoding{}})
	exp, err := xexporterhelper.NewLogsRequest(ctx, set, w.logsRequestFrom, w.pushLogsRequest, options(c, w, queue)...)
	if err != nil {
		return nil, err
	}
	return readOnlyLogs{exp}, nil
}

// readOnlyLogs declares that the exporter leaves the batches it is given
// alone. exporterhelper declares every exporter whose queue merges batches
// a mutator, as merging pdata requests is; this exporter's requests are its
// own copies (logsRequestFrom), so the collector need not clone each batch
// for it when other pipelines or exporters share the batch.
type readOnlyLogs struct{ exporter.Logs }

func (readOnlyLogs) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	c.warnDeprecated(set.Logger)
	w := newWriter(c, set.Logger)
	return exporterhelper.NewTraces(ctx, set, cfg, w.pushTraces, options(c, w, exporterhelper.WithQueue(c.QueueSettings))...)
}
