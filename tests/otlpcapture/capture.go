// Package otlpcapture is a minimal OTLP/HTTP receiver that keeps what it is
// sent in memory, flattened for assertions: tests point the sample shop at it
// instead of a collector, and it counts what a run emits.
package otlpcapture

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Span is one received span.
type Span struct {
	Service       string
	Scope         string
	Name          string
	Kind          string
	TraceID       string
	SpanID        string
	ParentSpanID  string
	Start, End    time.Time
	StatusCode    string
	StatusMessage string
	Attrs         map[string]string
	Events        []Event
}

// Event is a span event.
type Event struct {
	Name  string
	Attrs map[string]string
}

// LogRecord is one received log record.
type LogRecord struct {
	Service        string
	Scope          string
	Time           time.Time
	SeverityText   string
	SeverityNumber int
	Body           string
	TraceID        string
	SpanID         string
	Attrs          map[string]string
}

// Point is one received metric data point. Gauges and sums fill Value;
// histograms fill Count and Sum.
type Point struct {
	Service string
	Metric  string
	Type    string
	Time    time.Time
	Value   float64
	Count   uint64
	Sum     float64
	Attrs   map[string]string
}

// Server receives OTLP/HTTP on /v1/traces, /v1/logs and /v1/metrics.
type Server struct {
	srv  *http.Server
	url  string
	done chan struct{}

	mu        sync.Mutex
	spans     []Span
	logs      []LogRecord
	points    []Point
	resources []map[string]string
	requests  int
}

// Start listens on addr ("127.0.0.1:0" for any free port).
func Start(addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	s := &Server{url: "http://" + l.Addr().String(), done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.traces)
	mux.HandleFunc("POST /v1/logs", s.logsHandler)
	mux.HandleFunc("POST /v1/metrics", s.metrics)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

// URL is the base URL to use as OTLP endpoint.
func (s *Server) URL() string { return s.url }

// Close stops the server.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	if err != nil {
		return fmt.Errorf("close capture server: %w", err)
	}
	return nil
}

func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		rd = zr
	}
	b, err := io.ReadAll(io.LimitReader(rd, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return b, nil
}

type unmarshaler interface {
	UnmarshalProto([]byte) error
	UnmarshalJSON([]byte) error
}

func decodeInto(r *http.Request, m unmarshaler) error {
	b, err := readBody(r)
	if err != nil {
		return err
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return m.UnmarshalJSON(b)
	}
	return m.UnmarshalProto(b)
}

type marshaler interface{ MarshalProto() ([]byte, error) }

func reply(w http.ResponseWriter, m marshaler) {
	b, err := m.MarshalProto()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func attrs(m pcommon.Map) map[string]string {
	out := make(map[string]string, m.Len())
	for k, v := range m.All() {
		out[k] = v.AsString()
	}
	return out
}

func hexID(b []byte, empty bool) string {
	if empty {
		return ""
	}
	return fmt.Sprintf("%x", b)
}

func (s *Server) traces(w http.ResponseWriter, r *http.Request) {
	req := ptraceotlp.NewExportRequest()
	if err := decodeInto(r, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Span
	var res []map[string]string
	rss := req.Traces().ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		ra := attrs(rs.Resource().Attributes())
		res = append(res, ra)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			for k := range ss.Spans().Len() {
				sp := ss.Spans().At(k)
				tid, sid, pid := sp.TraceID(), sp.SpanID(), sp.ParentSpanID()
				x := Span{
					Service: ra["service.name"], Scope: ss.Scope().Name(), Name: sp.Name(), Kind: sp.Kind().String(),
					TraceID: hexID(tid[:], tid.IsEmpty()), SpanID: hexID(sid[:], sid.IsEmpty()), ParentSpanID: hexID(pid[:], pid.IsEmpty()),
					Start: sp.StartTimestamp().AsTime(), End: sp.EndTimestamp().AsTime(),
					StatusCode: sp.Status().Code().String(), StatusMessage: sp.Status().Message(),
					Attrs: attrs(sp.Attributes()),
				}
				for e := range sp.Events().Len() {
					ev := sp.Events().At(e)
					x.Events = append(x.Events, Event{Name: ev.Name(), Attrs: attrs(ev.Attributes())})
				}
				got = append(got, x)
			}
		}
	}
	s.mu.Lock()
	s.spans = append(s.spans, got...)
	s.resources = append(s.resources, res...)
	s.requests++
	s.mu.Unlock()
	reply(w, ptraceotlp.NewExportResponse())
}

func (s *Server) logsHandler(w http.ResponseWriter, r *http.Request) {
	req := plogotlp.NewExportRequest()
	if err := decodeInto(r, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []LogRecord
	var res []map[string]string
	rls := req.Logs().ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		ra := attrs(rl.Resource().Attributes())
		res = append(res, ra)
		for j := range rl.ScopeLogs().Len() {
			sl := rl.ScopeLogs().At(j)
			for k := range sl.LogRecords().Len() {
				lr := sl.LogRecords().At(k)
				tid, sid := lr.TraceID(), lr.SpanID()
				got = append(got, LogRecord{
					Service: ra["service.name"], Scope: sl.Scope().Name(), Time: lr.Timestamp().AsTime(),
					SeverityText: lr.SeverityText(), SeverityNumber: int(lr.SeverityNumber()), Body: lr.Body().AsString(),
					TraceID: hexID(tid[:], tid.IsEmpty()), SpanID: hexID(sid[:], sid.IsEmpty()), Attrs: attrs(lr.Attributes()),
				})
			}
		}
	}
	s.mu.Lock()
	s.logs = append(s.logs, got...)
	s.resources = append(s.resources, res...)
	s.requests++
	s.mu.Unlock()
	reply(w, plogotlp.NewExportResponse())
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	req := pmetricotlp.NewExportRequest()
	if err := decodeInto(r, req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var got []Point
	var res []map[string]string
	rms := req.Metrics().ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		ra := attrs(rm.Resource().Attributes())
		res = append(res, ra)
		for j := range rm.ScopeMetrics().Len() {
			sm := rm.ScopeMetrics().At(j)
			for k := range sm.Metrics().Len() {
				got = append(got, flattenMetric(ra["service.name"], sm.Metrics().At(k))...)
			}
		}
	}
	s.mu.Lock()
	s.points = append(s.points, got...)
	s.resources = append(s.resources, res...)
	s.requests++
	s.mu.Unlock()
	reply(w, pmetricotlp.NewExportResponse())
}

func numberValue(dp pmetric.NumberDataPoint) float64 {
	if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
		return float64(dp.IntValue())
	}
	return dp.DoubleValue()
}

func flattenMetric(service string, m pmetric.Metric) []Point {
	var out []Point
	base := Point{Service: service, Metric: m.Name(), Type: m.Type().String()}
	number := func(dps pmetric.NumberDataPointSlice) {
		for i := range dps.Len() {
			dp := dps.At(i)
			p := base
			p.Time, p.Value, p.Attrs = dp.Timestamp().AsTime(), numberValue(dp), attrs(dp.Attributes())
			out = append(out, p)
		}
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		number(m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		number(m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			p := base
			p.Time, p.Count, p.Sum, p.Attrs = dp.Timestamp().AsTime(), dp.Count(), dp.Sum(), attrs(dp.Attributes())
			out = append(out, p)
		}
	}
	return out
}

// Spans returns the spans received so far.
func (s *Server) Spans() []Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Span(nil), s.spans...)
}

// Logs returns the log records received so far.
func (s *Server) Logs() []LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LogRecord(nil), s.logs...)
}

// Points returns the metric points received so far.
func (s *Server) Points() []Point {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Point(nil), s.points...)
}

// Counts summarises what was received.
type Counts struct {
	Requests, Spans, Logs, Points, Traces int
}

// Counts returns how much was received; Traces counts distinct trace ids.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	traces := map[string]bool{}
	for _, sp := range s.spans {
		traces[sp.TraceID] = true
	}
	return Counts{Requests: s.requests, Spans: len(s.spans), Logs: len(s.logs), Points: len(s.points), Traces: len(traces)}
}

// Reset forgets everything received.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spans, s.logs, s.points, s.resources, s.requests = nil, nil, nil, nil, 0
}

// Strings returns every piece of text received: resource, scope, span, event,
// log and metric names, attribute keys and values, bodies and statuses. Tests
// search it for words that must never be emitted.
func (s *Server) Strings() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	addMap := func(m map[string]string) {
		for k, v := range m {
			out = append(out, k, v)
		}
	}
	for _, r := range s.resources {
		addMap(r)
	}
	for _, sp := range s.spans {
		out = append(out, sp.Scope, sp.Name, sp.StatusMessage)
		addMap(sp.Attrs)
		for _, e := range sp.Events {
			out = append(out, e.Name)
			addMap(e.Attrs)
		}
	}
	for _, l := range s.logs {
		out = append(out, l.Scope, l.Body, l.SeverityText)
		addMap(l.Attrs)
	}
	for _, p := range s.points {
		out = append(out, p.Metric)
		addMap(p.Attrs)
	}
	return out
}

// ErrTimeout is returned by WaitFor when the condition did not hold in time.
var ErrTimeout = errors.New("condition not met before timeout")

// WaitFor polls cond every 50ms until it holds or timeout passes.
func (s *Server) WaitFor(timeout time.Duration, cond func(*Server) bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond(s) {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrTimeout
		}
		time.Sleep(50 * time.Millisecond)
	}
}
