package mcp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// ToolDetectSessionAnomalies finds the users whose visit went wrong.
const ToolDetectSessionAnomalies = "detect_session_anomalies"

// Session anomaly kinds.
const (
	SessionRageClicks     = "rage_clicks"
	SessionErrorShown     = "error_shown"
	SessionFailedRequests = "failed_requests"
	SessionAbandoned      = "abandoned_after_error"
)

// DetectSessionAnomaliesInput selects the sessions to scan.
type DetectSessionAnomaliesInput struct {
	Window string `json:"window,omitempty" jsonschema:"how far back to look, e.g. 15m, 1h (default 1h, at most 1d)"`
	End    string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	K      int    `json:"k,omitempty" jsonschema:"sessions to return, 1-100 (default 20)"`
}

// DetectSessionAnomaliesOutput ranks the window's recorded sessions by how
// badly the visit went.
type DetectSessionAnomaliesOutput struct {
	Window    Window           `json:"window"`
	Sessions  int              `json:"sessions_in_window"`
	Anomalous int              `json:"anomalous_sessions"`
	ByKind    map[string]int   `json:"anomalous_by_kind"`
	Top       []SessionAnomaly `json:"top"`
	Notice    string           `json:"notice,omitempty"`
}

// SessionAnomaly is one session and what went wrong in it.
type SessionAnomaly struct {
	SessionID string    `json:"session_id"`
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Score     float64   `json:"score"`
	Kinds     []string  `json:"kinds"`
	// Reasons say what was seen, in words.
	Reasons        []string `json:"reasons"`
	Pages          int      `json:"pages"`
	RageClicks     int      `json:"rage_click_bursts"`
	ErrorsShown    int      `json:"errors_shown"`
	FailedRequests int      `json:"failed_requests"`
	// ExampleTraceID is a failed request's trace, for get_trace.
	ExampleTraceID string `json:"example_trace_id,omitempty"`
}

// maxScannedSessions bounds one scan.
const maxScannedSessions = 2000

func (s *Server) addSessionAnomalyTool() {
	add(s, &sdk.Tool{
		Name:        ToolDetectSessionAnomalies,
		Annotations: readOnly("Detect session anomalies", false),
		Description: "Recorded browser sessions in a window whose users had a bad visit: rage clicks (3+ clicks on one element within a second), " +
			"errors the page showed, failed requests, and visits abandoned right after an error; ranked, with a failed request's trace id. " +
			"Use it to see which users an incident hurt; open one with get_session.",
	}, s.detectSessionAnomalies, func(sc *jsonschema.Schema) {
		intRange(sc, "k", 1, 100, 20)
	})
}

func (s *Server) detectSessionAnomalies(ctx context.Context, _ *sdk.CallToolRequest, in DetectSessionAnomaliesInput) (*sdk.CallToolResult, DetectSessionAnomaliesOutput, error) {
	out := DetectSessionAnomaliesOutput{ByKind: map[string]int{}, Top: []SessionAnomaly{}}
	w, err := parseWindow(in.Window, in.End, time.Hour, 24*time.Hour, s.now())
	if err != nil {
		return nil, out, err
	}
	out.Window = w.out()
	k := clampInt(in.K, 20, 1, 100)
	p := params{}.time("from", w.Start).time("to", w.End).int("max", maxScannedSessions)
	var rows []struct {
		SID      string      `ch:"SessionId"`
		Service  string      `ch:"ServiceName"`
		Start    time.Time   `ch:"StartTime"`
		End      time.Time   `ch:"EndTime"`
		TraceIDs []string    `ch:"TraceIds"`
		EvTimes  []time.Time `ch:"Events.Timestamp"`
		EvTypes  []string    `ch:"Events.Type"`
	}
	if err := s.db.selectInto(ctx, &rows, `SELECT SessionId, ServiceName, StartTime, EndTime, TraceIds, Events.Timestamp, Events.Type
		FROM otel_sessions FINAL
		WHERE EndTime >= {from:DateTime64(9)} AND StartTime <= {to:DateTime64(9)}
		ORDER BY EndTime DESC, SessionId LIMIT {max:UInt32}`, p); err != nil {
		return nil, out, err
	}
	out.Sessions = len(rows)
	if len(rows) == 0 {
		out.Notice = "no recorded browser sessions in the window: widen it, or check that the browser's recorder sends to the collector's rrweb receiver"
		return nil, out, nil
	}
	sids := make([]string, len(rows))
	var traces []string
	browsers := map[string]bool{}
	for i, r := range rows {
		sids[i] = r.SID
		traces = append(traces, r.TraceIDs...)
		browsers[r.Service] = true
	}
	failed, err := s.failedEntries(ctx, traces, slices.Sorted(func(yield func(string) bool) {
		for b := range browsers {
			if !yield(b) {
				return
			}
		}
	}), w.Start.Add(-time.Hour), w.End.Add(time.Hour))
	if err != nil {
		return nil, out, err
	}
	var clicks []struct {
		SID  string    `ch:"SessionId"`
		At   time.Time `ch:"Timestamp"`
		Node int64     `ch:"node"`
	}
	cp := params{}.strings("sids", plainIDs(sids)).time("from", w.Start.Add(-time.Hour)).time("to", w.End.Add(time.Hour))
	if err := s.db.selectInto(ctx, &clicks, `SELECT SessionId, Timestamp, JSONExtractInt(EventData, 'data', 'id') AS node
		FROM session_replay_events
		WHERE SessionId IN {sids:Array(String)} AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
		  AND EventType = 'mouse' AND JSONExtractInt(EventData, 'data', 'source') = 2 AND JSONExtractInt(EventData, 'data', 'type') = 2
		ORDER BY SessionId, Timestamp, SequenceNumber LIMIT 200000`, cp); err != nil {
		return nil, out, err
	}
	spanErrs, err := s.browserErrors(ctx, sids, w.Start.Add(-time.Hour), w.End.Add(time.Hour))
	if err != nil {
		return nil, out, err
	}
	clicksOf := map[string][]click{}
	for _, c := range clicks {
		clicksOf[c.SID] = append(clicksOf[c.SID], click{at: c.At, node: c.Node})
	}
	for _, r := range rows {
		a := SessionAnomaly{SessionID: r.SID, Start: r.Start.UTC(), End: r.End.UTC()}
		var lastPage, lastErr time.Time
		for i, typ := range r.EvTypes {
			switch typ {
			case "pageview":
				a.Pages++
				lastPage = later(lastPage, r.EvTimes[i])
			case "error":
				a.ErrorsShown++
				lastErr = later(lastErr, r.EvTimes[i])
			}
		}
		for _, e := range spanErrs[r.SID] {
			a.ErrorsShown++
			lastErr = later(lastErr, e.Time)
		}
		for _, id := range r.TraceIDs {
			if f, ok := failed[id]; ok {
				a.FailedRequests++
				lastErr = later(lastErr, f.Time)
				if a.ExampleTraceID == "" || f.HTTPStatus >= 500 {
					a.ExampleTraceID = f.TraceID
				}
			}
		}
		a.RageClicks = len(rageBursts(clicksOf[r.SID]))
		scoreSession(&a, lastPage, lastErr)
		if a.Score > 0 {
			out.Anomalous++
			for _, kind := range a.Kinds {
				out.ByKind[kind]++
			}
			out.Top = append(out.Top, a)
		}
	}
	slices.SortStableFunc(out.Top, func(x, y SessionAnomaly) int {
		if x.Score != y.Score {
			if x.Score > y.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(x.SessionID, y.SessionID)
	})
	out.Top = out.Top[:min(k, len(out.Top))]
	if len(rows) == maxScannedSessions {
		out.Notice = fmt.Sprintf("scanned the %d most recent sessions of the window: narrow it to see the rest", maxScannedSessions)
	}
	return nil, out, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// scoreSession names what went wrong and weighs it: a user who gave up
// after an error or rage-clicked counts more than one who saw an error and
// went on.
func scoreSession(a *SessionAnomaly, lastPage, lastErr time.Time) {
	if a.RageClicks > 0 {
		a.Kinds = append(a.Kinds, SessionRageClicks)
		a.Reasons = append(a.Reasons, fmt.Sprintf("%d rage-click burst(s)", a.RageClicks))
		a.Score += 2 * float64(a.RageClicks)
	}
	if a.ErrorsShown > 0 {
		a.Kinds = append(a.Kinds, SessionErrorShown)
		a.Reasons = append(a.Reasons, fmt.Sprintf("the page showed %d error(s)", a.ErrorsShown))
		a.Score += float64(min(a.ErrorsShown, 3))
	}
	if a.FailedRequests > 0 {
		a.Kinds = append(a.Kinds, SessionFailedRequests)
		a.Reasons = append(a.Reasons, fmt.Sprintf("%d request(s) failed", a.FailedRequests))
		a.Score += float64(min(a.FailedRequests, 3))
	}
	if !lastErr.IsZero() && !lastPage.After(lastErr) {
		a.Kinds = append(a.Kinds, SessionAbandoned)
		a.Reasons = append(a.Reasons, "the visit ended on the page of its last error")
		a.Score += 2
	}
}

// failedEntries finds, among traceIDs, those whose entry into the backend
// (the first span outside the browser services) failed: an error status or
// an HTTP status of 400 or more.
func (s *Server) failedEntries(ctx context.Context, traceIDs, browsers []string, from, to time.Time) (map[string]FailedRequest, error) {
	out := map[string]FailedRequest{}
	if len(traceIDs) == 0 {
		return out, nil
	}
	reqs, err := s.entrySpans(ctx, traceIDs, browsers, from, to)
	if err != nil {
		return nil, err
	}
	for _, r := range reqs {
		if r.failed {
			out[r.TraceID] = r.FailedRequest
		}
	}
	return out, nil
}
