package spoolconnector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// nest fills v with n levels of maps and lists, alternating as kinds says
// ('m' map, 's' list, cycling), ending in a string.
func nest(v pcommon.Value, n int, kinds string) {
	for i := range n {
		switch kinds[i%len(kinds)] {
		case 'm':
			v = v.SetEmptyMap().PutEmpty("k")
		case 's':
			v = v.SetEmptySlice().AppendEmpty()
		}
	}
	v.SetStr("leaf")
}

// The validator's verdict is pdata's own decoder's: a request passes if and
// only if its protobuf encoding decodes, for every place a nested value can
// sit and every depth around the limit.
func TestValidatorAgreesWithTheDecoder(t *testing.T) {
	t.Parallel()
	places := map[string]func(n int, kinds string) (validate func() error, roundTrip func() error){
		"log attribute": func(n int, kinds string) (func() error, func() error) {
			ld := plog.NewLogs()
			lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			nest(lr.Attributes().PutEmpty("a"), n, kinds)
			return func() error { return validateLogs(ld) }, logsRoundTrip(ld)
		},
		"log body": func(n int, kinds string) (func() error, func() error) {
			ld := plog.NewLogs()
			lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			nest(lr.Body(), n, kinds)
			return func() error { return validateLogs(ld) }, logsRoundTrip(ld)
		},
		"resource attribute": func(n int, kinds string) (func() error, func() error) {
			ld := plog.NewLogs()
			rl := ld.ResourceLogs().AppendEmpty()
			nest(rl.Resource().Attributes().PutEmpty("r"), n, kinds)
			rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			return func() error { return validateLogs(ld) }, logsRoundTrip(ld)
		},
		"span event attribute": func(n int, kinds string) (func() error, func() error) {
			td := ptrace.NewTraces()
			sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			nest(sp.Events().AppendEmpty().Attributes().PutEmpty("e"), n, kinds)
			return func() error { return validateTraces(td) }, func() error {
				b, err := tracesCodec.marshal(td)
				if err != nil {
					return err
				}
				_, err = tracesCodec.unmarshal(b)
				return err
			}
		},
		"data point attribute": func(n int, kinds string) (func() error, func() error) {
			md := pmetric.NewMetrics()
			m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			nest(m.SetEmptyGauge().DataPoints().AppendEmpty().Attributes().PutEmpty("d"), n, kinds)
			return func() error { return validateMetrics(md) }, func() error {
				b, err := metricsCodec.marshal(md)
				if err != nil {
					return err
				}
				_, err = metricsCodec.unmarshal(b)
				return err
			}
		},
	}
	for name, build := range places {
		for _, kinds := range []string{"m", "s", "ms", "ssm"} {
			accepted := 0
			for n := 0; n <= 60; n++ {
				validate, roundTrip := build(n, kinds)
				verr, rerr := validate(), roundTrip()
				require.Equal(t, rerr == nil, verr == nil, "%s nested %d deep (%s): validator says %v, decoder says %v", name, n, kinds, verr, rerr)
				if verr == nil {
					accepted = n
				} else {
					assert.Contains(t, verr.Error(), "flatten it")
				}
			}
			assert.Less(t, accepted, 60, "%s (%s): the limit is within the range tried", name, kinds)
		}
	}
}

func logsRoundTrip(ld plog.Logs) func() error {
	return func() error {
		b, err := logsCodec.marshal(ld)
		if err != nil {
			return err
		}
		_, err = logsCodec.unmarshal(b)
		return err
	}
}

func TestNestingErrorSaysWhereAndHow(t *testing.T) {
	t.Parallel()
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.LogRecords().AppendEmpty().Body().SetStr("fine")
	nest(sl.LogRecords().AppendEmpty().Attributes().PutEmpty("payload"), 40, "m")
	err := validateLogs(ld)
	require.Error(t, err)
	assert.Equal(t, `log record 1 of scope 0 of resource 0: attribute "payload" nests 40 maps and lists within each other, deeper than the 100 levels of protobuf nesting the collector can store and read back (about 32 levels of maps, 49 of lists): flatten it, e.g. send the inner part as a JSON string`, err.Error())
}
