package clickhousevectorexporter

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/occenc"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
)

// logsRequest is what the logs exporter queues: a batch's error
// occurrences, read out of pdata once when the batch arrives, and the
// batch's browser-session records, if any, as pdata.
//
// Error occurrences arrive by the ten thousand a second and are all this
// exporter stores of a log, so its (persistent) queue holds them in the
// compact form of logsEncoding rather than as OTLP protobuf: a fraction of
// the bytes, no pdata to rebuild when the queue is read, and queued
// batches merge by appending slices.
type logsRequest struct {
	occ      []occurrence
	sessions plog.Logs // zero Logs when the batch has no session records
	nSession int       // session log records
}

var _ xexporterhelper.Request = (*logsRequest)(nil)

// logsRequestFrom reads a batch into a logsRequest: every record carrying a
// template (the embedding processor's output) becomes an occurrence whose
// vector, when the batch carries one for its template, is shared by all of
// the template's occurrences; records of browser-session scopes stay pdata.
func (w *writer) logsRequestFrom(_ context.Context, ld plog.Logs) (xexporterhelper.Request, error) {
	r := &logsRequest{}
	vecs := map[uint64][]float32{}
	mixed := false // session scopes beside others: the sessions are copied out
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			if isSessionScope(sls.At(j)) {
				r.nSession += sls.At(j).LogRecords().Len()
			} else if sls.At(j).LogRecords().Len() > 0 {
				mixed = true
			}
		}
	}
	if r.nSession > 0 {
		r.sessions = ld
		if mixed {
			r.sessions = plog.NewLogs()
		}
	}
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		service := serviceName(rl.Resource())
		var sessionRL plog.ResourceLogs
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			if isSessionScope(sl) {
				if mixed {
					if sessionRL == (plog.ResourceLogs{}) {
						sessionRL = r.sessions.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(sessionRL.Resource())
						sessionRL.SetSchemaUrl(rl.SchemaUrl())
					}
					sl.CopyTo(sessionRL.ScopeLogs().AppendEmpty())
				}
				continue
			}
			recs := sl.LogRecords()
			for k := 0; k < recs.Len(); k++ {
				lr := recs.At(k)
				attrs := lr.Attributes()
				tpl, ok := attrs.Get(vecattr.Template)
				if !ok {
					continue
				}
				o := occurrence{
					ts:       logTime(lr),
					traceID:  traceIDString(lr.TraceID()),
					spanID:   spanIDString(lr.SpanID()),
					severity: lr.SeverityText(),
					service:  service,
					body:     lr.Body().AsString(),
					template: tpl.Str(),
				}
				if h, ok := attrs.Get(vecattr.TemplateHash); ok {
					o.hash = uint64(h.Int())
				}
				if m, ok := attrs.Get(vecattr.Model); ok {
					o.model = m.Str()
				}
				if v, ok := attrs.Get(vecattr.Vector); ok {
					if vec, err := vecattr.Decode(v.Bytes().AsRaw()); err == nil && len(vec) == w.dims() {
						vecs[o.hash] = vec
					}
				}
				if o.severity == "" {
					o.severity = lr.SeverityNumber().String()
				}
				r.occ = append(r.occ, o)
			}
		}
	}
	for i := range r.occ {
		r.occ[i].vec = vecs[r.occ[i].hash]
	}
	return r, nil
}

func (r *logsRequest) ItemsCount() int { return len(r.occ) + r.nSession }

// BytesSize is the size of the request's encoding, estimated.
func (r *logsRequest) BytesSize() int { return r.size(exporterhelper.RequestSizerTypeBytes, r.occ) }

// MergeSplit appends r2's occurrences and session records to r's, then cuts
// the occurrences into requests of at most maxSize items (or bytes). The
// session records ride with the first request whole: they are a browser's
// handful per batch.
func (r *logsRequest) MergeSplit(_ context.Context, maxSize int, szt exporterhelper.RequestSizerType, r2 xexporterhelper.Request) ([]xexporterhelper.Request, error) {
	if szt != exporterhelper.RequestSizerTypeItems && szt != exporterhelper.RequestSizerTypeBytes {
		return nil, fmt.Errorf("unknown sizer type %v", szt)
	}
	if r2 != nil {
		o, ok := r2.(*logsRequest)
		if !ok {
			return nil, fmt.Errorf("cannot merge %T into a logs request", r2)
		}
		r.occ = append(r.occ, o.occ...)
		if o.nSession > 0 {
			if r.nSession == 0 {
				r.sessions = plog.NewLogs()
			}
			o.sessions.ResourceLogs().MoveAndAppendTo(r.sessions.ResourceLogs())
			r.nSession += o.nSession
		}
	}
	if maxSize <= 0 || r.size(szt, r.occ) <= maxSize {
		return []xexporterhelper.Request{r}, nil
	}
	var out []xexporterhelper.Request
	rest := r.occ
	first := true
	for len(rest) > 0 {
		cut, used := 0, 0
		if first {
			used = r.size(szt, nil)
		}
		for cut < len(rest) {
			s := occSize(szt, &rest[cut])
			if cut > 0 && used+s > maxSize {
				break
			}
			used += s
			cut++
		}
		part := &logsRequest{occ: rest[:cut:cut]}
		if first {
			part.sessions, part.nSession = r.sessions, r.nSession
			first = false
		}
		out = append(out, part)
		rest = rest[cut:]
	}
	return out, nil
}

// size is the size of the request with occ as its occurrences.
func (r *logsRequest) size(szt exporterhelper.RequestSizerType, occ []occurrence) int {
	n := 0
	if szt == exporterhelper.RequestSizerTypeItems {
		n = len(occ) + r.nSession
	} else {
		for i := range occ {
			n += occSize(szt, &occ[i])
		}
		if r.nSession > 0 {
			n += (&plog.ProtoMarshaler{}).LogsSize(r.sessions)
		}
	}
	return n
}

func occSize(szt exporterhelper.RequestSizerType, o *occurrence) int {
	if szt == exporterhelper.RequestSizerTypeItems {
		return 1
	}
	return occenc.Size(&occenc.Row{TraceID: o.traceID, SpanID: o.spanID, Severity: o.severity, Service: o.service,
		Body: o.body, Template: o.template, Model: o.model})
}

// logsEncoding is how the persistent queue stores a logsRequest: the
// occurrences in occenc's compact form, the session records (if any) as
// OTLP protobuf in its trailer.
type logsEncoding struct{}

func (logsEncoding) Marshal(_ context.Context, req xexporterhelper.Request) ([]byte, error) {
	r, ok := req.(*logsRequest)
	if !ok {
		return nil, fmt.Errorf("cannot encode %T as a logs request", req)
	}
	var sessions []byte
	if r.nSession > 0 {
		var err error
		if sessions, err = (&plog.ProtoMarshaler{}).MarshalLogs(r.sessions); err != nil {
			return nil, err
		}
	}
	rows := make([]occenc.Row, len(r.occ))
	for i := range r.occ {
		o := &r.occ[i]
		rows[i] = occenc.Row{TS: o.ts, TraceID: o.traceID, SpanID: o.spanID, Severity: o.severity, Service: o.service,
			Body: o.body, Template: o.template, Model: o.model, Hash: o.hash, Vec: o.vec}
	}
	return occenc.Append(make([]byte, 0, r.BytesSize()+len(sessions)+64), rows, sessions), nil
}

// Unmarshal decodes what Marshal wrote; the request keeps buf.
func (logsEncoding) Unmarshal(buf []byte) (context.Context, xexporterhelper.Request, error) {
	rows, sessions, err := occenc.Decode(buf)
	if err != nil {
		return context.Background(), nil, fmt.Errorf("queued logs request: %w", err)
	}
	r := &logsRequest{occ: make([]occurrence, len(rows))}
	for i := range rows {
		o := &rows[i]
		r.occ[i] = occurrence{ts: o.TS, traceID: o.TraceID, spanID: o.SpanID, severity: o.Severity, service: o.Service,
			body: o.Body, template: o.Template, model: o.Model, hash: o.Hash, vec: o.Vec}
	}
	if len(sessions) > 0 {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(sessions)
		if err != nil {
			return context.Background(), nil, fmt.Errorf("queued session records: %w", err)
		}
		r.sessions, r.nSession = ld, ld.LogRecordCount()
	}
	return context.Background(), r, nil
}
