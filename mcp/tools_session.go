package mcp

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
)

// Sessions in the analysis: what one user went through (get_session's
// story), and how many users a set of traces touched (analyze_root_cause,
// detect_anomalous_traces). A trace belongs to a session when its spans
// carry the OpenTelemetry session.id attribute (a browser SDK sends it as
// baggage and the service's entry span records it) or the browser's
// rum.sessionId resource attribute, or when a recorded session lists it
// (otel_sessions.TraceIds).

// SessionImpact is how many user sessions a set of traces touched.
type SessionImpact struct {
	// Sessions is the number of distinct sessions among the traces.
	Sessions int `json:"sessions"`
	// Recorded is how many of them have a browser recording (replayable in
	// HyperDX, readable with get_session).
	Recorded int `json:"recorded_sessions"`
	// Traces is how many of the traces asked about carried a session.
	Traces int `json:"traces_with_session"`
	// Of is how many traces were asked about.
	Of int `json:"of_traces"`
	// Examples are a few session ids, recorded ones first: pass one to
	// get_session.
	Examples []string `json:"example_session_ids"`
}

// maxImpactTraces bounds the trace ids one impact query looks up.
const maxImpactTraces = 2000

// plainIDs keeps the ids made of letters, digits and . _ : - (trace ids,
// UUIDs): session and trace ids come from browsers, and the array query
// parameters these tools send them in carry nothing else safely. An id with
// other characters cannot be one of ours; it is left out of the lookup.
func plainIDs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != "" && len(id) <= 128 && strings.IndexFunc(id, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == ':' || r == '-')
		}) < 0 {
			out = append(out, id)
		}
	}
	return out
}

// traceSessions maps traces to the sessions they belong to.
type traceSessions struct {
	of       map[string]string // trace id -> session id
	recorded map[string]bool   // sessions with a browser recording
}

// sessionsTouched finds the sessions of traceIDs, whose spans started
// within [from, to], and returns their impact and the trace -> session map.
func (s *Server) sessionsTouched(ctx context.Context, traceIDs []string, from, to time.Time) (SessionImpact, traceSessions, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(plainIDs(traceIDs))))
	if len(ids) > maxImpactTraces {
		ids = ids[:maxImpactTraces]
	}
	ts := traceSessions{of: map[string]string{}, recorded: map[string]bool{}}
	if len(ids) == 0 {
		return ts.impact(ids), ts, nil
	}
	p := params{}.strings("ids", ids).time("from", from.Add(-time.Minute)).time("to", to.Add(time.Minute))
	var spans []struct {
		TraceID string `ch:"TraceId"`
		SID     string `ch:"sid"`
	}
	if err := s.db.selectInto(ctx, &spans, `SELECT TraceId, any(if(SpanAttributes['session.id'] != '', SpanAttributes['session.id'],
			ResourceAttributes['rum.sessionId'])) AS sid
		FROM otel_traces
		WHERE TraceId IN {ids:Array(String)} AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		  AND (SpanAttributes['session.id'] != '' OR ResourceAttributes['rum.sessionId'] != '')
		GROUP BY TraceId`, p); err != nil {
		return SessionImpact{}, ts, err
	}
	for _, r := range spans {
		ts.of[r.TraceID] = r.SID
	}
	var recorded []struct {
		SID    string   `ch:"SessionId"`
		Traces []string `ch:"hit"`
	}
	if err := s.db.selectInto(ctx, &recorded, `SELECT SessionId, arrayFilter(t -> has({ids:Array(String)}, t), TraceIds) AS hit
		FROM otel_sessions FINAL
		WHERE hasAny(TraceIds, {ids:Array(String)}) AND EndTime >= {from:DateTime64(9)} - INTERVAL 1 HOUR
		LIMIT 10000`, p); err != nil {
		return SessionImpact{}, ts, err
	}
	for _, r := range recorded {
		ts.recorded[r.SID] = true
		for _, t := range r.Traces {
			if ts.of[t] == "" {
				ts.of[t] = r.SID
			}
		}
	}
	return ts.impact(ids), ts, nil
}

// impact counts the sessions of traceIDs.
func (ts traceSessions) impact(traceIDs []string) SessionImpact {
	out := SessionImpact{Examples: []string{}}
	count := map[string]int{}
	seen := map[string]bool{}
	for _, t := range traceIDs {
		if seen[t] {
			continue
		}
		seen[t] = true
		out.Of++
		if sid := ts.of[t]; sid != "" {
			count[sid]++
			out.Traces++
		}
	}
	out.Sessions = len(count)
	all := make([]string, 0, len(count))
	for sid := range count {
		all = append(all, sid)
		if ts.recorded[sid] {
			out.Recorded++
		}
	}
	// Recorded sessions first, then the sessions most traces hit.
	slices.SortFunc(all, func(a, b string) int {
		if ts.recorded[a] != ts.recorded[b] {
			if ts.recorded[a] {
				return -1
			}
			return 1
		}
		if count[a] != count[b] {
			return count[b] - count[a]
		}
		return strings.Compare(a, b)
	})
	out.Examples = all[:min(5, len(all))]
	return out
}

// rcaSessions adds to a root-cause analysis how many sessions the failing
// traces touched, overall and per candidate (the failing traces with a span
// of the candidate's service).
func (s *Server) rcaSessions(ctx context.Context, out *AnalyzeRootCauseOutput, spans []rca.Span, w timeWindow) error {
	var all []string
	byService := map[string][]string{}
	for _, sp := range spans {
		all = append(all, sp.TraceID)
		byService[sp.Service] = append(byService[sp.Service], sp.TraceID)
	}
	impact, ts, err := s.sessionsTouched(ctx, all, w.Start, w.End)
	if err != nil {
		return err
	}
	out.Symptom.Sessions = &impact
	for i := range out.Candidates {
		ci := ts.impact(byService[out.Candidates[i].Service])
		out.Candidates[i].Sessions = &ci
	}
	return nil
}

// anomalySessions adds each top trace's session and how many sessions the
// flagged ones touched.
func (s *Server) anomalySessions(ctx context.Context, out *DetectAnomalousTracesOutput, w timeWindow) error {
	var ids, flagged []string
	for _, t := range out.Top {
		ids = append(ids, t.TraceID)
		if t.IsAnomaly {
			flagged = append(flagged, t.TraceID)
		}
	}
	_, ts, err := s.sessionsTouched(ctx, ids, w.Start, w.End)
	if err != nil {
		return err
	}
	for i := range out.Top {
		out.Top[i].SessionID = ts.of[out.Top[i].TraceID]
	}
	impact := ts.impact(flagged)
	out.Sessions = &impact
	return nil
}

// SessionStory is what the user of a session went through, in order.
type SessionStory struct {
	// Summary tells it in a few sentences.
	Summary string      `json:"summary"`
	Pages   []StoryPage `json:"pages"`
	Clicks  int         `json:"clicks"`
	// RageClicks are bursts of three or more clicks on one element within
	// a second: a user whose click did not seem to work.
	RageClicks []RageClick `json:"rage_clicks,omitempty"`
	// ErrorsSeen are the errors the page logged or threw: console errors
	// and uncaught exceptions, from the recording and the browser's error
	// spans.
	ErrorsSeen []StoryError `json:"errors_seen,omitempty"`
	// FailedRequests are the session's traces whose entry into the backend
	// failed (an error status or an HTTP status of 400 or more), each with
	// its trace id for get_trace.
	FailedRequests []FailedRequest `json:"failed_requests,omitempty"`
	// Requests is the number of the session's traces that reached the
	// backend.
	Requests int `json:"requests"`
}

// StoryPage is a page the user saw.
type StoryPage struct {
	Time time.Time `json:"time"`
	URL  string    `json:"url"`
}

// RageClick is a burst of clicks on one element.
type RageClick struct {
	Time   time.Time `json:"time"`
	Clicks int       `json:"clicks"`
	Node   int64     `json:"node_id"`
}

// StoryError is an error the page showed or threw.
type StoryError struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// FailedRequest is one failed request of the session with its backend
// trace.
type FailedRequest struct {
	Time       time.Time `json:"time"`
	TraceID    string    `json:"trace_id"`
	Service    string    `json:"service"`
	Operation  string    `json:"operation"`
	HTTPStatus int       `json:"http_status,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// rageWindow and rageClicks define a rage click: rageClicks clicks on one
// element within rageWindow.
const (
	rageWindow = time.Second
	rageClicks = 3
)

type click struct {
	at   time.Time
	node int64
}

// rageBursts finds rage clicks among clicks ordered by time: rageClicks or
// more clicks on one element, the first and last within rageWindow; each
// burst counted once, with all its clicks.
func rageBursts(clicks []click) []RageClick {
	var out []RageClick
	used := make([]bool, len(clicks))
	for i := range clicks {
		if used[i] {
			continue
		}
		var burst []int
		for j := i; j < len(clicks) && clicks[j].at.Sub(clicks[i].at) <= rageWindow; j++ {
			if clicks[j].node == clicks[i].node && !used[j] {
				burst = append(burst, j)
			}
		}
		if len(burst) < rageClicks {
			continue
		}
		for _, j := range burst {
			used[j] = true
		}
		out = append(out, RageClick{Time: clicks[i].at.UTC(), Clicks: len(burst), Node: clicks[i].node})
	}
	return out
}

// sessionStory reads what the user of session sid did, from its replay
// events, its session row and its traces.
func (s *Server) sessionStory(ctx context.Context, sid, service string, traceIDs []string, from, to time.Time) (*SessionStory, error) {
	st := &SessionStory{Pages: []StoryPage{}}
	p := params{}.str("sid", sid).time("from", from).time("to", to)
	var evs []struct {
		At   time.Time `ch:"ts"`
		Type string    `ch:"Type"`
		Name string    `ch:"Name"`
	}
	if err := s.db.selectInto(ctx, &evs, `SELECT e.1 AS ts, e.2 AS Type, e.3 AS Name
		FROM otel_sessions FINAL ARRAY JOIN arrayZip(Events.Timestamp, Events.Type, Events.Name) AS e
		WHERE SessionId = {sid:String} AND e.2 IN ('pageview', 'error') ORDER BY ts LIMIT 500`, p); err != nil {
		return nil, err
	}
	for _, e := range evs {
		switch e.Type {
		case "pageview":
			st.Pages = append(st.Pages, StoryPage{Time: e.At.UTC(), URL: e.Name})
		case "error":
			st.ErrorsSeen = append(st.ErrorsSeen, StoryError{Time: e.At.UTC(), Message: truncate(e.Name, 300)})
		}
	}
	spanErrs, err := s.browserErrors(ctx, []string{sid}, from, to)
	if err != nil {
		return nil, err
	}
	st.ErrorsSeen = append(st.ErrorsSeen, spanErrs[sid]...)
	slices.SortStableFunc(st.ErrorsSeen, func(a, b StoryError) int { return a.Time.Compare(b.Time) })
	// Clicks: rrweb mouse interactions (incremental source 2) of type
	// click (2), with the element's node id.
	var clicks []struct {
		At   time.Time `ch:"Timestamp"`
		Node int64     `ch:"node"`
	}
	if err := s.db.selectInto(ctx, &clicks, `SELECT Timestamp, JSONExtractInt(EventData, 'data', 'id') AS node
		FROM session_replay_events
		WHERE SessionId = {sid:String} AND EventType = 'mouse'
		  AND JSONExtractInt(EventData, 'data', 'source') = 2 AND JSONExtractInt(EventData, 'data', 'type') = 2
		ORDER BY Timestamp, SequenceNumber LIMIT 5000`, p); err != nil {
		return nil, err
	}
	cs := make([]click, len(clicks))
	for i, c := range clicks {
		cs[i] = click{at: c.At, node: c.Node}
	}
	st.Clicks, st.RageClicks = len(cs), rageBursts(cs)

	reqs, err := s.entrySpans(ctx, traceIDs, []string{service}, from, to)
	if err != nil {
		return nil, err
	}
	st.Requests = len(reqs)
	for _, r := range reqs {
		if r.failed {
			st.FailedRequests = append(st.FailedRequests, r.FailedRequest)
		}
	}
	st.Summary = st.summary()
	return st, nil
}

// browserErrors reads the errors the sessions' pages logged or threw, as
// the browser SDK reports them: spans with component "error" (console.error,
// uncaught errors, unhandled rejections) carrying the session's
// rum.sessionId.
func (s *Server) browserErrors(ctx context.Context, sids []string, from, to time.Time) (map[string][]StoryError, error) {
	out := map[string][]StoryError{}
	sids = plainIDs(sids)
	if len(sids) == 0 {
		return out, nil
	}
	p := params{}.strings("sids", sids).time("from", from).time("to", to)
	var rows []struct {
		SID string    `ch:"sid"`
		At  time.Time `ch:"Timestamp"`
		Msg string    `ch:"msg"`
	}
	if err := s.db.selectInto(ctx, &rows, `SELECT ResourceAttributes['rum.sessionId'] AS sid, Timestamp,
			if(SpanAttributes['error.message'] != '', SpanAttributes['error.message'], SpanName) AS msg
		FROM otel_traces
		WHERE ResourceAttributes['rum.sessionId'] IN {sids:Array(String)} AND SpanAttributes['component'] = 'error'
		  AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		ORDER BY Timestamp LIMIT 20000`, p); err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.SID] = append(out[r.SID], StoryError{Time: r.At.UTC(), Message: truncate(r.Msg, 300)})
	}
	return out, nil
}

// entrySpan is a trace's entry into the backend.
type entrySpan struct {
	FailedRequest
	failed bool
}

// entrySpans reads each trace's entry into the backend: its first span
// outside the browser services, failed when its status is an error or its
// HTTP status 400 or more.
func (s *Server) entrySpans(ctx context.Context, traceIDs, browsers []string, from, to time.Time) ([]entrySpan, error) {
	ids := slices.Compact(slices.Sorted(slices.Values(plainIDs(traceIDs))))
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > maxImpactTraces {
		ids = ids[:maxImpactTraces]
	}
	q := params{}.strings("ids", ids).strings("browsers", plainIDs(browsers)).time("from", from).time("to", to)
	var rows []struct {
		TraceID string    `ch:"TraceId"`
		At      time.Time `ch:"t"`
		Service string    `ch:"svc"`
		Op      string    `ch:"op"`
		HTTP    string    `ch:"http"`
		Status  string    `ch:"status"`
		Message string    `ch:"msg"`
	}
	if err := s.db.selectInto(ctx, &rows, `SELECT TraceId, min(Timestamp) AS t, argMin(ServiceName, Timestamp) AS svc,
			argMin(SpanName, Timestamp) AS op,
			argMin(if(SpanAttributes['http.response.status_code'] != '', SpanAttributes['http.response.status_code'],
				SpanAttributes['http.status_code']), Timestamp) AS http,
			argMin(StatusCode, Timestamp) AS status, argMin(StatusMessage, Timestamp) AS msg
		FROM otel_traces
		WHERE TraceId IN {ids:Array(String)} AND NOT has({browsers:Array(String)}, ServiceName)
		  AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		GROUP BY TraceId ORDER BY t, TraceId LIMIT 5000`, q); err != nil {
		return nil, err
	}
	out := make([]entrySpan, len(rows))
	for i, r := range rows {
		code, _ := strconv.Atoi(r.HTTP)
		out[i] = entrySpan{FailedRequest: FailedRequest{Time: r.At.UTC(), TraceID: r.TraceID, Service: r.Service,
			Operation: r.Op, HTTPStatus: code, Error: truncate(r.Message, 300)},
			failed: code >= 400 || r.Status == "Error" || r.Status == "STATUS_CODE_ERROR"}
	}
	return out, nil
}

func (st *SessionStory) summary() string {
	var b strings.Builder
	paths := make([]string, 0, len(st.Pages))
	for _, p := range st.Pages {
		u := p.URL
		if pu, err := url.Parse(p.URL); err == nil && pu.Path != "" {
			u = pu.Path
		}
		paths = append(paths, u)
	}
	fmt.Fprintf(&b, "The user saw %d page(s)", len(st.Pages))
	if len(paths) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(paths[:min(12, len(paths))], " → "))
	}
	fmt.Fprintf(&b, ", clicked %d time(s)", st.Clicks)
	if len(st.RageClicks) > 0 {
		fmt.Fprintf(&b, " with %d rage-click burst(s) (up to %d clicks on one element within a second)", len(st.RageClicks),
			slices.MaxFunc(st.RageClicks, func(a, b RageClick) int { return a.Clicks - b.Clicks }).Clicks)
	}
	fmt.Fprintf(&b, " and made %d request(s) to the backend.", st.Requests)
	if len(st.ErrorsSeen) > 0 {
		fmt.Fprintf(&b, " The page showed %d error(s), first %q.", len(st.ErrorsSeen), truncate(st.ErrorsSeen[0].Message, 120))
	}
	if len(st.FailedRequests) > 0 {
		f := st.FailedRequests[0]
		fmt.Fprintf(&b, " %d request(s) failed, first %s on %s", len(st.FailedRequests), f.Operation, f.Service)
		if f.HTTPStatus > 0 {
			fmt.Fprintf(&b, " (HTTP %d)", f.HTTPStatus)
		}
		fmt.Fprintf(&b, " in trace %s.", f.TraceID)
	} else if st.Requests > 0 {
		b.WriteString(" No request failed.")
	}
	if n := len(st.Pages); n > 0 && (len(st.FailedRequests) > 0 || len(st.ErrorsSeen) > 0) {
		lastErr := time.Time{}
		if len(st.FailedRequests) > 0 {
			lastErr = st.FailedRequests[len(st.FailedRequests)-1].Time
		}
		if len(st.ErrorsSeen) > 0 && st.ErrorsSeen[len(st.ErrorsSeen)-1].Time.After(lastErr) {
			lastErr = st.ErrorsSeen[len(st.ErrorsSeen)-1].Time
		}
		if !st.Pages[n-1].Time.After(lastErr) {
			b.WriteString(" The session ended on the page of the last error.")
		}
	}
	return b.String()
}

// hyperdxURL is where HyperDX's UI is ($HYPERDX_URL, default the local one
// of hyperdx/docker-compose.yml).
func hyperdxURL() string {
	if u := os.Getenv("HYPERDX_URL"); u != "" {
		return strings.TrimRight(u, "/")
	}
	return "http://localhost:8089"
}

// hyperdxReplayURL opens the session's replay on HyperDX's Client Sessions
// page (session source "sessions" of hyperdx/local-mode.env), with the time
// range HyperDX itself uses: four hours either side.
func hyperdxReplayURL(sid string, first, last time.Time) string {
	q := url.Values{}
	q.Set("sessionSource", "sessions")
	q.Set("sid", sid)
	q.Set("sfrom", strconv.FormatInt(first.Add(-4*time.Hour).UnixMilli(), 10))
	q.Set("sto", strconv.FormatInt(last.Add(4*time.Hour).UnixMilli(), 10))
	return hyperdxURL() + "/sessions?" + q.Encode()
}
