package spoolconnector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// traceGrouper delivers whole traces to the group_by_trace pipelines. It
// reads the spool in order and gathers each trace's spans from the record
// its first span came in until wait_duration later, as groupbytrace does,
// but every decision is taken by the log's clock — the time each record was
// appended — never the wall clock, so that reading the log again after a
// crash takes the same decisions: the same traces are released together,
// and sent under the same deduplication tokens. When nothing arrives while
// traces wait, the grouper appends a tick (a record without data) to move
// the log's clock on.
//
// Released traces gather in an outbox, delivered once it holds min_size
// spans or its oldest trace has waited flush_timeout more (log time).
type traceGrouper struct {
	s    *spool[ptrace.Traces]
	wait int64 // nanoseconds

	mu sync.Mutex
	st groupState // as saved

	pending map[pcommon.TraceID]*traceGroup
	queue   []*traceGroup // by first record: release and eviction order
	spans   int           // in pending
	outbox  []*traceGroup
	outSpan int
	outTime int64 // log time of the outbox's first release

	// recent holds the record ranges of traces released lately: reading
	// the log again must start before the first record of any trace that
	// has spans at or after the point it starts from.
	recent []recordRange
}

type recordRange struct{ first, last uint64 }

// groupState is what the grouper saves after each delivery: where to read
// from again (the first record of the oldest trace not yet delivered), and
// below which record deliveries are done.
type groupState struct {
	From      uint64   `json:"from"`
	Delivered uint64   `json:"delivered"`
	Isolated  []string `json:"isolated,omitempty"` // chunks being delivered trace by trace: "<record>.<chunk>/<pipeline>"
}

type traceGroup struct {
	id        pcommon.TraceID
	firstSeq  uint64
	lastSeq   uint64
	firstTime int64
	td        ptrace.Traces
	spans     int
}

const groupStateName = "group"

func newTraceGrouper(s *spool[ptrace.Traces]) runner {
	g := &traceGrouper{s: s, wait: int64(s.cfg.GroupByTrace.WaitDuration), pending: map[pcommon.TraceID]*traceGroup{}}
	b, err := s.log.LoadState(groupStateName)
	if err == nil && b != nil {
		err = json.Unmarshal(b, &g.st)
	}
	if err != nil {
		// The grouper starts from the oldest record kept: traces delivered
		// since are sent again under the tokens they had.
		s.logger.Warn("Could not read the trace grouping position; reading the spool from its start", zap.String("directory", s.dir), zap.Error(err))
		g.st = groupState{}
	}
	return g
}

func (g *traceGrouper) position() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st.From
}

func (g *traceGrouper) behind() int64 {
	return int64(g.s.log.Next() - g.position())
}

func (g *traceGrouper) run(stop <-chan struct{}) {
	s := g.s
	r := s.log.NewReader(g.position())
	defer func() { r.Close() }()
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		changed := s.log.Changed()
		rec, err := r.Next()
		var ce *spoollog.CorruptError
		switch {
		case errors.Is(err, io.EOF):
			due, waiting := g.nextDue()
			if waiting && time.Now().UnixNano() >= due {
				if _, err := s.log.Append(spoollog.KindTick, nil); err != nil {
					s.logger.Warn("Could not append a tick to the spool; traces wait", zap.Error(err))
					if !sleep(stop, time.Second) {
						return
					}
				}
				continue
			}
			var fire <-chan time.Time
			if waiting {
				if timer == nil {
					timer = time.NewTimer(0)
					<-timer.C
				}
				timer.Reset(time.Duration(due - time.Now().UnixNano()))
				fire = timer.C
			}
			select {
			case <-stop:
				return
			case <-changed:
			case <-fire:
			}
			continue
		case errors.As(err, &ce):
			s.setAsideCorrupt(ce)
			r.Skip(ce)
			continue
		case err != nil:
			s.logger.Error("Could not read the spool; will try again", zap.String("directory", s.dir), zap.Error(err))
			if !sleep(stop, time.Second) {
				return
			}
			r.Close()
			r = s.log.NewReader(r.Seq())
			continue
		}
		if !g.step(stop, rec) {
			return
		}
	}
}

// nextDue is the log time at which something waits to happen: the oldest
// pending trace's release, or the outbox's delivery.
func (g *traceGrouper) nextDue() (int64, bool) {
	due, ok := int64(0), false
	if len(g.queue) > 0 {
		due, ok = g.queue[0].firstTime+g.wait, true
	}
	if len(g.outbox) > 0 {
		d := g.outTime + int64(g.s.cfg.Batch.FlushTimeout)
		if !ok || d < due {
			due, ok = d, true
		}
	}
	return due, ok
}

// step takes one record: releases the traces whose time is up, gathers
// the record's spans, and delivers the outbox when it is due. It returns
// false when stop closes during a delivery.
func (g *traceGrouper) step(stop <-chan struct{}, rec spoollog.Record) bool {
	s := g.s
	for len(g.queue) > 0 && g.queue[0].firstTime+g.wait <= rec.Time {
		g.release(rec.Time)
	}
	if rec.Kind == spoollog.KindData {
		td, err := s.codec.unmarshal(rec.Data)
		if err != nil {
			s.deadLetter(context.Background(), fmt.Sprintf("r%d", rec.Seq), rec.Seq, "undecodable", rec.Data, fmt.Errorf("the spooled request does not decode: %w", err))
		} else {
			g.gather(rec, td)
		}
	}
	gb := s.cfg.GroupByTrace
	for len(g.queue) > 0 && (len(g.queue) > gb.MaxTraces || g.spans > gb.MaxSpans) {
		g.release(rec.Time)
	}
	if rec.Seq < g.st.Delivered {
		// Read again after a restart: what was released up to here was
		// delivered before (the outbox was empty after the last delivery,
		// at record Delivered-1).
		if rec.Seq == g.st.Delivered-1 {
			g.outbox, g.outSpan = nil, 0
		}
		return true
	}
	if len(g.outbox) > 0 && (g.outSpan >= s.cfg.Batch.MinSize || rec.Time-g.outTime >= int64(s.cfg.Batch.FlushTimeout)) {
		return g.flush(stop, rec.Seq)
	}
	return true
}

// gather adds a record's spans to their traces.
func (g *traceGrouper) gather(rec spoollog.Record, td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		for j := range rs.ScopeSpans().Len() {
			ss := rs.ScopeSpans().At(j)
			// Where this scope's spans go in each trace they belong to.
			dest := map[*traceGroup]ptrace.SpanSlice{}
			spans := ss.Spans()
			for k := range spans.Len() {
				sp := spans.At(k)
				tg := g.pending[sp.TraceID()]
				if tg == nil {
					tg = &traceGroup{id: sp.TraceID(), firstSeq: rec.Seq, firstTime: rec.Time, td: ptrace.NewTraces()}
					g.pending[tg.id] = tg
					g.queue = append(g.queue, tg)
				}
				out, ok := dest[tg]
				if !ok {
					nrs := tg.td.ResourceSpans().AppendEmpty()
					rs.Resource().CopyTo(nrs.Resource())
					nrs.SetSchemaUrl(rs.SchemaUrl())
					nss := nrs.ScopeSpans().AppendEmpty()
					ss.Scope().CopyTo(nss.Scope())
					nss.SetSchemaUrl(ss.SchemaUrl())
					out = nss.Spans()
					dest[tg] = out
				}
				sp.CopyTo(out.AppendEmpty())
				tg.lastSeq = rec.Seq
				tg.spans++
				g.spans++
			}
		}
	}
}

// release moves the oldest pending trace to the outbox.
func (g *traceGrouper) release(now int64) {
	tg := g.queue[0]
	g.queue[0] = nil
	g.queue = g.queue[1:]
	delete(g.pending, tg.id)
	g.spans -= tg.spans
	if len(g.outbox) == 0 {
		g.outTime = now
	}
	g.outbox = append(g.outbox, tg)
	g.outSpan += tg.spans
	g.recent = append(g.recent, recordRange{tg.firstSeq, tg.lastSeq})
}

// flush delivers the outbox, released at record seq, in chunks of at most
// max_size spans, unless an earlier run delivered it already; then saves
// where to read from again.
func (g *traceGrouper) flush(stop <-chan struct{}, seq uint64) bool {
	s := g.s
	out := g.outbox
	g.outbox, g.outSpan = nil, 0
	var chunk []*traceGroup
	n, k := 0, 0
	for i, tg := range out {
		chunk = append(chunk, tg)
		n += tg.spans
		if i == len(out)-1 || n+out[i+1].spans > s.cfg.Batch.MaxSize {
			if !g.deliverChunk(stop, seq, k, chunk, n) {
				return false // not delivered, not saved: sent again after a restart
			}
			chunk, n = nil, 0
			k++
		}
	}
	from := seq + 1
	if len(g.queue) > 0 {
		from = g.queue[0].firstSeq
	}
	from = g.replayFrom(from)
	g.mu.Lock()
	g.st.Delivered = seq + 1
	g.st.Isolated = nil
	g.st.From = from
	b, err := json.Marshal(g.st)
	g.mu.Unlock()
	if err == nil {
		err = s.log.SaveState(groupStateName, b)
	}
	if err != nil {
		s.logger.Warn("Could not save the trace grouping position", zap.String("directory", s.dir), zap.Error(err))
	}
	s.trim()
	return true
}

// deliverChunk hands a chunk of traces to every grouped pipeline.
func (g *traceGrouper) deliverChunk(stop <-chan struct{}, seq uint64, k int, chunk []*traceGroup, spans int) bool {
	s := g.s
	td := ptrace.NewTraces()
	for _, tg := range chunk {
		tg.td.ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	}
	for _, t := range s.groupedTargets {
		name := fmt.Sprintf("%d.%d/%s", seq, k, t.id)
		g.mu.Lock()
		isolated := contains(g.st.Isolated, name)
		g.mu.Unlock()
		if !isolated {
			ok, apart := s.deliverWhole(stop, t, s.token(t, fmt.Sprintf("g%d.%d", seq, k)), td, spans, seq, seq)
			if ok {
				continue
			}
			if !apart {
				return false
			}
			g.isolate(name)
		}
		if !s.isolate(stop, t, traceUnits(td, seq, k)) {
			return false
		}
	}
	return true
}

// replayFrom moves from back until no trace released lately started before
// it and had spans at or after it, so that reading again from there
// gathers every trace it meets whole, as the first reading did; it forgets
// the traces that no longer matter.
func (g *traceGrouper) replayFrom(from uint64) uint64 {
	for moved := true; moved; {
		moved = false
		for _, r := range g.recent {
			if r.last >= from && r.first < from {
				from, moved = r.first, true
			}
		}
	}
	kept := g.recent[:0]
	for _, r := range g.recent {
		if r.last >= from {
			kept = append(kept, r)
		}
	}
	clear(g.recent[len(kept):])
	g.recent = kept
	return from
}

func (g *traceGrouper) isolate(name string) {
	g.mu.Lock()
	g.st.Isolated = append(g.st.Isolated, name)
	b, err := json.Marshal(g.st)
	g.mu.Unlock()
	if err == nil {
		err = g.s.log.SaveState(groupStateName, b)
	}
	if err != nil {
		g.s.logger.Warn("Could not save the trace grouping position", zap.String("directory", g.s.dir), zap.Error(err))
	}
}

// traceUnits takes a chunk apart into its traces.
func traceUnits(td ptrace.Traces, seq uint64, k int) []unit[ptrace.Traces] {
	byTrace := map[pcommon.TraceID]ptrace.Traces{}
	var order []pcommon.TraceID
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		// Each resource of a gathered trace holds spans of that trace only.
		if rs.ScopeSpans().Len() == 0 || rs.ScopeSpans().At(0).Spans().Len() == 0 {
			continue
		}
		id := rs.ScopeSpans().At(0).Spans().At(0).TraceID()
		one, ok := byTrace[id]
		if !ok {
			one = ptrace.NewTraces()
			byTrace[id] = one
			order = append(order, id)
		}
		rs.CopyTo(one.ResourceSpans().AppendEmpty())
	}
	units := make([]unit[ptrace.Traces], len(order))
	for i, id := range order {
		one := byTrace[id]
		raw, _ := tracesCodec.marshal(one)
		units[i] = unit[ptrace.Traces]{key: fmt.Sprintf("g%d.%d.%s", seq, k, id), seq: seq, raw: raw,
			decode: func() (ptrace.Traces, error) { c := ptrace.NewTraces(); one.CopyTo(c); return c, nil }}
	}
	return units
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
