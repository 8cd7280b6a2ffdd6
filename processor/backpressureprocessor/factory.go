package backpressureprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otelcol-agentic/otelcol-agentic/processor/backpressureprocessor/internal/metadata"
)

// NewFactory creates the backpressure processor's factory.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability))
}

// refusals turns what follows the processor's retryable refusals into
// RESOURCE_EXHAUSTED with a retry delay.
type refusals struct {
	component.StartFunc
	component.ShutdownFunc
	retryAfter *durationpb.Duration
}

// answer maps a refusal. One that carries a gRPC status already (a full
// spool, a request that is not valid) keeps it; a permanent one stays
// permanent; any other is the collector's own overload.
func (r *refusals) answer(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	if consumererror.IsPermanent(err) {
		return err
	}
	st, serr := status.New(codes.ResourceExhausted,
		fmt.Sprintf("the collector is overloaded and refused the data (%v): retry after %s", err, r.retryAfter.AsDuration())).
		WithDetails(&errdetails.RetryInfo{RetryDelay: r.retryAfter})
	if serr != nil {
		return status.Error(codes.ResourceExhausted, err.Error())
	}
	return st.Err()
}

// It passes the data on untouched.
var capabilities = consumer.Capabilities{MutatesData: false}

type logs struct {
	refusals
	next consumer.Logs
}

func (p *logs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.answer(p.next.ConsumeLogs(ctx, ld))
}
func (*logs) Capabilities() consumer.Capabilities { return capabilities }

type traces struct {
	refusals
	next consumer.Traces
}

func (p *traces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.answer(p.next.ConsumeTraces(ctx, td))
}
func (*traces) Capabilities() consumer.Capabilities { return capabilities }

type metrics struct {
	refusals
	next consumer.Metrics
}

func (p *metrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return p.answer(p.next.ConsumeMetrics(ctx, md))
}
func (*metrics) Capabilities() consumer.Capabilities { return capabilities }

func newRefusals(cfg component.Config) refusals {
	return refusals{retryAfter: durationpb.New(cfg.(*Config).RetryAfter)}
}

func createLogs(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return &logs{refusals: newRefusals(cfg), next: next}, nil
}

func createTraces(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	return &traces{refusals: newRefusals(cfg), next: next}, nil
}

func createMetrics(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	return &metrics{refusals: newRefusals(cfg), next: next}, nil
}
