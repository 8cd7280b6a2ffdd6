package replay

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// SessionKeys are the attributes whose string values are session ids,
// re-seeded with the trace ids so that every copy has its own sessions.
var SessionKeys = []string{"session.id", "rum.sessionId", "session_id"}

// Rewriter shifts a copy of the recording in time and gives it its own ids.
// Ids are XORed with a key drawn from the seed: within a copy a trace id
// maps to the same new id wherever it appears (spans, their logs, the
// ground truth), and copies made with different seeds share no id.
type Rewriter struct {
	Shift time.Duration
	key   [16]byte
}

// NewRewriter returns the rewriter of the copy seeded with seed.
func NewRewriter(shift time.Duration, seed uint64) *Rewriter {
	rw := &Rewriter{Shift: shift}
	s := seed
	binary.BigEndian.PutUint64(rw.key[:8], splitmix(&s))
	binary.BigEndian.PutUint64(rw.key[8:], splitmix(&s))
	return rw
}

func splitmix(s *uint64) uint64 {
	*s += 0x9e3779b97f4a7c15
	z := *s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (rw *Rewriter) traceID(id pcommon.TraceID) pcommon.TraceID {
	if id.IsEmpty() {
		return id
	}
	for i := range id {
		id[i] ^= rw.key[i]
	}
	return id
}

func (rw *Rewriter) spanID(id pcommon.SpanID) pcommon.SpanID {
	if id.IsEmpty() {
		return id
	}
	for i := range id {
		id[i] ^= rw.key[i]
	}
	return id
}

// ID re-seeds an id written as text (a hex trace or span id, a UUID): each
// hex digit is XORed with the key's nibble at its position among the hex
// digits, so that a trace id's hex form maps as its bytes do; other
// characters stay.
func (rw *Rewriter) ID(s string) string {
	b := []byte(s)
	n := 0
	for i, c := range b {
		var v byte
		switch {
		case c >= '0' && c <= '9':
			v = c - '0'
		case c >= 'a' && c <= 'f':
			v = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			v = c - 'A' + 10
		default:
			continue
		}
		k := rw.key[(n/2)%16]
		if n%2 == 0 {
			k >>= 4
		}
		b[i] = "0123456789abcdef"[(v^k)&15]
		n++
	}
	return string(b)
}

func (rw *Rewriter) ts(t pcommon.Timestamp) pcommon.Timestamp {
	if t == 0 {
		return 0
	}
	return pcommon.Timestamp(int64(t) + int64(rw.Shift))
}

func (rw *Rewriter) attrs(m pcommon.Map) {
	for _, k := range SessionKeys {
		if v, ok := m.Get(k); ok && v.Type() == pcommon.ValueTypeStr {
			v.SetStr(rw.ID(v.Str()))
		}
	}
}

// OTLP rewrites one recorded request body (protobuf) of the given path.
func (rw *Rewriter) OTLP(path string, body []byte) ([]byte, error) {
	switch path {
	case "/v1/traces":
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return nil, fmt.Errorf("recorded traces request: %w", err)
		}
		rss := req.Traces().ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			rw.attrs(rs.Resource().Attributes())
			for j := 0; j < rs.ScopeSpans().Len(); j++ {
				spans := rs.ScopeSpans().At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					s := spans.At(k)
					s.SetTraceID(rw.traceID(s.TraceID()))
					s.SetSpanID(rw.spanID(s.SpanID()))
					s.SetParentSpanID(rw.spanID(s.ParentSpanID()))
					s.SetStartTimestamp(rw.ts(s.StartTimestamp()))
					s.SetEndTimestamp(rw.ts(s.EndTimestamp()))
					rw.attrs(s.Attributes())
					for e := 0; e < s.Events().Len(); e++ {
						ev := s.Events().At(e)
						ev.SetTimestamp(rw.ts(ev.Timestamp()))
					}
					for l := 0; l < s.Links().Len(); l++ {
						ln := s.Links().At(l)
						ln.SetTraceID(rw.traceID(ln.TraceID()))
						ln.SetSpanID(rw.spanID(ln.SpanID()))
					}
				}
			}
		}
		return req.MarshalProto()
	case "/v1/logs":
		req := plogotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return nil, fmt.Errorf("recorded logs request: %w", err)
		}
		rls := req.Logs().ResourceLogs()
		for i := 0; i < rls.Len(); i++ {
			rl := rls.At(i)
			rw.attrs(rl.Resource().Attributes())
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					lr.SetTraceID(rw.traceID(lr.TraceID()))
					lr.SetSpanID(rw.spanID(lr.SpanID()))
					lr.SetTimestamp(rw.ts(lr.Timestamp()))
					lr.SetObservedTimestamp(rw.ts(lr.ObservedTimestamp()))
					rw.attrs(lr.Attributes())
				}
			}
		}
		return req.MarshalProto()
	case "/v1/metrics":
		req := pmetricotlp.NewExportRequest()
		if err := req.UnmarshalProto(body); err != nil {
			return nil, fmt.Errorf("recorded metrics request: %w", err)
		}
		rms := req.Metrics().ResourceMetrics()
		for i := 0; i < rms.Len(); i++ {
			rm := rms.At(i)
			rw.attrs(rm.Resource().Attributes())
			for j := 0; j < rm.ScopeMetrics().Len(); j++ {
				ms := rm.ScopeMetrics().At(j).Metrics()
				for k := 0; k < ms.Len(); k++ {
					rw.metric(ms.At(k))
				}
			}
		}
		return req.MarshalProto()
	}
	return nil, fmt.Errorf("recorded request to %q: not an OTLP path", path)
}

type point interface {
	StartTimestamp() pcommon.Timestamp
	SetStartTimestamp(pcommon.Timestamp)
	Timestamp() pcommon.Timestamp
	SetTimestamp(pcommon.Timestamp)
}

func (rw *Rewriter) point(p point) {
	p.SetStartTimestamp(rw.ts(p.StartTimestamp()))
	p.SetTimestamp(rw.ts(p.Timestamp()))
}

func (rw *Rewriter) exemplars(es pmetric.ExemplarSlice) {
	for i := 0; i < es.Len(); i++ {
		e := es.At(i)
		e.SetTimestamp(rw.ts(e.Timestamp()))
		e.SetTraceID(rw.traceID(e.TraceID()))
		e.SetSpanID(rw.spanID(e.SpanID()))
	}
}

func (rw *Rewriter) metric(m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for i := 0; i < m.Gauge().DataPoints().Len(); i++ {
			rw.point(m.Gauge().DataPoints().At(i))
			rw.exemplars(m.Gauge().DataPoints().At(i).Exemplars())
		}
	case pmetric.MetricTypeSum:
		for i := 0; i < m.Sum().DataPoints().Len(); i++ {
			rw.point(m.Sum().DataPoints().At(i))
			rw.exemplars(m.Sum().DataPoints().At(i).Exemplars())
		}
	case pmetric.MetricTypeHistogram:
		for i := 0; i < m.Histogram().DataPoints().Len(); i++ {
			rw.point(m.Histogram().DataPoints().At(i))
			rw.exemplars(m.Histogram().DataPoints().At(i).Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for i := 0; i < m.ExponentialHistogram().DataPoints().Len(); i++ {
			rw.point(m.ExponentialHistogram().DataPoints().At(i))
			rw.exemplars(m.ExponentialHistogram().DataPoints().At(i).Exemplars())
		}
	case pmetric.MetricTypeSummary:
		for i := 0; i < m.Summary().DataPoints().Len(); i++ {
			rw.point(m.Summary().DataPoints().At(i))
		}
	}
}

// truthIDKeys are the ground-truth fields that hold ids (strings or lists
// of strings), re-seeded like the telemetry's.
var truthIDKeys = map[string]bool{
	"trace_id": true, "trace_ids": true, "error_trace_ids": true, "session_id": true, "journey_id": true,
}

// Truth rewrites one ground-truth JSON line: every RFC 3339 time is shifted
// and every id field re-seeded.
func (rw *Rewriter) Truth(line []byte) ([]byte, error) {
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		return nil, fmt.Errorf("recorded ground truth line: %w", err)
	}
	return json.Marshal(rw.truthValue("", v))
}

func (rw *Rewriter) truthValue(key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = rw.truthValue(k, e)
		}
	case []any:
		for i, e := range x {
			x[i] = rw.truthValue(key, e)
		}
	case string:
		if truthIDKeys[key] {
			return rw.ID(x)
		}
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t.Add(rw.Shift).Format(time.RFC3339Nano)
		}
	}
	return v
}
