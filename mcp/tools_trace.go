package mcp

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// GetTraceInput names the trace.
type GetTraceInput struct {
	TraceID  string `json:"trace_id" jsonschema:"the trace id, 32 hex digits"`
	MaxSpans int    `json:"max_spans,omitempty" jsonschema:"spans to return at most, 1-1000 (default 300)"`
}

// GetTraceOutput is the span tree of a trace with each span's logs.
type GetTraceOutput struct {
	TraceID    string      `json:"trace_id"`
	Start      time.Time   `json:"start"`
	DurationMs float64     `json:"duration_ms"`
	SpanCount  int         `json:"span_count"`
	ErrorCount int         `json:"error_count"`
	Services   []string    `json:"services"`
	Tree       string      `json:"tree"`
	Spans      []TraceSpan `json:"spans"`
	TraceLogs  []SpanLog   `json:"trace_logs,omitempty"`
	Truncated  bool        `json:"truncated"`
	Notice     string      `json:"notice,omitempty"`
}

// TraceSpan is one span, in depth-first order.
type TraceSpan struct {
	SpanID        string            `json:"span_id"`
	ParentSpanID  string            `json:"parent_span_id,omitempty"`
	Depth         int               `json:"depth"`
	Service       string            `json:"service"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	OffsetMs      float64           `json:"offset_ms"`
	DurationMs    float64           `json:"duration_ms"`
	Status        string            `json:"status"`
	StatusMessage string            `json:"status_message,omitempty"`
	Attributes    map[string]string `json:"attributes,omitempty"`
	Events        []SpanEvent       `json:"events,omitempty"`
	Logs          []SpanLog         `json:"logs,omitempty"`
}

// SpanEvent is a span event (exceptions, retries).
type SpanEvent struct {
	Name       string            `json:"name"`
	OffsetMs   float64           `json:"offset_ms"`
	Attributes map[string]string `json:"attributes,omitempty"`
}

// SpanLog is a log record of the trace.
type SpanLog struct {
	OffsetMs float64 `json:"offset_ms"`
	Severity string  `json:"severity"`
	Body     string  `json:"body"`
	SpanID   string  `json:"span_id,omitempty"`
}

type spanRow struct {
	Timestamp  time.Time           `ch:"Timestamp"`
	SpanID     string              `ch:"SpanId"`
	ParentID   string              `ch:"ParentSpanId"`
	Service    string              `ch:"ServiceName"`
	Name       string              `ch:"SpanName"`
	Kind       string              `ch:"SpanKind"`
	Duration   uint64              `ch:"Duration"`
	Status     string              `ch:"StatusCode"`
	Message    string              `ch:"StatusMessage"`
	Attributes map[string]string   `ch:"SpanAttributes"`
	EvTimes    []time.Time         `ch:"ev_ts"`
	EvNames    []string            `ch:"ev_name"`
	EvAttrs    []map[string]string `ch:"ev_attrs"`
}

// traceRange finds a trace's time range from the trace-id lookup table the
// contrib exporter maintains, so that the span query reads few parts.
func (s *Server) traceRange(ctx context.Context, id string) (time.Time, time.Time, bool, error) {
	var r []struct {
		N     uint64    `ch:"n"`
		Start time.Time `ch:"s"`
		End   time.Time `ch:"e"`
	}
	err := s.db.selectInto(ctx, &r, "SELECT count() AS n, min(Start) AS s, max(End) AS e FROM otel_traces_trace_id_ts WHERE TraceId = {id:String}", params{}.str("id", id))
	if err != nil || len(r) == 0 || r[0].N == 0 {
		return time.Time{}, time.Time{}, false, nil //nolint:nilerr // without the lookup table the span query scans by trace id alone
	}
	return r[0].Start.Add(-time.Second), r[0].End.Add(2 * time.Second), true, nil
}

func (s *Server) getTrace(ctx context.Context, _ *sdk.CallToolRequest, in GetTraceInput) (*sdk.CallToolResult, GetTraceOutput, error) {
	var out GetTraceOutput
	id, err := normTraceID(in.TraceID)
	if err != nil {
		return nil, out, err
	}
	out.TraceID = id
	limit := clampInt(in.MaxSpans, 300, 1, 1000)
	from, to, ok, err := s.traceRange(ctx, id)
	if err != nil {
		return nil, out, err
	}
	if !ok {
		from, to = time.Unix(0, 0), s.now().Add(time.Hour)
	}
	p := params{}.str("id", id).time("from", from).time("to", to).int("n", limit+1)
	var rows []spanRow
	if err := s.db.selectInto(ctx, &rows, `SELECT Timestamp, SpanId, ParentSpanId, ServiceName, SpanName, SpanKind, Duration, StatusCode, StatusMessage,
		SpanAttributes, Events.Timestamp AS ev_ts, Events.Name AS ev_name, Events.Attributes AS ev_attrs
		FROM otel_traces WHERE TraceId = {id:String} AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		ORDER BY Timestamp, SpanId LIMIT {n:UInt32}`, p); err != nil {
		return nil, out, err
	}
	if len(rows) == 0 {
		return nil, out, userErrorf("trace %s is not in otel_traces: it may be older than the retention, not yet flushed (the collector batches for a few seconds), or mistyped; find_similar_errors and detect_anomalous_traces return trace ids that exist", id)
	}
	if len(rows) > limit {
		rows = rows[:limit]
		out.Truncated = true
		out.Notice = fmt.Sprintf("the trace has more than %d spans; only the first %d by start time are shown (raise max_spans up to 1000)", limit, limit)
	}
	var logs []struct {
		Timestamp time.Time `ch:"Timestamp"`
		SpanID    string    `ch:"SpanId"`
		Severity  string    `ch:"SeverityText"`
		Body      string    `ch:"Body"`
	}
	lp := params{}.str("id", id).time("from", rows[0].Timestamp.Add(-time.Minute)).time("to", to.Add(time.Minute))
	if err := s.db.selectInto(ctx, &logs, `SELECT Timestamp, SpanId, SeverityText, Body FROM otel_logs
		WHERE TraceId = {id:String} AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		ORDER BY Timestamp LIMIT 500`, lp); err != nil {
		return nil, out, err
	}

	start := rows[0].Timestamp
	end := start
	for _, r := range rows {
		if e := r.Timestamp.Add(time.Duration(r.Duration)); e.After(end) {
			end = e
		}
	}
	offset := func(t time.Time) float64 { return round3(float64(t.Sub(start)) / 1e6) }
	byID := map[string]int{}
	for i, r := range rows {
		byID[r.SpanID] = i
	}
	logsBySpan := map[string][]SpanLog{}
	for _, l := range logs {
		sl := SpanLog{OffsetMs: offset(l.Timestamp), Severity: l.Severity, Body: truncate(l.Body, 2000)}
		if _, ok := byID[l.SpanID]; ok {
			logsBySpan[l.SpanID] = append(logsBySpan[l.SpanID], sl)
		} else {
			sl.SpanID = l.SpanID
			out.TraceLogs = append(out.TraceLogs, sl)
		}
	}
	children := map[string][]int{}
	var roots []int
	for i, r := range rows {
		if _, ok := byID[r.ParentID]; ok && r.ParentID != r.SpanID {
			children[r.ParentID] = append(children[r.ParentID], i)
		} else {
			roots = append(roots, i)
		}
	}
	services := map[string]bool{}
	var tree strings.Builder
	visited := make([]bool, len(rows))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if visited[i] {
			return
		}
		visited[i] = true
		r := rows[i]
		services[r.Service] = true
		ts := TraceSpan{SpanID: r.SpanID, ParentSpanID: r.ParentID, Depth: depth, Service: r.Service, Name: r.Name, Kind: r.Kind,
			OffsetMs: offset(r.Timestamp), DurationMs: round3(float64(r.Duration) / 1e6), Status: r.Status,
			StatusMessage: truncate(r.Message, 1000), Attributes: capAttrs(r.Attributes, 30), Logs: logsBySpan[r.SpanID]}
		for j := range r.EvNames {
			ev := SpanEvent{Name: r.EvNames[j]}
			if j < len(r.EvTimes) {
				ev.OffsetMs = offset(r.EvTimes[j])
			}
			if j < len(r.EvAttrs) {
				ev.Attributes = capAttrs(r.EvAttrs[j], 10)
			}
			ts.Events = append(ts.Events, ev)
		}
		if isErrorStatus(r.Status) {
			out.ErrorCount++
		}
		out.Spans = append(out.Spans, ts)
		fmt.Fprintf(&tree, "%s%s %s [%s] +%.1fms %.1fms", strings.Repeat("  ", depth), r.Service, r.Name, kindShort(r.Kind), ts.OffsetMs, ts.DurationMs)
		if isErrorStatus(r.Status) {
			tree.WriteString(" ERROR")
			if r.Message != "" {
				fmt.Fprintf(&tree, ": %s", truncate(r.Message, 160))
			}
		}
		if n := len(ts.Logs); n > 0 {
			fmt.Fprintf(&tree, " (%d logs)", n)
		}
		tree.WriteByte('\n')
		for _, c := range children[r.SpanID] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	out.Start = start.UTC()
	out.DurationMs = round3(float64(end.Sub(start)) / 1e6)
	out.SpanCount = len(out.Spans)
	out.Services = slices.Sorted(maps.Keys(services))
	out.Tree = tree.String()
	return nil, out, nil
}

func isErrorStatus(s string) bool { return s == "Error" || s == "STATUS_CODE_ERROR" }

func kindShort(k string) string {
	k = strings.TrimPrefix(k, "SPAN_KIND_")
	return strings.ToLower(cmp.Or(k, "unspecified"))
}

func capAttrs(m map[string]string, n int) map[string]string {
	if len(m) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(m))
	out := make(map[string]string, min(n, len(keys)))
	for _, k := range keys[:min(n, len(keys))] {
		out[k] = truncate(m[k], 500)
	}
	return out
}

// GetSessionInput names a trace or a session.
type GetSessionInput struct {
	TraceID   string `json:"trace_id,omitempty" jsonschema:"find the browser session that produced this trace"`
	SessionID string `json:"session_id,omitempty" jsonschema:"or the session id (rum.sessionId) itself"`
}

// GetSessionOutput is the session and where its replay is.
type GetSessionOutput struct {
	Session *SessionInfo  `json:"session,omitempty"`
	Story   *SessionStory `json:"story,omitempty"`
	Replay  ReplayPointer `json:"replay"`
	Notice  string        `json:"notice,omitempty"`
}

// SessionInfo is an otel_sessions row.
type SessionInfo struct {
	SessionID    string         `json:"session_id"`
	UserID       string         `json:"user_id,omitempty"`
	Service      string         `json:"service"`
	Start        time.Time      `json:"start"`
	End          time.Time      `json:"end"`
	DurationMs   int64          `json:"duration_ms"`
	UserAgent    string         `json:"user_agent,omitempty"`
	Browser      string         `json:"browser,omitempty"`
	OS           string         `json:"os,omitempty"`
	DeviceType   string         `json:"device_type,omitempty"`
	Country      string         `json:"country,omitempty"`
	City         string         `json:"city,omitempty"`
	PageViews    uint32         `json:"page_views"`
	ErrorCount   uint32         `json:"error_count"`
	TraceCount   int            `json:"trace_count"`
	TraceIDs     []string       `json:"trace_ids"`
	RecentEvents []SessionEvent `json:"recent_events,omitempty"`
}

// SessionEvent is one of a session's last events.
type SessionEvent struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	Name string    `json:"name,omitempty"`
}

// ReplayPointer says where the session's recording is and how to play it.
type ReplayPointer struct {
	Available    bool       `json:"available"`
	SessionID    string     `json:"session_id,omitempty"`
	Table        string     `json:"table"`
	Service      string     `json:"service,omitempty"`
	Events       uint64     `json:"events"`
	FirstEvent   *time.Time `json:"first_event,omitempty"`
	LastEvent    *time.Time `json:"last_event,omitempty"`
	ReplayEvents uint64     `json:"session_replay_events"`
	HowToWatch   string     `json:"how_to_watch"`
	// HyperDXURL opens the replay in HyperDX's Client Sessions page.
	HyperDXURL string `json:"hyperdx_url,omitempty"`
	Query      string `json:"query,omitempty"`
}

func (s *Server) getSession(ctx context.Context, _ *sdk.CallToolRequest, in GetSessionInput) (*sdk.CallToolResult, GetSessionOutput, error) {
	var out GetSessionOutput
	out.Replay.Table = "hyperdx_sessions"
	traceID, sid := strings.TrimSpace(in.TraceID), strings.TrimSpace(in.SessionID)
	switch {
	case traceID == "" && sid == "":
		return nil, out, userErrorf("give trace_id (a trace of the session) or session_id")
	case traceID != "":
		id, err := normTraceID(traceID)
		if err != nil {
			return nil, out, err
		}
		traceID = id
	}
	if len(sid) > 256 {
		return nil, out, userErrorf("session_id is too long to be a session id")
	}
	var rows []struct {
		SessionID  string      `ch:"SessionId"`
		UserID     string      `ch:"UserId"`
		Service    string      `ch:"ServiceName"`
		Start      time.Time   `ch:"StartTime"`
		End        time.Time   `ch:"EndTime"`
		Duration   int64       `ch:"Duration"`
		UserAgent  string      `ch:"UserAgent"`
		DeviceType string      `ch:"DeviceType"`
		OS         string      `ch:"OS"`
		Browser    string      `ch:"Browser"`
		Country    string      `ch:"Country"`
		City       string      `ch:"City"`
		PageViews  uint32      `ch:"PageViews"`
		ErrorCount uint32      `ch:"ErrorCount"`
		TraceIDs   []string    `ch:"TraceIds"`
		EvTimes    []time.Time `ch:"ev_ts"`
		EvTypes    []string    `ch:"ev_type"`
		EvNames    []string    `ch:"ev_name"`
	}
	p := params{}.str("trace", traceID).str("sid", sid)
	if err := s.db.selectInto(ctx, &rows, `SELECT SessionId, UserId, ServiceName, StartTime, EndTime, Duration, UserAgent, DeviceType, OS, Browser,
		Country, City, PageViews, ErrorCount, TraceIds,
		arraySlice(Events.Timestamp, -20) AS ev_ts, arraySlice(Events.Type, -20) AS ev_type, arraySlice(Events.Name, -20) AS ev_name
		FROM otel_sessions FINAL
		WHERE if({sid:String} != '', SessionId = {sid:String}, has(TraceIds, {trace:String}))
		ORDER BY EndTime DESC LIMIT 1`, p); err != nil {
		return nil, out, err
	}
	var from, to time.Time
	var traceIDs []string
	var browser string
	if len(rows) == 1 {
		r := rows[0]
		traceIDs, browser = r.TraceIDs, r.Service
		sid = r.SessionID
		si := &SessionInfo{SessionID: r.SessionID, UserID: r.UserID, Service: r.Service, Start: r.Start.UTC(), End: r.End.UTC(),
			DurationMs: r.Duration, UserAgent: r.UserAgent, Browser: r.Browser, OS: r.OS, DeviceType: r.DeviceType,
			Country: r.Country, City: r.City, PageViews: r.PageViews, ErrorCount: r.ErrorCount,
			TraceCount: len(r.TraceIDs), TraceIDs: lastN(r.TraceIDs, 20)}
		for i := range r.EvTimes {
			ev := SessionEvent{Time: r.EvTimes[i].UTC()}
			if i < len(r.EvTypes) {
				ev.Type = r.EvTypes[i]
			}
			if i < len(r.EvNames) {
				ev.Name = truncate(r.EvNames[i], 200)
			}
			si.RecentEvents = append(si.RecentEvents, ev)
		}
		out.Session = si
		from, to = r.Start.Add(-time.Hour), r.End.Add(time.Hour)
	} else if sid == "" {
		// No session row (yet): the browser's spans carry the session id.
		var ids []struct {
			SID string `ch:"sid"`
		}
		if err := s.db.selectInto(ctx, &ids, `SELECT ResourceAttributes['rum.sessionId'] AS sid FROM otel_traces
			WHERE TraceId = {trace:String} AND ResourceAttributes['rum.sessionId'] != '' LIMIT 1`, p); err != nil {
			return nil, out, err
		}
		if len(ids) == 0 {
			out.Replay.HowToWatch = "no browser session is linked to this trace: it did not start in an instrumented browser (no rum.sessionId on its spans)"
			out.Notice = "no session found for trace " + traceID + ": it was probably started by a backend client or the load generator, not a recorded browser"
			return nil, out, nil
		}
		sid = ids[0].SID
	}
	out.Replay.SessionID = sid
	if from.IsZero() {
		from, to = time.Unix(0, 0), s.now().Add(time.Hour)
	}
	var rp []struct {
		N       uint64    `ch:"n"`
		First   time.Time `ch:"first"`
		Last    time.Time `ch:"last"`
		Service string    `ch:"service"`
	}
	rpp := params{}.str("sid", sid).time("from", from).time("to", to)
	if err := s.db.selectInto(ctx, &rp, `SELECT count() AS n, min(Timestamp) AS first, max(Timestamp) AS last, any(ServiceName) AS service
		FROM hyperdx_sessions WHERE ResourceAttributes['rum.sessionId'] = {sid:String}
		  AND TimestampTime >= toDateTime({from:DateTime64(9)}) AND TimestampTime <= toDateTime({to:DateTime64(9)})`, rpp); err != nil {
		return nil, out, err
	}
	if len(rp) == 1 && rp[0].N > 0 {
		first, last := rp[0].First.UTC(), rp[0].Last.UTC()
		out.Replay.Available, out.Replay.Events, out.Replay.Service = true, rp[0].N, rp[0].Service
		out.Replay.FirstEvent, out.Replay.LastEvent = &first, &last
	}
	var ev []struct {
		N uint64 `ch:"n"`
	}
	if err := s.db.selectInto(ctx, &ev, "SELECT count() AS n FROM session_replay_events WHERE SessionId = {sid:String}", rpp); err != nil {
		return nil, out, err
	}
	if len(ev) == 1 {
		out.Replay.ReplayEvents = ev[0].N
		out.Replay.Available = out.Replay.Available || ev[0].N > 0
	}
	if out.Replay.Available {
		out.Replay.HowToWatch = "In HyperDX open Client Sessions and search rum.sessionId:" + sid + "; the rrweb events replay from hyperdx_sessions in order."
		if out.Replay.FirstEvent != nil {
			out.Replay.HyperDXURL = hyperdxReplayURL(sid, *out.Replay.FirstEvent, *out.Replay.LastEvent)
		}
		out.Replay.Query = fmt.Sprintf("SELECT Body, LogAttributes['rr-web.chunk'], LogAttributes['rr-web.total-chunks'] FROM %s.hyperdx_sessions WHERE ResourceAttributes['rum.sessionId'] = '%s' ORDER BY TimestampTime, Timestamp",
			s.cfg.ClickHouse.Database, strings.ReplaceAll(strings.ReplaceAll(sid, `\`, `\\`), "'", `\'`))
	} else {
		out.Replay.HowToWatch = "no replay events were recorded for this session"
	}
	story, err := s.sessionStory(ctx, sid, browser, traceIDs, from, to)
	if err != nil {
		return nil, out, err
	}
	out.Story = story
	if out.Session == nil {
		out.Notice = "the session has no otel_sessions row yet (sessions are rolled up as replay events arrive); the replay pointer is from hyperdx_sessions"
	}
	return nil, out, nil
}
