package spoolconnector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector/internal/metadata"
)

// NewFactory creates the spool connector's factory.
func NewFactory() connector.Factory {
	return connector.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		connector.WithLogsToLogs(createLogs, metadata.LogsToLogsStability),
		connector.WithTracesToTraces(createTraces, metadata.TracesToTracesStability),
		connector.WithMetricsToMetrics(createMetrics, metadata.MetricsToMetricsStability))
}

// pipelineIDs lists the pipelines a connector's router feeds, in a fixed
// order (delivery order, and the tokens, must not change between runs).
func pipelineIDs(ids []pipeline.ID) []pipeline.ID {
	ids = slices.Clone(ids)
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	return ids
}

func createLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Logs, error) {
	c := cfg.(*Config)
	if len(c.GroupByTrace.Pipelines) > 0 {
		return nil, errors.New("group_by_trace applies to traces pipelines only")
	}
	router, ok := next.(connector.LogsRouterAndConsumer)
	if !ok {
		return nil, errors.New("the spool needs the collector's pipeline router")
	}
	s := newSpool(set, c, logsCodec)
	for _, id := range pipelineIDs(router.PipelineIDs()) {
		cons, err := router.Consumer(id)
		if err != nil {
			return nil, err
		}
		consume, mutates := logsTarget(cons)
		s.batchTargets = append(s.batchTargets, &target[plog.Logs]{id: id.String(), consume: consume, mutates: mutates})
	}
	return &logsSpool{s}, nil
}

func createTraces(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Traces) (connector.Traces, error) {
	c := cfg.(*Config)
	router, ok := next.(connector.TracesRouterAndConsumer)
	if !ok {
		return nil, errors.New("the spool needs the collector's pipeline router")
	}
	s := newSpool(set, c, tracesCodec)
	all := pipelineIDs(router.PipelineIDs())
	for _, id := range c.GroupByTrace.Pipelines {
		if !slices.Contains(all, id) {
			return nil, fmt.Errorf("group_by_trace.pipelines names %s, which does not receive from %s", id, set.ID)
		}
	}
	for _, id := range all {
		cons, err := router.Consumer(id)
		if err != nil {
			return nil, err
		}
		consume, mutates := tracesTarget(cons)
		t := &target[ptrace.Traces]{id: id.String(), consume: consume, mutates: mutates}
		if slices.Contains(c.GroupByTrace.Pipelines, id) {
			s.groupedTargets = append(s.groupedTargets, t)
		} else {
			s.batchTargets = append(s.batchTargets, t)
		}
	}
	s.group = func(s *spool[ptrace.Traces]) runner { return newTraceGrouper(s) }
	return &tracesSpool{s}, nil
}

func createMetrics(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Metrics) (connector.Metrics, error) {
	c := cfg.(*Config)
	if len(c.GroupByTrace.Pipelines) > 0 {
		return nil, errors.New("group_by_trace applies to traces pipelines only")
	}
	router, ok := next.(connector.MetricsRouterAndConsumer)
	if !ok {
		return nil, errors.New("the spool needs the collector's pipeline router")
	}
	s := newSpool(set, c, metricsCodec)
	for _, id := range pipelineIDs(router.PipelineIDs()) {
		cons, err := router.Consumer(id)
		if err != nil {
			return nil, err
		}
		consume, mutates := metricsTarget(cons)
		s.batchTargets = append(s.batchTargets, &target[pmetric.Metrics]{id: id.String(), consume: consume, mutates: mutates})
	}
	return &metricsSpool{s}, nil
}

// The spool only reads the data it is given (it encodes it).
var readOnly = consumer.Capabilities{MutatesData: false}

type logsSpool struct{ *spool[plog.Logs] }

func (l *logsSpool) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return l.consume(ctx, stampUntimed(ld, time.Now()))
}
func (*logsSpool) Capabilities() consumer.Capabilities { return readOnly }

// stampUntimed gives a record that carries neither a timestamp nor an
// observed timestamp the time the spool received it as its observed time
// (what the OTel data model says a collector may set), in a copy: stored
// as 1970 it would be dropped by the tables' retention as soon as it
// arrived. Data with every record timed is passed on as it is.
func stampUntimed(ld plog.Logs, now time.Time) plog.Logs {
	untimed := func(lr plog.LogRecord) bool { return lr.Timestamp() == 0 && lr.ObservedTimestamp() == 0 }
	found := false
	for i := 0; i < ld.ResourceLogs().Len() && !found; i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len() && !found; j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len() && !found; k++ {
				found = untimed(lrs.At(k))
			}
		}
	}
	if !found {
		return ld
	}
	out := plog.NewLogs()
	ld.CopyTo(out)
	ts := pcommon.NewTimestampFromTime(now)
	for i := 0; i < out.ResourceLogs().Len(); i++ {
		sls := out.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				if lr := lrs.At(k); untimed(lr) {
					lr.SetObservedTimestamp(ts)
				}
			}
		}
	}
	return out
}

type tracesSpool struct{ *spool[ptrace.Traces] }

func (t *tracesSpool) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return t.consume(ctx, td)
}
func (*tracesSpool) Capabilities() consumer.Capabilities { return readOnly }

type metricsSpool struct{ *spool[pmetric.Metrics] }

func (m *metricsSpool) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return m.consume(ctx, md)
}
func (*metricsSpool) Capabilities() consumer.Capabilities { return readOnly }
