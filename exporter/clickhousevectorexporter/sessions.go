package clickhousevectorexporter

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
)

// Browser sessions: the session logs the rrweb receiver emits (scope
// rum.rr-web, rr-web.* attributes) become session_replay_events rows, one
// per rrweb event, and roll up into otel_sessions, one row per session
// rewritten with a higher Version on every change (ReplacingMergeTree).
// Browser spans carrying rum.sessionId add their trace ids to the session.

const (
	maxSessionTraceIDs = 1000 // newest kept
	maxSessionEvents   = 500  // notable events (page views, errors, custom) kept, newest
	maxHeldSessions    = 50_000
	sessionIdle        = 30 * time.Minute
	chunkWait          = 10 * time.Minute // how long the first chunks of an event wait for the rest
	maxPendingEvents   = 1000             // chunked events waiting for their other chunks
	maxChunks          = 1024             // chunks of one event (~950 MiB): more is not an rrweb event
)

// sessionStore holds the sessions an exporter is keeping up to date. The
// logs and traces writers of one exporter share it (they are built from
// the same *Config), so both kinds of update land in one row version.
type sessionStore struct {
	mu          sync.Mutex // held across computing and inserting otel_sessions rows
	sessions    map[string]*sessionState
	pending     map[chunkKey]*pendingEvent
	lastVersion uint64
}

type chunkKey struct {
	session string
	event   int64
}

type pendingEvent struct {
	chunks  []string
	have    int
	started time.Time
}

type sessionState struct {
	id, userID, service, userAgent string
	start, end                     time.Time
	pageViews, errorCount          uint32
	lastHref                       string
	events                         []sessionEvent
	traceIDs                       []string
	touched                        time.Time
}

type sessionEvent struct {
	ts    time.Time
	kind  string
	name  string
	attrs map[string]string
}

var (
	storesMu sync.Mutex
	stores   = map[*Config]*sessionStore{}
)

func (w *writer) sessionStore() *sessionStore {
	storesMu.Lock()
	defer storesMu.Unlock()
	s, ok := stores[w.cfg]
	if !ok {
		s = &sessionStore{sessions: map[string]*sessionState{}, pending: map[chunkKey]*pendingEvent{}}
		stores[w.cfg] = s
	}
	return s
}

// replayEvent is one whole rrweb event of a session.
type replayEvent struct {
	session string
	seq     int64
	ts      time.Time
	body    string
	kind    string
	parsed  rrweb.Event
	ok      bool // body parsed as an rrweb event
}

// sessionBatch is what one batch of logs or traces says about sessions.
type sessionBatch struct {
	events []replayEvent
	info   map[string]*sessionInfo
}

type sessionInfo struct {
	service, userID, userAgent string
	traceIDs                   []string
	spanStart, spanEnd         time.Time
}

func (b *sessionBatch) sessionInfo(id string) *sessionInfo {
	if b.info == nil {
		b.info = map[string]*sessionInfo{}
	}
	si, ok := b.info[id]
	if !ok {
		si = &sessionInfo{}
		b.info[id] = si
	}
	return si
}

// describe takes what a session's resource says: service, user, browser,
// and the trace ids a plain rrweb batch listed.
func (b *sessionBatch) describe(id string, r pcommon.Resource) {
	res := r.Attributes()
	si := b.sessionInfo(id)
	if v := serviceName(r); v != "" {
		si.service = v
	}
	if v := firstAttr(res, rrweb.ResourceUserID, "enduser.id", "userId"); v != "" {
		si.userID = v
	}
	if v := firstAttr(res, rrweb.ResourceUserAgent, "browser.user_agent", "http.user_agent"); v != "" {
		si.userAgent = v
	}
	if v, ok := res.Get(rrweb.ResourceTraceIDs); ok && v.Type() == pcommon.ValueTypeSlice {
		for n := 0; n < v.Slice().Len(); n++ {
			if t := strings.ToLower(v.Slice().At(n).AsString()); rrweb.IsTraceID(t) {
				si.traceIDs = append(si.traceIDs, t)
			}
		}
	}
}

func isSessionScope(sl plog.ScopeLogs) bool {
	if sl.Scope().Name() == rrweb.ScopeName {
		return true
	}
	recs := sl.LogRecords()
	for i := 0; i < recs.Len(); i++ {
		if _, ok := recs.At(i).Attributes().Get(rrweb.AttrEvent); ok {
			return true
		}
	}
	return false
}

// pushSessionLogs writes the session logs of a batch; batches without any
// return at once.
func (w *writer) pushSessionLogs(ctx context.Context, ld plog.Logs) error {
	var found bool
	for i := 0; i < ld.ResourceLogs().Len() && !found; i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len() && !found; j++ {
			found = isSessionScope(sls.At(j))
		}
	}
	if !found {
		return nil
	}
	store := w.sessionStore()
	batch := store.collect(ld)
	if len(batch.events) > 0 {
		if err := w.insertReplayEvents(ctx, batch.events); err != nil {
			return err
		}
	}
	return w.updateSessions(ctx, store, batch)
}

// collect reads the batch's session records, joining chunked events whose
// chunks have all arrived (here or in earlier batches).
func (s *sessionStore) collect(ld plog.Logs) sessionBatch {
	var b sessionBatch
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		rl := ld.ResourceLogs().At(i)
		res := rl.Resource().Attributes()
		session := attrStr(res, rrweb.ResourceSessionID)
		described := map[string]bool{}
		for j := 0; j < rl.ScopeLogs().Len(); j++ {
			sl := rl.ScopeLogs().At(j)
			scoped := sl.Scope().Name() == rrweb.ScopeName
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				attrs := lr.Attributes()
				if _, ok := attrs.Get(rrweb.AttrEvent); !ok && !scoped {
					continue
				}
				id := session
				if id == "" {
					id = attrStr(attrs, rrweb.ResourceSessionID)
				}
				if id == "" {
					continue
				}
				if !described[id] {
					described[id] = true
					b.describe(id, rl.Resource())
				}
				seq, _ := rrweb.ParseNumber(attrStr(attrs, rrweb.AttrEvent))
				chunk, okc := rrweb.ParseNumber(attrStr(attrs, rrweb.AttrChunk))
				total, okt := rrweb.ParseNumber(attrStr(attrs, rrweb.AttrTotalChunks))
				body := lr.Body().AsString()
				if okc && okt && total > 1 && chunk >= 1 && chunk <= total && total <= maxChunks {
					key := chunkKey{id, seq}
					p := s.pending[key]
					if p == nil && len(s.pending) >= maxPendingEvents {
						s.dropOldestPending()
					}
					if p == nil || len(p.chunks) != int(total) {
						p = &pendingEvent{chunks: make([]string, total), started: now}
						s.pending[key] = p
					}
					if p.chunks[chunk-1] == "" {
						p.have++
					}
					p.chunks[chunk-1] = body
					if p.have < int(total) {
						continue
					}
					delete(s.pending, key)
					body = strings.Join(p.chunks, "")
				}
				ev := replayEvent{session: id, seq: seq, ts: logTime(lr), body: body, kind: rrweb.KindCustom}
				if e, err := rrweb.Parse([]byte(body)); err == nil {
					ev.parsed, ev.ok = e, true
					ev.kind = rrweb.Kind(e)
					ev.ts = time.UnixMilli(e.Timestamp).UTC()
				}
				b.events = append(b.events, ev)
			}
		}
	}
	for key, p := range s.pending {
		if now.Sub(p.started) > chunkWait {
			delete(s.pending, key)
		}
	}
	return b
}

// dropOldestPending gives up on the chunked event waiting longest. Caller
// holds s.mu.
func (s *sessionStore) dropOldestPending() {
	var oldest chunkKey
	var at time.Time
	for k, p := range s.pending {
		if at.IsZero() || p.started.Before(at) {
			oldest, at = k, p.started
		}
	}
	delete(s.pending, oldest)
}

func (w *writer) insertReplayEvents(ctx context.Context, events []replayEvent) error {
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO session_replay_events (SessionId, Timestamp, SequenceNumber, EventType, EventData)")
	if err != nil {
		return fmt.Errorf("prepare session replay insert: %w", err)
	}
	for _, e := range events {
		if err := batch.Append(e.session, e.ts, uint64(max(e.seq, 0)), e.kind, e.body); err != nil {
			return consumererror.NewPermanent(fmt.Errorf("session replay row: %w", err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d session replay events: %w", len(events), err)
	}
	return nil
}

// pushSessionTraces adds the trace ids of browser spans (resource or span
// attribute rum.sessionId) to their sessions.
func (w *writer) pushSessionTraces(ctx context.Context, td ptrace.Traces) error {
	var b sessionBatch
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		res := rs.Resource().Attributes()
		resSession := attrStr(res, rrweb.ResourceSessionID)
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				id := resSession
				if id == "" {
					id = attrStr(sp.Attributes(), rrweb.ResourceSessionID)
				}
				if id == "" || sp.TraceID().IsEmpty() {
					continue
				}
				b.describe(id, rs.Resource())
				si := b.sessionInfo(id)
				si.traceIDs = append(si.traceIDs, sp.TraceID().String())
				start, end := sp.StartTimestamp().AsTime(), sp.EndTimestamp().AsTime()
				if sp.StartTimestamp() != 0 && (si.spanStart.IsZero() || start.Before(si.spanStart)) {
					si.spanStart = start
				}
				if sp.EndTimestamp() != 0 && end.After(si.spanEnd) {
					si.spanEnd = end
				}
			}
		}
	}
	if len(b.info) == 0 {
		return nil
	}
	return w.updateSessions(ctx, w.sessionStore(), b)
}

// updateSessions folds a batch into its sessions and writes each changed
// session as a new row version. The new state is kept only once stored, so
// a retried batch is not counted twice.
func (w *writer) updateSessions(ctx context.Context, store *sessionStore, b sessionBatch) error {
	ids := map[string]bool{}
	for id := range b.info {
		ids[id] = true
	}
	for _, e := range b.events {
		ids[e.session] = true
	}
	if len(ids) == 0 {
		return nil
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	var missing []string
	for id := range ids {
		if _, ok := store.sessions[id]; !ok {
			missing = append(missing, id)
		}
	}
	loaded, err := w.loadSessions(ctx, missing)
	if err != nil {
		return err
	}
	updated := map[string]*sessionState{}
	for id := range ids {
		cur := store.sessions[id]
		if cur == nil {
			cur = loaded[id]
		}
		if cur == nil {
			cur = &sessionState{id: id}
		}
		updated[id] = cur.clone()
	}
	for id, si := range b.info {
		updated[id].applyInfo(si)
	}
	for _, e := range b.events {
		updated[e.session].applyEvent(e)
	}
	now := time.Now()
	version := max(uint64(now.UnixNano()), store.lastVersion+1)
	if err := w.insertSessions(ctx, updated, version); err != nil {
		return err
	}
	store.lastVersion = version
	for id, s := range updated {
		s.touched = now
		store.sessions[id] = s
	}
	store.evict(now)
	return nil
}

func (s *sessionState) clone() *sessionState {
	c := *s
	c.events = slices.Clone(s.events)
	c.traceIDs = slices.Clone(s.traceIDs)
	return &c
}

func (s *sessionState) widen(start, end time.Time) {
	if !start.IsZero() && (s.start.IsZero() || start.Before(s.start)) {
		s.start = start
	}
	if end.After(s.end) {
		s.end = end
	}
}

func (s *sessionState) addTraceID(id string) {
	if slices.Contains(s.traceIDs, id) {
		return
	}
	s.traceIDs = append(s.traceIDs, id)
	if n := len(s.traceIDs) - maxSessionTraceIDs; n > 0 {
		s.traceIDs = slices.Delete(s.traceIDs, 0, n)
	}
}

func (s *sessionState) addEvent(e sessionEvent) {
	s.events = append(s.events, e)
	if n := len(s.events) - maxSessionEvents; n > 0 {
		s.events = slices.Delete(s.events, 0, n)
	}
}

func (s *sessionState) applyInfo(si *sessionInfo) {
	if si.service != "" {
		s.service = si.service
	}
	if si.userID != "" {
		s.userID = si.userID
	}
	if si.userAgent != "" {
		s.userAgent = si.userAgent
	}
	for _, id := range si.traceIDs {
		s.addTraceID(id)
	}
	s.widen(si.spanStart, si.spanEnd)
}

func (s *sessionState) applyEvent(e replayEvent) {
	s.widen(e.ts, e.ts)
	if !e.ok {
		return
	}
	if href := e.parsed.Href(); href != "" && href != s.lastHref {
		s.lastHref = href
		s.pageViews++
		s.addEvent(sessionEvent{ts: e.ts, kind: "pageview", name: href})
	}
	n := rrweb.Inspect(e.parsed)
	for _, id := range n.TraceIDs {
		s.addTraceID(id)
	}
	switch {
	case n.Error:
		s.errorCount++
		s.addEvent(sessionEvent{ts: e.ts, kind: "error", name: n.Name, attrs: map[string]string{"event": fmt.Sprint(e.seq)}})
	case e.parsed.Type == rrweb.TypeCustom:
		s.addEvent(sessionEvent{ts: e.ts, kind: "custom", name: n.Name, attrs: map[string]string{"event": fmt.Sprint(e.seq)}})
	}
}

// evict forgets sessions idle for a while (a later batch reloads them from
// otel_sessions) and keeps the number held bounded. Caller holds s.mu.
func (s *sessionStore) evict(now time.Time) {
	if len(s.sessions) <= maxHeldSessions/2 {
		return
	}
	for id, st := range s.sessions {
		if now.Sub(st.touched) > sessionIdle {
			delete(s.sessions, id)
		}
	}
	if len(s.sessions) <= maxHeldSessions {
		return
	}
	all := make([]*sessionState, 0, len(s.sessions))
	for _, st := range s.sessions {
		all = append(all, st)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].touched.Before(all[j].touched) })
	for _, st := range all[:len(all)-maxHeldSessions/2] {
		delete(s.sessions, st.id)
	}
}

const sessionColumns = "SessionId, UserId, ServiceName, StartTime, EndTime, UserAgent, PageViews, " +
	"`Events.Timestamp`, `Events.Type`, `Events.Name`, `Events.Attributes`, ErrorCount, TraceIds"

// loadSessions reads the newest stored rows of sessions this exporter does
// not hold (after a restart, or written by another collector).
func (w *writer) loadSessions(ctx context.Context, ids []string) (map[string]*sessionState, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := w.conn.Query(ctx, "SELECT "+sessionColumns+" FROM otel_sessions FINAL WHERE SessionId IN (?)", ids)
	if err != nil {
		return nil, fmt.Errorf("read %d sessions from otel_sessions: %w", len(ids), err)
	}
	defer rows.Close()
	out := map[string]*sessionState{}
	for rows.Next() {
		var (
			s        sessionState
			evTS     []time.Time
			evType   []string
			evName   []string
			evAttrs  []map[string]string
			traceIDs []string
		)
		if err := rows.Scan(&s.id, &s.userID, &s.service, &s.start, &s.end, &s.userAgent, &s.pageViews,
			&evTS, &evType, &evName, &evAttrs, &s.errorCount, &traceIDs); err != nil {
			return nil, fmt.Errorf("read otel_sessions row: %w", err)
		}
		for i := range evTS {
			e := sessionEvent{ts: evTS[i]}
			if i < len(evType) {
				e.kind = evType[i]
			}
			if i < len(evName) {
				e.name = evName[i]
			}
			if i < len(evAttrs) {
				e.attrs = evAttrs[i]
			}
			if e.kind == "pageview" {
				s.lastHref = e.name
			}
			s.events = append(s.events, e)
		}
		s.traceIDs = traceIDs
		out[s.id] = &s
	}
	return out, rows.Err()
}

func (w *writer) insertSessions(ctx context.Context, sessions map[string]*sessionState, version uint64) error {
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO otel_sessions ("+sessionColumns+
		", Duration, DeviceType, OS, Browser, Country, City, Version)")
	if err != nil {
		return fmt.Errorf("prepare otel_sessions insert: %w", err)
	}
	ids := make([]string, 0, len(sessions))
	for id := range sessions {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if err := appendSession(batch, sessions[id], version); err != nil {
			return consumererror.NewPermanent(fmt.Errorf("otel_sessions row: %w", err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("update %d sessions in otel_sessions: %w", len(ids), err)
	}
	return nil
}

func appendSession(batch driver.Batch, s *sessionState, version uint64) error {
	start, end := s.start, s.end
	if start.IsZero() {
		start = time.Now()
	}
	if end.Before(start) {
		end = start
	}
	evTS := make([]time.Time, len(s.events))
	evType := make([]string, len(s.events))
	evName := make([]string, len(s.events))
	evAttrs := make([]map[string]string, len(s.events))
	for i, e := range s.events {
		evTS[i], evType[i], evName[i] = e.ts, e.kind, clip.String(e.name, 2048)
		evAttrs[i] = e.attrs
		if evAttrs[i] == nil {
			evAttrs[i] = map[string]string{}
		}
	}
	traceIDs := s.traceIDs
	if traceIDs == nil {
		traceIDs = []string{}
	}
	ua := parseUserAgent(s.userAgent)
	return batch.Append(s.id, s.userID, s.service, start, end, s.userAgent, s.pageViews,
		evTS, evType, evName, evAttrs, s.errorCount, traceIDs,
		end.Sub(start).Milliseconds(), ua.device, ua.os, ua.browser, "", "", version)
}

func firstAttr(m pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if v := attrStr(m, k); v != "" {
			return v
		}
	}
	return ""
}
