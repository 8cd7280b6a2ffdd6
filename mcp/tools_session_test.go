package mcp

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// get_session tells the story of the recorded session whose checkout
// failed: the page it was on, its click, the failed request with the trace
// to open, and a HyperDX link to its replay.
func TestGetSessionStory(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[GetSessionOutput](t, h, ToolGetSession, map[string]any{"trace_id": d.browserTrace})
	require.NotNil(t, out.Story, out.Notice)
	st := out.Story
	require.Len(t, st.Pages, 1)
	assert.Equal(t, "http://127.0.0.1:8080/cart", st.Pages[0].URL)
	assert.Equal(t, 1, st.Clicks, "the recorder's one click")
	assert.Empty(t, st.RageClicks)
	assert.Equal(t, 1, st.Requests, "the session's one trace reached the backend")
	require.Len(t, st.FailedRequests, 1)
	f := st.FailedRequests[0]
	assert.Equal(t, d.browserTrace, f.TraceID)
	assert.NotEqual(t, browser, f.Service, "the backend's entry span, not the browser's")
	assert.Contains(t, st.Summary, "/cart")
	assert.Contains(t, st.Summary, d.browserTrace)

	u, err := url.Parse(out.Replay.HyperDXURL)
	require.NoError(t, err, out.Replay.HyperDXURL)
	assert.Equal(t, "/sessions", u.Path)
	assert.Equal(t, browserSession, u.Query().Get("sid"))
	assert.Equal(t, "sessions", u.Query().Get("sessionSource"))
	assert.NotEmpty(t, u.Query().Get("sfrom"))
}

// analyze_root_cause and detect_anomalous_traces say how many sessions the
// failing traces touched, with the recorded one as an example.
func TestSessionsTouchedByFailures(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, map[string]any{"window": "30m"})
	require.NotNil(t, out.Symptom.Sessions)
	s := out.Symptom.Sessions
	assert.Equal(t, 1, s.Sessions, "one failing trace came from a session")
	assert.Equal(t, 1, s.Recorded)
	assert.Equal(t, []string{browserSession}, s.Examples)
	assert.Equal(t, out.Symptom.Sampled, s.Of)
	require.NotEmpty(t, out.Candidates)
	top := out.Candidates[0]
	require.NotNil(t, top.Sessions)
	assert.Equal(t, []string{browserSession}, top.Sessions.Examples, "the browser's failing checkout went through %s", top.Service)

	an := call[DetectAnomalousTracesOutput](t, h, ToolDetectAnomalousTraces, map[string]any{"window": "60m", "k": 100})
	require.NotNil(t, an.Sessions)
	for _, tr := range an.Top {
		if tr.TraceID == d.browserTrace {
			assert.Equal(t, browserSession, tr.SessionID)
		} else {
			assert.Empty(t, tr.SessionID, "trace %s has no session", tr.TraceID)
		}
	}
}

func TestRageBursts(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	clicks := []click{
		{at(0), 7}, {at(150), 7}, {at(300), 9}, {at(400), 7}, {at(600), 7}, // 4 on node 7 within a second
		{at(5000), 7}, {at(5500), 7}, // two: not rage
		{at(9000), 3}, {at(9600), 3}, {at(10200), 3}, {at(10800), 3}, // a steady clicker: never three within a second
	}
	got := rageBursts(clicks)
	require.Len(t, got, 1)
	assert.Equal(t, RageClick{Time: at(0), Clicks: 4, Node: 7}, got[0])
	assert.Empty(t, rageBursts(clicks[5:7]))
}

// detect_session_anomalies finds the recorded session whose checkout failed
// and which ended there.
func TestDetectSessionAnomalies(t *testing.T) {
	h, d := onDataset(t, poolExhaustion)
	out := call[DetectSessionAnomaliesOutput](t, h, ToolDetectSessionAnomalies, map[string]any{"window": "60m"})
	assert.Equal(t, 1, out.Sessions, "the dataset records one session")
	require.Len(t, out.Top, 1)
	a := out.Top[0]
	assert.Equal(t, browserSession, a.SessionID)
	assert.Equal(t, []string{SessionFailedRequests, SessionAbandoned}, a.Kinds, a.Reasons)
	assert.Equal(t, 1, a.FailedRequests)
	assert.Equal(t, d.browserTrace, a.ExampleTraceID)
	assert.Equal(t, map[string]int{SessionFailedRequests: 1, SessionAbandoned: 1}, out.ByKind)

	empty := call[DetectSessionAnomaliesOutput](t, h, ToolDetectSessionAnomalies, map[string]any{"window": "5m", "end": d.now.Add(-50 * time.Minute).Format(time.RFC3339)})
	assert.Zero(t, empty.Sessions)
	assert.Contains(t, empty.Notice, "no recorded browser sessions")
	assert.Contains(t, callError(t, h, ToolDetectSessionAnomalies, map[string]any{"window": "30d"}), "window")
}

func TestScoreSession(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// An error, then the user went on to another page: not abandoned.
	a := SessionAnomaly{ErrorsShown: 1}
	scoreSession(&a, t0.Add(time.Minute), t0)
	assert.Equal(t, []string{SessionErrorShown}, a.Kinds)
	// Rage clicks and a failed request on the last page.
	b := SessionAnomaly{RageClicks: 1, FailedRequests: 2}
	scoreSession(&b, t0, t0.Add(time.Second))
	assert.Equal(t, []string{SessionRageClicks, SessionFailedRequests, SessionAbandoned}, b.Kinds)
	assert.Greater(t, b.Score, a.Score)
	// A clean visit.
	c := SessionAnomaly{Pages: 4}
	scoreSession(&c, t0, time.Time{})
	assert.Zero(t, c.Score)
	assert.Empty(t, c.Kinds)
}

func TestPlainIDs(t *testing.T) {
	assert.Equal(t, []string{"4bf92f3577b34da6a3ce929d0e0e4736", "9a25b5af-2728-48a8-8800-c2298339a1f6", "sess-7f3a"},
		plainIDs([]string{"4bf92f3577b34da6a3ce929d0e0e4736", "' OR 1=1 --", "9a25b5af-2728-48a8-8800-c2298339a1f6", "", "a\\b", "sess-7f3a"}))
}
