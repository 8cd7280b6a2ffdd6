package rrwebreceiver

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
)

// sessionCounters numbers the events (rr-web.event) and log records
// (rr-web.offset) of each session from 1, as HyperDX's recorder does in the
// browser, for senders that do not number them. Sessions idle for an hour
// are forgotten; numbering is per collector process.
type sessionCounters struct {
	mu       sync.Mutex
	sessions map[string]*sessionCounter
}

type sessionCounter struct {
	event, offset int64
	used          time.Time
}

const (
	maxCountedSessions = 100_000
	counterIdle        = time.Hour
)

func newSessionCounters() *sessionCounters {
	return &sessionCounters{sessions: map[string]*sessionCounter{}}
}

// reserve returns the session's next event and offset numbers and advances
// them by events and records.
func (c *sessionCounters) reserve(session string, events, records int) (firstEvent, firstOffset int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s := c.sessions[session]
	if s == nil {
		if len(c.sessions) >= maxCountedSessions {
			c.evict(now)
		}
		s = &sessionCounter{}
		c.sessions[session] = s
	}
	firstEvent, firstOffset = s.event+1, s.offset+1
	s.event += int64(events)
	s.offset += int64(records)
	s.used = now
	return firstEvent, firstOffset
}

// evict forgets idle sessions, or half of all when none is idle.
func (c *sessionCounters) evict(now time.Time) {
	for id, s := range c.sessions {
		if now.Sub(s.used) > counterIdle {
			delete(c.sessions, id)
		}
	}
	for id := range c.sessions {
		if len(c.sessions) < maxCountedSessions/2 {
			break
		}
		delete(c.sessions, id)
	}
}

// batchToLogs turns a plain rrweb batch into session logs, scrubbed of
// typed text.
func batchToLogs(b rrweb.Batch, counters *sessionCounters, scrubber *rrweb.Scrubber) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr(rrweb.ResourceService, b.ServiceName)
	res.PutStr(rrweb.ResourceSessionID, b.SessionID)
	if b.UserID != "" {
		res.PutStr(rrweb.ResourceUserID, b.UserID)
	}
	if b.UserAgent != "" {
		res.PutStr(rrweb.ResourceUserAgent, b.UserAgent)
	}
	if len(b.TraceIDs) > 0 {
		ids := res.PutEmptySlice(rrweb.ResourceTraceIDs)
		ids.EnsureCapacity(len(b.TraceIDs))
		for _, id := range b.TraceIDs {
			ids.AppendEmpty().SetStr(id)
		}
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(rrweb.ScopeName)

	bodies := make([][]string, len(b.Events))
	records := 0
	for i, e := range b.Events {
		raw, _ := scrubber.Scrub(b.SessionID, e)
		bodies[i] = rrweb.Chunks(string(raw), rrweb.MaxChunkBytes)
		records += len(bodies[i])
	}
	event, offset := counters.reserve(b.SessionID, len(b.Events), records)
	now := pcommon.NewTimestampFromTime(time.Now())
	sl.LogRecords().EnsureCapacity(records)
	for i, e := range b.Events {
		for c, body := range bodies[i] {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp(e.Timestamp * int64(time.Millisecond)))
			lr.SetObservedTimestamp(now)
			lr.Body().SetStr(body)
			putCounters(lr.Attributes(), offset, event, int64(c+1), int64(len(bodies[i])))
			offset++
		}
		event++
	}
	return ld
}

func putCounters(attrs pcommon.Map, offset, event, chunk, total int64) {
	attrs.PutStr(rrweb.AttrOffset, rrweb.Number(offset))
	attrs.PutStr(rrweb.AttrEvent, rrweb.Number(event))
	attrs.PutStr(rrweb.AttrChunk, rrweb.Number(chunk))
	attrs.PutStr(rrweb.AttrTotalChunks, rrweb.Number(total))
}

type normalizeOptions struct {
	userAgent  string
	maxRecords int
	counters   *sessionCounters
	scrubber   *rrweb.Scrubber
}

type normalized struct {
	logs     plog.Logs
	rejected int // records that are not session replay records
	// incomplete are chunks of events whose other chunks the request did
	// not hold: an event is scrubbed whole, so they are not stored.
	incomplete int
}

// pendingEvent gathers the chunks of one event within a request.
type pendingEvent struct {
	dst     plog.ScopeLogs
	session string
	where   string
	total   int64
	chunks  map[int64]plog.LogRecord
}

// Largest rr-web.total-chunks accepted: 1024 chunks of 950 KiB is far
// beyond any rrweb event.
const maxTotalChunks = 1024

// normalizeLogs turns the OTLP logs of a session recorder into session
// logs of the one shape HyperDX replays: rr-web.* as "1", "2", … strings,
// rum.sessionId on the resource, scope rum.rr-web, no severity, time from
// the event; events are checked to be rrweb events, scrubbed of typed text
// (the chunks of a large event put together first), and chunked if the
// sender did not. Records that are not session records, and chunks of
// events the request does not hold whole, are counted, not kept. Errors
// are the sender's.
func normalizeLogs(in plog.Logs, opt normalizeOptions) (normalized, error) {
	if opt.maxRecords > 0 && in.LogRecordCount() > opt.maxRecords {
		return normalized{}, &requestError{status: http.StatusRequestEntityTooLarge,
			msg: "the request holds " + rrweb.Number(int64(in.LogRecordCount())) + " log records, more than the " +
				rrweb.Number(int64(opt.maxRecords)) + " allowed (max_events_per_request): export smaller batches"}
	}
	out := normalized{logs: plog.NewLogs()}
	now := pcommon.NewTimestampFromTime(time.Now())
	scrubber := opt.scrubber
	if scrubber == nil {
		scrubber = rrweb.NewScrubber()
	}
	pending := map[string]*pendingEvent{}
	for i := 0; i < in.ResourceLogs().Len(); i++ {
		rl := in.ResourceLogs().At(i)
		resAttrs := rl.Resource().Attributes()
		resSession := attrString(resAttrs, rrweb.ResourceSessionID)
		service := attrString(resAttrs, rrweb.ResourceService)
		// One output resource per session the records name.
		bySession := map[string]plog.ScopeLogs{}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			scopeIsSession := sl.Scope().Name() == rrweb.ScopeName
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				_, hasEvent := lr.Attributes().Get(rrweb.AttrEvent)
				if !scopeIsSession && !hasEvent {
					out.rejected++
					continue
				}
				where := "resourceLogs[" + rrweb.Number(int64(i)) + "].scopeLogs[" + rrweb.Number(int64(j)) + "].logRecords[" + rrweb.Number(int64(k)) + "]"
				session := resSession
				if session == "" {
					session = attrString(lr.Attributes(), rrweb.ResourceSessionID)
				}
				if session == "" {
					session = attrString(lr.Attributes(), "session.id")
				}
				if session == "" {
					return normalized{}, badRequest("%s has no session id: set the resource attribute %s", where, rrweb.ResourceSessionID)
				}
				if err := rrweb.CheckID(rrweb.ResourceSessionID, session); err != nil {
					return normalized{}, badRequest("%s: %v", where, err)
				}
				if service == "" {
					return normalized{}, badRequest("resourceLogs[%d] has no %s: HyperDX finds sessions by service name", i, rrweb.ResourceService)
				}
				dst, ok := bySession[session]
				if !ok {
					orl := out.logs.ResourceLogs().AppendEmpty()
					orl.SetSchemaUrl(rl.SchemaUrl())
					resAttrs.CopyTo(orl.Resource().Attributes())
					orl.Resource().Attributes().PutStr(rrweb.ResourceSessionID, session)
					if opt.userAgent != "" && attrString(resAttrs, rrweb.ResourceUserAgent) == "" {
						orl.Resource().Attributes().PutStr(rrweb.ResourceUserAgent, opt.userAgent)
					}
					dst = orl.ScopeLogs().AppendEmpty()
					dst.Scope().SetName(rrweb.ScopeName)
					dst.Scope().SetVersion(sl.Scope().Version())
					bySession[session] = dst
				}
				chunk, total, err := chunkOf(lr.Attributes(), where)
				if err != nil {
					return normalized{}, err
				}
				if total == 1 {
					if err := appendSessionRecord(dst, lr, lr.Body().AsString(), session, where, now, opt.counters, scrubber); err != nil {
						return normalized{}, err
					}
					continue
				}
				key := session + "\x00" + attrString(lr.Attributes(), rrweb.AttrEvent)
				p := pending[key]
				if p == nil {
					p = &pendingEvent{dst: dst, session: session, where: where, total: total, chunks: map[int64]plog.LogRecord{}}
					pending[key] = p
				}
				if _, dup := p.chunks[chunk]; dup || p.total != total {
					return normalized{}, badRequest("%s: chunk %d of %d of event %s of session %s comes twice, or disagrees on the number of chunks",
						where, chunk, total, attrString(lr.Attributes(), rrweb.AttrEvent), session)
				}
				p.chunks[chunk] = lr
				if int64(len(p.chunks)) < p.total {
					continue
				}
				delete(pending, key)
				var body strings.Builder
				for c := int64(1); c <= p.total; c++ {
					body.WriteString(p.chunks[c].Body().AsString())
				}
				if err := appendSessionRecord(p.dst, p.chunks[1], body.String(), p.session, p.where, now, opt.counters, scrubber); err != nil {
					return normalized{}, err
				}
			}
		}
	}
	for _, p := range pending {
		out.incomplete += len(p.chunks)
	}
	return out, nil
}

// chunkOf reads a record's rr-web.chunk and rr-web.total-chunks (1 of 1
// when it has neither).
func chunkOf(attrs pcommon.Map, where string) (chunk, total int64, err error) {
	chunk, hasChunk := attrNumber(attrs, rrweb.AttrChunk)
	total, hasTotal := attrNumber(attrs, rrweb.AttrTotalChunks)
	if !hasChunk && !hasTotal {
		return 1, 1, nil
	}
	if total < 1 || total > maxTotalChunks || chunk < 1 || chunk > total {
		return 0, 0, badRequest("%s: %s %s of %s %s is not a chunk number", where, rrweb.AttrChunk, attrString(attrs, rrweb.AttrChunk), rrweb.AttrTotalChunks, attrString(attrs, rrweb.AttrTotalChunks))
	}
	return chunk, total, nil
}

// appendSessionRecord appends one whole event (body) as session logs: lr
// is its record (its first chunk's, when the sender chunked it).
func appendSessionRecord(dst plog.ScopeLogs, lr plog.LogRecord, body, session, where string, now pcommon.Timestamp, counters *sessionCounters, scrubber *rrweb.Scrubber) error {
	attrs := lr.Attributes()
	ts := lr.Timestamp()
	e, err := rrweb.Parse([]byte(body))
	if err != nil {
		return badRequest("%s: the body is not an rrweb event: %v", where, err)
	}
	raw, _ := scrubber.Scrub(session, e)
	bodies := rrweb.Chunks(string(raw), rrweb.MaxChunkBytes)
	if ts == 0 {
		ts = pcommon.Timestamp(e.Timestamp * int64(time.Millisecond))
	}
	if ts == 0 {
		ts = lr.ObservedTimestamp()
	}
	event, hasEvent := attrNumber(attrs, rrweb.AttrEvent)
	offset, hasOffset := attrNumber(attrs, rrweb.AttrOffset)
	if !hasEvent || !hasOffset {
		e, o := counters.reserve(session, 1, len(bodies))
		if !hasEvent {
			event = e
		}
		if !hasOffset {
			offset = o
		}
	}
	for c, b := range bodies {
		out := dst.LogRecords().AppendEmpty()
		attrs.CopyTo(out.Attributes())
		out.Attributes().Remove(rrweb.ResourceSessionID)
		out.Attributes().Remove("session.id")
		out.SetTimestamp(ts)
		obs := lr.ObservedTimestamp()
		if obs == 0 {
			obs = now
		}
		out.SetObservedTimestamp(obs)
		out.SetTraceID(lr.TraceID())
		out.SetSpanID(lr.SpanID())
		out.SetFlags(lr.Flags())
		out.Body().SetStr(b)
		putCounters(out.Attributes(), offset+int64(c), event, int64(c+1), int64(len(bodies)))
	}
	return nil
}

func attrString(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

func attrNumber(m pcommon.Map, key string) (int64, bool) {
	v, ok := m.Get(key)
	if !ok {
		return 0, false
	}
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return rrweb.ParseNumber(v.AsString())
}
