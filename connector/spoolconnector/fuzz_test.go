package spoolconnector

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// roundTrip is the spool's part of receive → spool → read back: a request
// the receivers decoded is either refused by the validator — and then its
// encoding really does not decode — or appended to a real spool and read
// back from it as a request that encodes to the same bytes.
func roundTrip[T any](t *testing.T, c codec[T], l *spoollog.Log, v T) {
	verr := c.validate(v)
	b, err := c.marshal(v)
	require.NoError(t, err)
	if verr != nil {
		_, derr := c.unmarshal(b)
		require.Error(t, derr, "refused (%v) but it would have decoded", verr)
		return
	}
	rec, err := l.Append(spoollog.KindData, b)
	require.NoError(t, err)
	r := l.NewReader(rec.Seq)
	defer r.Close()
	got, err := r.Next()
	require.NoError(t, err)
	back, err := c.unmarshal(got.Data)
	require.NoError(t, err, "accepted, so it must read back")
	again, err := c.marshal(back)
	require.NoError(t, err)
	require.Equal(t, b, again, "read back unchanged")
	require.NoError(t, l.Trim(l.Next()))
}

func fuzzLog(f *testing.F) *spoollog.Log {
	l, err := spoollog.Open(spoollog.Options{Dir: filepath.Join(f.TempDir(), "spool"), MaxBytes: 1 << 30, SegmentBytes: 1 << 20})
	require.NoError(f, err)
	f.Cleanup(func() { _ = l.Close() })
	return l
}

// nestedJSONValue is an OTLP/JSON AnyValue of depth maps.
func nestedJSONValue(depth int) string {
	v := `{"stringValue":"x"}`
	for range depth {
		v = `{"kvlistValue":{"values":[{"key":"k","value":` + v + `}]}}`
	}
	return v
}

func FuzzLogsThroughTheSpool(f *testing.F) {
	for _, s := range []string{
		`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","severityNumber":17,"body":{"stringValue":"boom"},"attributes":[{"key":"a","value":{"arrayValue":{"values":[{"intValue":"1"},{"doubleValue":2.5}]}}}]}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":` + nestedJSONValue(32) + `}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"attributes":[{"key":"deep","value":` + nestedJSONValue(33) + `}]}]}]}]}`,
		`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"bytesValue":"AAEC"},"traceId":"0102030405060708090a0b0c0d0e0f10"}]}]}]}`,
	} {
		f.Add([]byte(s), true)
	}
	pb, err := plogotlp.NewExportRequestFromLogs(plog.NewLogs()).MarshalProto()
	require.NoError(f, err)
	f.Add(pb, false)
	l := fuzzLog(f)
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		req := plogotlp.NewExportRequest()
		var err error
		if json {
			err = req.UnmarshalJSON(data)
		} else {
			err = req.UnmarshalProto(data)
		}
		if err != nil || req.Logs().LogRecordCount() == 0 {
			return
		}
		roundTrip(t, logsCodec, l, req.Logs())
	})
}

func FuzzTracesThroughTheSpool(f *testing.F) {
	for _, s := range []string{
		`{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"shop"}}]},"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"GET /","kind":2,"startTimeUnixNano":"1","endTimeUnixNano":"2","events":[{"name":"exception","attributes":[{"key":"exception.type","value":{"stringValue":"E"}}]}],"links":[{"traceId":"0102030405060708090a0b0c0d0e0f11","spanId":"0102030405060709"}]}]}]}]}`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"deep","attributes":[{"key":"d","value":` + nestedJSONValue(40) + `}]}]}]}]}`,
	} {
		f.Add([]byte(s), true)
	}
	l := fuzzLog(f)
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		req := ptraceotlp.NewExportRequest()
		var err error
		if json {
			err = req.UnmarshalJSON(data)
		} else {
			err = req.UnmarshalProto(data)
		}
		if err != nil || req.Traces().SpanCount() == 0 {
			return
		}
		roundTrip(t, tracesCodec, l, req.Traces())
	})
}

func FuzzMetricsThroughTheSpool(f *testing.F) {
	for _, s := range []string{
		`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"requests","sum":{"dataPoints":[{"asInt":"7","attributes":[{"key":"route","value":{"stringValue":"/"}}]}],"aggregationTemporality":2,"isMonotonic":true}}]}]}]}`,
		`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"latency","histogram":{"dataPoints":[{"count":"3","bucketCounts":["1","2"],"explicitBounds":[0.5],"exemplars":[{"filteredAttributes":[{"key":"d","value":` + nestedJSONValue(36) + `}]}]}]}}]}]}]}`,
	} {
		f.Add([]byte(s), true)
	}
	l := fuzzLog(f)
	f.Fuzz(func(t *testing.T, data []byte, json bool) {
		req := pmetricotlp.NewExportRequest()
		var err error
		if json {
			err = req.UnmarshalJSON(data)
		} else {
			err = req.UnmarshalProto(data)
		}
		if err != nil || req.Metrics().DataPointCount() == 0 {
			return
		}
		roundTrip(t, metricsCodec, l, req.Metrics())
	})
}
