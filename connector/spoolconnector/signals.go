package spoolconnector

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/xpdata/pref"
)

// codec is what the spool needs to know of a signal. A record's payload is
// the OTLP protobuf of its request (ExportLogsServiceRequest and so on), so
// a record set aside can be sent again as it is.
type codec[T any] struct {
	name      string // logs, traces, metrics
	unit      string // what an item is, for messages
	marshal   func(T) ([]byte, error)
	unmarshal func([]byte) (T, error)
	items     func(T) int
	empty     func() T
	moveInto  func(dst, src T) // src's content is appended to dst and src left empty
	clone     func(T) T
	validate  func(T) error
	// readOnly marks a batch shared by pipelines reading it at once: one
	// that changed it anyway would panic (as the collector's own fan-out
	// marks what it shares), not corrupt another's input.
	readOnly func(T)
	// own marks a batch as owned by the spool's pipelines for good: the
	// collector's pipeline entry then never releases it (pdata reference
	// counting), neither when a pipeline is done with it while others still
	// read it, nor before a retry sends it again.
	own func(T) bool
}

// target is a pipeline the spool delivers to.
type target[T any] struct {
	id      string
	consume func(context.Context, T) error
	mutates bool
	ok      health

	mu       sync.Mutex
	failures int // consecutive failed attempts, for logging
}

var logsCodec = codec[plog.Logs]{
	name:      "logs",
	unit:      "log records",
	marshal:   (&plog.ProtoMarshaler{}).MarshalLogs,
	unmarshal: (&plog.ProtoUnmarshaler{}).UnmarshalLogs,
	items:     plog.Logs.LogRecordCount,
	empty:     plog.NewLogs,
	moveInto:  func(dst, src plog.Logs) { src.ResourceLogs().MoveAndAppendTo(dst.ResourceLogs()) },
	clone: func(ld plog.Logs) plog.Logs {
		c := plog.NewLogs()
		ld.CopyTo(c)
		return c
	},
	validate: validateLogs,
	readOnly: plog.Logs.MarkReadOnly,
	own:      pref.MarkPipelineOwnedLogs,
}

var tracesCodec = codec[ptrace.Traces]{
	name:      "traces",
	unit:      "spans",
	marshal:   (&ptrace.ProtoMarshaler{}).MarshalTraces,
	unmarshal: (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces,
	items:     ptrace.Traces.SpanCount,
	empty:     ptrace.NewTraces,
	moveInto:  func(dst, src ptrace.Traces) { src.ResourceSpans().MoveAndAppendTo(dst.ResourceSpans()) },
	clone: func(td ptrace.Traces) ptrace.Traces {
		c := ptrace.NewTraces()
		td.CopyTo(c)
		return c
	},
	validate: validateTraces,
	readOnly: ptrace.Traces.MarkReadOnly,
	own:      pref.MarkPipelineOwnedTraces,
}

var metricsCodec = codec[pmetric.Metrics]{
	name:      "metrics",
	unit:      "data points",
	marshal:   (&pmetric.ProtoMarshaler{}).MarshalMetrics,
	unmarshal: (&pmetric.ProtoUnmarshaler{}).UnmarshalMetrics,
	items:     pmetric.Metrics.DataPointCount,
	empty:     pmetric.NewMetrics,
	moveInto: func(dst, src pmetric.Metrics) {
		src.ResourceMetrics().MoveAndAppendTo(dst.ResourceMetrics())
	},
	clone: func(md pmetric.Metrics) pmetric.Metrics {
		c := pmetric.NewMetrics()
		md.CopyTo(c)
		return c
	},
	validate: validateMetrics,
	readOnly: pmetric.Metrics.MarkReadOnly,
	own:      pref.MarkPipelineOwnedMetrics,
}

func logsTarget(c consumer.Logs) (func(context.Context, plog.Logs) error, bool) {
	return c.ConsumeLogs, c.Capabilities().MutatesData
}

func tracesTarget(c consumer.Traces) (func(context.Context, ptrace.Traces) error, bool) {
	return c.ConsumeTraces, c.Capabilities().MutatesData
}

func metricsTarget(c consumer.Metrics) (func(context.Context, pmetric.Metrics) error, bool) {
	return c.ConsumeMetrics, c.Capabilities().MutatesData
}
