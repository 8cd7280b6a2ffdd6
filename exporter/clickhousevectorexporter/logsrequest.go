package clickhousevectorexporter

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
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
	type replaced struct {
		at time.Time
		hs []uint64
	}
	reps := map[uint64]replaced{}
	mixed := false // session scopes beside others: the sessions are copied out
	others := 0
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			if isSessionScope(sls.At(j)) {
				r.nSession += sls.At(j).LogRecords().Len()
			} else if n := sls.At(j).LogRecords().Len(); n > 0 {
				mixed = true
				others += n
			}
		}
	}
	r.occ = make([]occurrence, 0, others)
	if r.nSession > 0 {
		// Copied: the batch is shared with other consumers (the exporter
		// declares itself read-only) and merging moves records between
		// requests.
		r.sessions = plog.NewLogs()
		if !mixed {
			ld.CopyTo(r.sessions)
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
				// One pass over the attributes for the four the processor
				// attached.
				var o occurrence
				var tpl, vec, rep bool
				var vecBytes, repBytes pcommon.ByteSlice
				lr.Attributes().Range(func(k string, v pcommon.Value) bool {
					switch k {
					case vecattr.Template:
						o.Template, tpl = v.Str(), true
					case vecattr.TemplateHash:
						o.Hash = uint64(v.Int())
					case vecattr.Model:
						o.Model = v.Str()
					case vecattr.Vector:
						vecBytes, vec = v.Bytes(), true
					case vecattr.TemplateReplaces:
						repBytes, rep = v.Bytes(), true
					}
					return true
				})
				if !tpl {
					continue
				}
				if vec {
					if v, err := vecattr.Decode(vecBytes.AsRaw()); err == nil && len(v) == w.dims() {
						vecs[o.Hash] = v
					}
				}
				if rep {
					if at, hs, err := vecattr.DecodeReplaces(repBytes.AsRaw()); err == nil {
						reps[o.Hash] = replaced{at, hs}
					}
				}
				o.TS = logTime(lr)
				o.TraceID = traceIDString(lr.TraceID())
				o.SpanID = spanIDString(lr.SpanID())
				o.Severity = lr.SeverityText()
				o.Service = service
				o.Body = lr.Body().AsString()
				if o.Severity == "" {
					o.Severity = lr.SeverityNumber().String()
				}
				r.occ = append(r.occ, o)
			}
		}
	}
	for i := range r.occ {
		r.occ[i].Vec = vecs[r.occ[i].Hash]
		if x, ok := reps[r.occ[i].Hash]; ok {
			// Every row of the template: a request split in parts
			// stores the re-pointing with each.
			r.occ[i].Replaces, r.occ[i].ReplacedAt = x.hs, x.at
		}
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
	return occenc.Size(o)
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
	return occenc.Append(make([]byte, 0, r.BytesSize()+len(sessions)+64), r.occ, sessions), nil
}

// Unmarshal decodes what Marshal wrote; the request keeps buf.
func (logsEncoding) Unmarshal(buf []byte) (context.Context, xexporterhelper.Request, error) {
	rows, sessions, err := occenc.Decode(buf)
	if err != nil {
		return context.Background(), nil, fmt.Errorf("queued logs request: %w", err)
	}
	r := &logsRequest{occ: rows}
	if len(sessions) > 0 {
		ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(sessions)
		if err != nil {
			return context.Background(), nil, fmt.Errorf("queued session records: %w", err)
		}
		r.sessions, r.nSession = ld, ld.LogRecordCount()
	}
	return context.Background(), r, nil
}
