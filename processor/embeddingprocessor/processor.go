package embeddingprocessor

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/tracesummary"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
)

type embedder struct {
	cfg         *Config
	logger      *zap.Logger
	cache       *embed.Cached
	model       *tracesummary.Model
	recent      *tracesummary.Recent
	minSeverity int32
	templates   *templates // logs only

	embedded, skippedEmpty, failures, traces, anomalies, revised metric.Int64Counter

	failMu      sync.Mutex
	lastFailLog time.Time
	failsSince  int
}

func newEmbedder(cfg *Config, set processor.Settings) (*embedder, error) {
	e, err := embed.New(cfg.Embedder)
	if err != nil {
		return nil, err
	}
	p := &embedder{
		cfg:         cfg,
		logger:      set.Logger,
		cache:       embed.NewCached(e, cfg.Embedder.CacheSize),
		minSeverity: severities[strings.ToUpper(cfg.Logs.MinSeverity)],
		model:       tracesummary.NewModel(modelConfig(cfg.Traces)),
		recent:      tracesummary.NewRecent(cfg.Traces.LateSpanWindow, cfg.Traces.LateSpanMaxSpans),
	}
	meter := set.MeterProvider.Meter(metadata.ScopeName)
	for _, c := range []struct {
		dst        *metric.Int64Counter
		name, desc string
	}{
		{&p.embedded, "otelcol_processor_embedding_records_embedded", "Log records and traces given an embedding."},
		{&p.skippedEmpty, "otelcol_processor_embedding_records_skipped_empty", "Selected log records skipped because their body is empty."},
		{&p.failures, "otelcol_processor_embedding_embedder_failures", "Batches the embedder failed on; their records flow on without vectors."},
		{&p.traces, "otelcol_processor_embedding_traces_scored", "Whole traces summarised and scored."},
		{&p.anomalies, "otelcol_processor_embedding_traces_anomalous", "Traces judged anomalous."},
		{&p.revised, "otelcol_processor_embedding_traces_revised", "Traces emitted again as anomalous once a later request of their session showed the session abnormal."},
	} {
		if *c.dst, err = meter.Int64Counter(c.name, metric.WithDescription(c.desc), metric.WithUnit("{item}")); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (p *embedder) shutdown(context.Context) error { return nil }

// selected reports whether a log record is worth embedding.
func (p *embedder) selected(lr plog.LogRecord) bool {
	sev := int32(lr.SeverityNumber())
	if sev == 0 {
		sev = severityFromText(lr.SeverityText())
	}
	if sev >= p.minSeverity {
		return true
	}
	if p.cfg.Logs.IncludeExceptions {
		attrs := lr.Attributes()
		if _, ok := attrs.Get("exception.type"); ok {
			return true
		}
		if _, ok := attrs.Get("exception.message"); ok {
			return true
		}
	}
	return false
}

func severityFromText(s string) int32 {
	u := strings.ToUpper(strings.TrimSpace(s))
	for name, n := range severities {
		if strings.HasPrefix(u, name) {
			return n
		}
	}
	return 0
}

// bodyText is what a record says: the body, or for a record whose body is
// empty but which carries an exception, "type: message".
func bodyText(lr plog.LogRecord) string {
	body := lr.Body().AsString()
	if strings.TrimSpace(body) != "" {
		return body
	}
	attrs := lr.Attributes()
	var parts []string
	for _, k := range []string{"exception.type", "exception.message"} {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			parts = append(parts, v.AsString())
		}
	}
	return strings.Join(parts, ": ")
}

func (p *embedder) processLogs(ctx context.Context, in plog.Logs) (plog.Logs, error) {
	var (
		keys   []uint64
		texts  []string
		seen   = map[uint64]int{}
		empty  int64
		picked []plog.LogRecord
		hashes []uint64
		now    time.Time
	)
	// The selected records are copied into a new batch rather than the rest
	// removed from the input: the input stays untouched, so the collector
	// need not clone every batch for this pipeline, and only the records
	// worth embedding (a minority of a healthy stream) are copied.
	ld := plog.NewLogs()
	if n := in.LogRecordCount(); n > 64 {
		picked, hashes = make([]plog.LogRecord, 0, n), make([]uint64, 0, n)
	}
	for i := 0; i < in.ResourceLogs().Len(); i++ {
		rl := in.ResourceLogs().At(i)
		var outRL plog.ResourceLogs
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			var outSL plog.LogRecordSlice
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				if !p.selected(lr) {
					continue
				}
				text := bodyText(lr)
				if strings.TrimSpace(text) == "" {
					empty++
					continue
				}
				if outSL == (plog.LogRecordSlice{}) {
					if outRL == (plog.ResourceLogs{}) {
						outRL = ld.ResourceLogs().AppendEmpty()
						rl.Resource().CopyTo(outRL.Resource())
						outRL.SetSchemaUrl(rl.SchemaUrl())
					}
					outScope := outRL.ScopeLogs().AppendEmpty()
					sl.Scope().CopyTo(outScope.Scope())
					outScope.SetSchemaUrl(sl.SchemaUrl())
					outSL = outScope.LogRecords()
				}
				out := outSL.AppendEmpty()
				p.copyRecord(lr, out)
				res := p.templates.miner.Add(clip.String(text, p.cfg.Logs.MaxBodyBytes))
				attrs := out.Attributes()
				// Room for the template, its hash, the model and the vector:
				// one allocation instead of the map growing by steps (the
				// hashes a template replaces ride on few records).
				attrs.EnsureCapacity(attrs.Len() + 4)
				attrs.PutStr(vecattr.Template, res.Template)
				attrs.PutInt(vecattr.TemplateHash, int64(res.Hash))
				picked = append(picked, out)
				hashes = append(hashes, res.Hash)
				if _, ok := seen[res.Hash]; !ok {
					seen[res.Hash] = len(keys)
					keys = append(keys, res.Hash)
					texts = append(texts, res.Template)
					// The re-pointing of the template's older hashes goes
					// with its first record of every batch, so it is
					// stored with the occurrences under the new hash (a
					// crash cannot keep one without the other), and a
					// batch sent again carries it again.
					if len(res.Replaces) > 0 {
						if now.IsZero() {
							now = time.Now()
						}
						attrs.PutEmptyBytes(vecattr.TemplateReplaces).FromRaw(vecattr.EncodeReplaces(now, res.Replaces))
					}
				}
			}
		}
	}
	if empty > 0 {
		p.skippedEmpty.Add(ctx, empty)
	}
	if len(keys) == 0 {
		// Nothing worth embedding: nothing goes down this pipeline.
		return ld, processorhelper.ErrSkipProcessingData
	}
	vecs, err := p.cache.EmbedKeyed(ctx, keys, texts)
	if err != nil {
		// The records flow on with their templates; the exporter stores the
		// occurrences and the template's vector arrives with a later batch.
		p.embedFailed(ctx, err, len(keys))
		return ld, nil
	}
	encoded := make([][]byte, len(vecs))
	for i, v := range vecs {
		encoded[i] = vecattr.Encode(v)
	}
	// The vector rides on the first record of each template in the batch
	// only: the exporter stores one vector per template, and 1.5 KiB on
	// every record would dominate the batch.
	model := p.cache.Model()
	carried := make([]bool, len(keys))
	for i, lr := range picked {
		attrs := lr.Attributes()
		if k := seen[hashes[i]]; !carried[k] {
			carried[k] = true
			attrs.PutEmptyBytes(vecattr.Vector).FromRaw(encoded[k])
		}
		attrs.PutStr(vecattr.Model, model)
	}
	p.embedded.Add(ctx, int64(len(picked)))
	return ld, nil
}

// copyRecord copies a selected record into out: whole, or, when the
// configuration does not keep attributes, with only its exception.*
// attributes and the others counted as dropped.
func (p *embedder) copyRecord(lr, out plog.LogRecord) {
	if p.cfg.Logs.KeepAttributes {
		lr.CopyTo(out)
		// Only this processor says which hashes a template replaces.
		out.Attributes().Remove(vecattr.TemplateReplaces)
		return
	}
	out.SetTimestamp(lr.Timestamp())
	out.SetObservedTimestamp(lr.ObservedTimestamp())
	out.SetTraceID(lr.TraceID())
	out.SetSpanID(lr.SpanID())
	out.SetFlags(lr.Flags())
	out.SetSeverityNumber(lr.SeverityNumber())
	out.SetSeverityText(lr.SeverityText())
	out.SetEventName(lr.EventName())
	lr.Body().CopyTo(out.Body())
	attrs := out.Attributes()
	dropped := lr.DroppedAttributesCount()
	lr.Attributes().Range(func(k string, v pcommon.Value) bool {
		if strings.HasPrefix(k, "exception.") {
			v.CopyTo(attrs.PutEmpty(k))
		} else {
			dropped++
		}
		return true
	})
	out.SetDroppedAttributesCount(dropped)
}

func (p *embedder) embedFailed(ctx context.Context, err error, n int) {
	p.failures.Add(ctx, 1)
	p.failMu.Lock()
	defer p.failMu.Unlock()
	p.failsSince++
	if time.Since(p.lastFailLog) < p.cfg.FailureLogInterval {
		return
	}
	p.logger.Warn("Embedder failed; records flow on without vectors",
		zap.Error(err), zap.Int("texts", n), zap.Int("failed_batches_since_last_report", p.failsSince))
	p.lastFailLog = time.Now()
	p.failsSince = 0
}

// spanRef locates a span inside the batch.
type spanRef struct {
	rs   ptrace.ResourceSpans
	ss   ptrace.ScopeSpans
	span ptrace.Span
}

func (p *embedder) processTraces(ctx context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	byTrace := map[pcommon.TraceID][]spanRef{}
	var order []pcommon.TraceID
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			ss := rs.ScopeSpans().At(j)
			for k := 0; k < ss.Spans().Len(); k++ {
				sp := ss.Spans().At(k)
				id := sp.TraceID()
				if _, ok := byTrace[id]; !ok {
					order = append(order, id)
				}
				byTrace[id] = append(byTrace[id], spanRef{rs, ss, sp})
			}
		}
	}
	out := ptrace.NewTraces()
	if len(order) == 0 {
		return out, nil
	}
	now := time.Now()
	summaries := make([]tracesummary.Summary, len(order))
	roots := make([]*rootCopy, len(order))
	texts := make([]string, len(order))
	index := make(map[string]int, len(order))
	for i, id := range order {
		refs := byTrace[id]
		spans := make([]tracesummary.Span, len(refs))
		for j, r := range refs {
			spans[j] = spanOf(r, p.cfg.Traces.SessionAttribute)
		}
		// A trace that ran longer than groupbytrace's wait arrives in
		// parts: a later part is summarised with the earlier ones.
		all, prev, earlier := p.recent.Add(id.String(), spans, now)
		summaries[i] = tracesummary.Summarize(id.String(), all)
		index[summaries[i].TraceID] = i
		if ri := summaries[i].RootIndex; ri >= prev {
			r := refs[ri-prev]
			roots[i] = &rootCopy{rs: r.rs, ss: r.ss, span: r.span, batch: true}
		} else if k, ok := earlier.(*kept); ok {
			roots[i] = k.root
		} else {
			// The entry span came in a part no longer remembered; the
			// earliest span of this part stands in.
			roots[i] = &rootCopy{rs: refs[0].rs, ss: refs[0].ss, span: refs[0].span, batch: true}
		}
		texts[i] = summaries[i].EmbedText
	}
	vecs, err := p.cache.Embed(ctx, texts)
	if err != nil {
		p.embedFailed(ctx, err, len(texts))
		// Without vectors the traces still get their summary and the
		// rule-based part of the score.
		vecs = make([][]float32, len(texts))
	}
	// Judged in start order: a session's requests follow each other, and a
	// batch holds them as their spans happened to arrive.
	scores := make([]tracesummary.Score, len(order))
	byStart := make([]int, len(order))
	for i := range byStart {
		byStart[i] = i
	}
	sort.SliceStable(byStart, func(a, b int) bool { return summaries[byStart[a]].Start.Before(summaries[byStart[b]].Start) })
	var revise []tracesummary.Revision
	for _, i := range byStart {
		scores[i] = p.model.Observe(summaries[i], vecs[i])
		for _, r := range scores[i].Revised {
			if j, ok := index[r.TraceID]; ok {
				// In this batch: not emitted yet.
				scores[j].IsAnomaly = true
				if scores[j].Type == tracesummary.AnomalyNone {
					scores[j].Type = r.Type
				}
				continue
			}
			revise = append(revise, r)
		}
	}
	model := p.cache.Model()
	var anomalous int64
	for i := range order {
		s := summaries[i]
		row := traceRow{sequence: s.Sequence, operation: s.RootOperation, text: s.EmbedText, spans: s.SpanCount,
			errors: s.ErrorCount, duration: s.Duration, score: scores[i].Value, anomaly: scores[i].IsAnomaly, kind: scores[i].Type}
		p.emit(out, roots[i], row, vecs[i], model)
		if p.recent.Enabled() {
			root := roots[i]
			if root.batch {
				root = root.detach()
			}
			p.recent.Keep(s.TraceID, &kept{root: root, row: row})
		}
		if row.anomaly {
			anomalous++
		}
	}
	if len(revise) > 0 {
		anomalous += p.revise(ctx, out, revise, model)
	}
	p.traces.Add(ctx, int64(len(order)))
	if anomalous > 0 {
		p.anomalies.Add(ctx, anomalous)
	}
	if err == nil {
		p.embedded.Add(ctx, int64(len(order)))
	}
	return out, nil
}

// kept is what the processor remembers of a trace it has emitted: its entry
// span, for the trace's later parts, and its row, for a revised verdict.
type kept struct {
	root *rootCopy
	row  traceRow
}

// traceRow is what the emitted span of a trace carries besides the entry span.
type traceRow struct {
	sequence, operation, text string
	spans, errors             int
	duration                  time.Duration
	score                     float64
	anomaly                   bool
	kind                      string
}

// emit appends the span of one trace: a copy of its entry span with the
// trace's attributes. vec may be nil.
func (p *embedder) emit(out ptrace.Traces, root *rootCopy, row traceRow, vec []float32, model string) {
	rs := out.ResourceSpans().AppendEmpty()
	root.rs.Resource().CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	root.ss.Scope().CopyTo(ss.Scope())
	span := ss.Spans().AppendEmpty()
	root.span.CopyTo(span)
	// The root span's own timing stays; the trace's extent goes in attributes.
	attrs := span.Attributes()
	attrs.PutStr(vecattr.SpanSequence, row.sequence)
	attrs.PutStr(vecattr.RootOperation, row.operation)
	attrs.PutInt(vecattr.SpanCount, int64(row.spans))
	attrs.PutInt(vecattr.ErrorCount, int64(row.errors))
	attrs.PutInt(vecattr.TotalDuration, row.duration.Nanoseconds())
	if vec != nil {
		attrs.PutEmptyBytes(vecattr.Vector).FromRaw(vecattr.Encode(vec))
		attrs.PutStr(vecattr.Model, model)
	}
	attrs.PutDouble(vecattr.AnomalyScore, row.score)
	attrs.PutBool(vecattr.IsAnomaly, row.anomaly)
	attrs.PutStr(vecattr.AnomalyType, row.kind)
}

// revise emits the rows of traces emitted earlier as ordinary whose session
// turned out abnormal, with the verdict raised (readers take, of a trace's
// fullest rows, the flagged one). A trace no longer remembered keeps its
// row. It returns how many were emitted.
func (p *embedder) revise(ctx context.Context, out ptrace.Traces, revs []tracesummary.Revision, model string) int64 {
	var (
		ks    []*kept
		texts []string
	)
	for _, r := range revs {
		k, ok := p.recent.Kept(r.TraceID).(*kept)
		if !ok || k.row.anomaly {
			continue
		}
		row := k.row
		row.anomaly, row.kind = true, r.Type
		row.score++
		k = &kept{root: k.root, row: row}
		p.recent.Keep(r.TraceID, k)
		ks = append(ks, k)
		texts = append(texts, row.text)
	}
	if len(ks) == 0 {
		return 0
	}
	// The vectors were embedded moments ago: the cache has them.
	vecs, err := p.cache.Embed(ctx, texts)
	if err != nil {
		p.embedFailed(ctx, err, len(texts))
		vecs = make([][]float32, len(texts))
	}
	for i, k := range ks {
		p.emit(out, k.root, k.row, vecs[i], model)
	}
	p.revised.Add(ctx, int64(len(ks)))
	return int64(len(ks))
}

// rootCopy is the entry span of a trace with its resource and scope: a view
// into the batch, or a copy kept for the trace's later parts.
type rootCopy struct {
	rs    ptrace.ResourceSpans
	ss    ptrace.ScopeSpans
	span  ptrace.Span
	batch bool // a view into the batch being processed
}

// detach returns a copy that does not reference the batch.
func (r *rootCopy) detach() *rootCopy {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	r.rs.Resource().CopyTo(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	r.ss.Scope().CopyTo(ss.Scope())
	span := ss.Spans().AppendEmpty()
	r.span.CopyTo(span)
	return &rootCopy{rs: rs, ss: ss, span: span}
}

// maxSessions is the model's session bound: negative (off) without a
// session attribute.
// modelConfig is the anomaly model's part of the traces settings; without a
// session attribute there are no sessions to follow.
func modelConfig(t TracesConfig) tracesummary.ModelConfig {
	m := t.ModelConfig
	if t.SessionAttribute == "" {
		m.MaxSessions = -1
	}
	return m
}

// spanOf is the part of a span the summary needs; sessionAttr names the
// attribute, of the span or else of its resource, that holds its session.
func spanOf(r spanRef, sessionAttr string) tracesummary.Span {
	svc := ""
	if v, ok := r.rs.Resource().Attributes().Get("service.name"); ok {
		svc = v.AsString()
	}
	sp := tracesummary.Span{
		SpanID:   r.span.SpanID().String(),
		ParentID: parentID(r.span),
		Service:  svc,
		Name:     r.span.Name(),
		Kind:     tracesummary.SpanKind(r.span.Kind()),
		Start:    r.span.StartTimestamp().AsTime(),
		End:      r.span.EndTimestamp().AsTime(),
		Error:    r.span.Status().Code() == ptrace.StatusCodeError,
	}
	if sp.Error {
		sp.ErrorType = errorType(r.span)
	}
	for _, k := range [...]string{"http.response.status_code", "http.status_code"} {
		if v, ok := r.span.Attributes().Get(k); ok {
			if n, err := strconv.Atoi(v.AsString()); err == nil {
				sp.Status = n
			}
			break
		}
	}
	if sessionAttr != "" && (sp.Kind == tracesummary.KindServer || sp.Kind == tracesummary.KindConsumer) {
		if v, ok := r.span.Attributes().Get(sessionAttr); ok {
			sp.Session = v.AsString()
		} else if v, ok := r.rs.Resource().Attributes().Get(sessionAttr); ok {
			sp.Session = v.AsString()
		}
	}
	return sp
}

// errorType tells one failure from another: the type of the last exception
// recorded on the span, else its status code (HTTP, then gRPC).
func errorType(s ptrace.Span) string {
	events := s.Events()
	for i := events.Len() - 1; i >= 0; i-- {
		ev := events.At(i)
		if ev.Name() != "exception" {
			continue
		}
		if v, ok := ev.Attributes().Get("exception.type"); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	attrs := s.Attributes()
	for _, k := range []string{"http.response.status_code", "http.status_code", "rpc.grpc.status_code"} {
		if v, ok := attrs.Get(k); ok {
			return "status " + v.AsString()
		}
	}
	return ""
}

func parentID(s ptrace.Span) string {
	if s.ParentSpanID().IsEmpty() {
		return ""
	}
	return s.ParentSpanID().String()
}
