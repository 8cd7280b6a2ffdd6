package embeddingprocessor

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
)

// NewFactory creates the embedding processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability))
}

// Logs are copied, not changed in place; traces are summarised into new
// batches. Neither capabilities its input.
var capabilities = processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false})

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newEmbedder(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	p.templates = newTemplates(p.cfg.Logs.Templates, set.Logger)
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs, capabilities,
		processorhelper.WithStart(p.templates.start),
		processorhelper.WithShutdown(func(ctx context.Context) error { return errors.Join(p.templates.shutdown(ctx), p.shutdown(ctx)) }))
}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newEmbedder(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces, capabilities,
		processorhelper.WithShutdown(p.shutdown))
}
