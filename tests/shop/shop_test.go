package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/web"
	"github.com/otelcol-agentic/otelcol-agentic/tests/e2e"
)

const (
	// A card the shop's simulated gateway approves (it passes the Luhn
	// check) and that nothing else in the repository uses.
	card      = "5555555555554444"
	buyerName = "Ada Lovelace"
	giftNote  = "gift for a friend"
	service   = web.ServiceName
)

// prerequisites finds node, Chromium and the npm packages, or fails saying
// how to install them. It returns node, this directory and rrweb's dist
// directory.
func prerequisites(t *testing.T) (node, dir, webDir string) {
	t.Helper()
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s: install it with `apt-get update && apt-get install -y chromium` (or set CHROMIUM_PATH)", chromium)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install Node.js 20 (apt-get install -y nodejs npm)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules/playwright-core/package.json")); err != nil {
		t.Fatal("tests/shop/node_modules/playwright-core is missing: run `npm ci --prefix tests/shop` from the repository root")
	}
	webDir = filepath.Join(e2e.RepoRoot(t), "sampleapp", "web")
	if _, err := os.Stat(filepath.Join(webDir, filepath.FromSlash(web.RRWebFile))); err != nil {
		t.Fatalf("sampleapp/web/%s is missing (the shop records sessions with it): run `%s` from the repository root", web.RRWebFile, web.InstallHint)
	}
	return node, dir, webDir
}

// outputDir is where screenshots go: $TEST_OUTPUT_DIR if set, else the
// test's artifact directory (kept with `go test -artifacts`).
func outputDir(t *testing.T) string {
	if d := os.Getenv("TEST_OUTPUT_DIR"); d != "" {
		dir := filepath.Join(d, t.Name())
		require.NoError(t, os.MkdirAll(dir, 0o755))
		return dir
	}
	return t.ArtifactDir()
}

func runNode(t *testing.T, node, dir string, out any, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "shop.mjs")}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "node shop.mjs %s:\n%s", args[0], stderr.String())
	require.NoError(t, json.Unmarshal(stdout.Bytes(), out), stdout.String())
}

// apiRequest is a call the page made to the shop's API.
type apiRequest struct {
	Method      string `json:"method"`
	Path        string `json:"path"`
	Traceparent string `json:"traceparent"`
}

// walk is what shop.mjs walk reports.
type walk struct {
	SessionID      string       `json:"sessionId"`
	RecordedEvents int          `json:"recordedEvents"`
	SameSession    bool         `json:"sameSession"`
	Recording      bool         `json:"recording"`
	Tracing        bool         `json:"tracing"`
	Listed         string       `json:"listed"`
	ProductName    string       `json:"productName"`
	ProductID      string       `json:"productId"`
	CartText       string       `json:"cartText"`
	OrderID        string       `json:"orderId"`
	OrderStatus    string       `json:"orderStatus"`
	OrderTitle     string       `json:"orderTitle"`
	Requests       []apiRequest `json:"requests"`
	Statuses       []string     `json:"statuses"`
	Screenshot     string       `json:"screenshot"`
	Problems       []string     `json:"problems"`
}

type rrwebEvent struct {
	Type      int             `json:"type"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// replayRow is one row of HyperDX's replay query, as JSONEachRow.
type replayRow struct {
	Body        string `json:"b"`
	Type        int64  `json:"t,string"`
	Chunk       string `json:"ck"`
	TotalChunks string `json:"tcks"`
}

// replayEvents reads a session back exactly as HyperDX's session replay
// does (COMPAT.md §2) and rebuilds the event stream: bodies concatenated
// until chunk == total-chunks, then parsed.
func replayEvents(t *testing.T, col *e2e.Collector, session string) []json.RawMessage {
	t.Helper()
	out, err := col.QueryParams(t.Context(), `SELECT Body AS b, simpleJSONExtractInt(Body, 'type') AS t,
		LogAttributes['rr-web.chunk'] AS ck, LogAttributes['rr-web.total-chunks'] AS tcks
	FROM hyperdx_sessions
	WHERE ServiceName = {service:String} AND ResourceAttributes['rum.sessionId'] = {sid:String}
	ORDER BY TimestampTime ASC
	FORMAT JSONEachRow
	SETTINGS output_format_json_quote_64bit_integers = 1`, map[string]string{"service": service, "sid": session})
	require.NoError(t, err)
	var events []json.RawMessage
	var cur strings.Builder
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r replayRow
		require.NoError(t, dec.Decode(&r))
		cur.WriteString(r.Body)
		if r.Chunk == r.TotalChunks {
			var e json.RawMessage
			require.NoError(t, json.Unmarshal([]byte(cur.String()), &e), "event rebuilt from its chunks is JSON")
			events = append(events, e)
			cur.Reset()
		}
	}
	require.Zero(t, cur.Len(), "the last event's chunks are incomplete")
	return events
}

func query(t *testing.T, col *e2e.Collector, sql string, params map[string]string) string {
	t.Helper()
	out, err := col.QueryParams(t.Context(), sql, params)
	require.NoError(t, err, sql)
	return out
}

// eventually polls a parameterised query until cond accepts its answer.
func eventually(t *testing.T, col *e2e.Collector, what, sql string, params map[string]string, cond func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last string
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = col.QueryParams(t.Context(), sql, params)
		if lastErr == nil && cond(last) {
			return last
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last answer %q, error %v", what, last, lastErr)
	return ""
}

var traceparent = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// A shopper walks the shop in Chromium from the product list to a paid
// order. The page records the session (inputs masked) and links its API
// calls to the backend's traces; the test reads the session back with
// HyperDX's replay query, replays it with rrweb's Replayer, and follows the
// checkout's trace from the session to the backend spans and back.
func TestShopSessionIsRecordedLinkedToBackendTracesAndReplays(t *testing.T) {
	node, dir, webDir := prerequisites(t)
	out := outputDir(t)

	// The collector as a user runs it, on free ports, its rrweb receiver
	// accepting the shop's origin.
	shopAddr := e2e.FreePort(t)
	col := e2e.StartCollector(t, t.TempDir(),
		`receivers::rrweb::cors::allowed_origins=["http://`+shopAddr+`"]`)

	cfg := app.DefaultConfig()
	cfg.OTLPEndpoint = "http://" + col.OTLPHTTP
	cfg.RRWebEndpoint = "http://" + col.RRWeb
	cfg.WebDir = webDir
	for _, s := range app.Services {
		cfg.Listen[s] = "127.0.0.1:0"
	}
	cfg.Listen[app.Frontend] = shopAddr
	cfg.BatchTimeout = 500 * time.Millisecond
	cfg.MetricInterval = 2 * time.Second
	shop, err := app.Start(t.Context(), cfg)
	require.NoError(t, err)
	defer shop.Close()

	// Chromium walks the shop.
	var w walk
	runNode(t, node, dir, &w, "walk", shop.FrontendURL(), out, card, buyerName)
	require.NoError(t, shop.Flush(t.Context()))
	t.Logf("session %s: %s → order %s (%s); screenshot %s", w.SessionID, w.ProductName, w.OrderID, w.OrderStatus, w.Screenshot)
	require.NotEmpty(t, w.SessionID)
	assert.True(t, w.Recording, "the page records (rrweb served from sampleapp/web/node_modules)")
	assert.True(t, w.Tracing)
	assert.True(t, w.SameSession, "one session across the shop's pages")
	assert.Empty(t, w.Problems, "the shop's pages ran without errors or warnings (CORS and the collector included)")
	assert.Equal(t, w.Listed, w.ProductName, "the product page shows the product chosen in the list")
	assert.Contains(t, w.CartText, w.ProductName)
	assert.Equal(t, "Thank you for your order!", w.OrderTitle)
	require.NotEmpty(t, w.OrderID)
	for _, s := range w.Statuses {
		code, _ := strconv.Atoi(s[strings.LastIndexByte(s, ' ')+1:])
		assert.Less(t, code, 400, "every request of the walk succeeded: %s", s)
	}
	info, err := os.Stat(w.Screenshot)
	require.NoError(t, err)
	assert.Positive(t, info.Size())

	// Every API call carried a traceparent made by the page.
	var checkoutTrace, checkoutSpan string
	traceIDs := map[string]bool{}
	for _, r := range w.Requests {
		m := traceparent.FindStringSubmatch(r.Traceparent)
		require.NotNil(t, m, "%s %s carries a sampled W3C traceparent, got %q", r.Method, r.Path, r.Traceparent)
		assert.False(t, traceIDs[m[1]], "a new trace per call")
		traceIDs[m[1]] = true
		if r.Method == "POST" && r.Path == "/checkout" {
			checkoutTrace, checkoutSpan = m[1], m[2]
		}
	}
	require.NotEmpty(t, checkoutTrace, "the page called POST /checkout: %v", w.Requests)
	sid := map[string]string{"sid": w.SessionID, "tid": checkoutTrace, "service": service}

	// Wait until the whole walk is stored: the order page's Meta event, the
	// session row linking the checkout trace, and the backend's spans.
	eventually(t, col, "the order page's recording", `SELECT count() FROM hyperdx_sessions
		WHERE ServiceName = {service:String} AND ResourceAttributes['rum.sessionId'] = {sid:String}
		  AND simpleJSONExtractInt(Body, 'type') = 4 AND position(Body, 'order.html') > 0`, sid, func(s string) bool { return s != "0" })
	eventually(t, col, "the session row with the checkout's trace id", `SELECT count() FROM otel_sessions FINAL
		WHERE SessionId = {sid:String} AND has(TraceIds, {tid:String})`, sid, func(s string) bool { return s == "1" })
	eventually(t, col, "the checkout's backend spans", `SELECT uniqExact(ServiceName) FROM otel_traces
		WHERE TraceId = {tid:String}`, sid, func(s string) bool { n, _ := strconv.Atoi(s); return n >= 5 })
	time.Sleep(2 * time.Second) // stragglers of the last batches

	// The session, read back with HyperDX's replay query.
	raw := replayEvents(t, col, w.SessionID)
	require.NotEmpty(t, raw)
	assert.Equal(t, w.RecordedEvents, len(raw), "every event the page recorded is stored once (beacons on page exit included)")
	all := make([]string, len(raw))
	for i, r := range raw {
		all[i] = string(r)
	}
	joined := strings.Join(all, "\n")
	for _, secret := range []string{card, buyerName, giftNote} {
		assert.NotContains(t, joined, secret, "typed text is not in the recording")
	}
	assert.Contains(t, joined, w.ProductName, "the recording shows the product")

	// Rows come ordered by the second (TimestampTime), as HyperDX reads
	// them; order them by their millisecond timestamps, keeping the stored
	// order of equal ones.
	events := make([]rrwebEvent, len(raw))
	for i, r := range raw {
		require.NoError(t, json.Unmarshal(r, &events[i]))
	}
	order := make([]int, len(raw))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return events[order[a]].Timestamp < events[order[b]].Timestamp })
	sorted := make([]json.RawMessage, len(raw))
	sortedEvents := make([]rrwebEvent, len(raw))
	for i, j := range order {
		sorted[i], sortedEvents[i] = raw[j], events[j]
	}

	// The pages, in order, from the Meta events; and the typing.
	// A page's recording starts with DomContentLoaded (0) and Load (1)
	// events, then Meta (4) with its URL and the full snapshot (2); replay
	// times must fall between a page's last event and the next page's
	// first, not between a Meta event and its snapshot.
	type page struct {
		href      string
		last      int64 // the last snapshot or incremental event on the page
		left      int64 // the next page's first event (0: none)
		lastInput int64
	}
	var pages []page
	for _, e := range sortedEvents {
		var d struct {
			Href   string `json:"href"`
			Source *int   `json:"source"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if e.Type == 4 {
			pages = append(pages, page{href: d.Href})
		}
		if len(pages) == 0 {
			continue
		}
		p := &pages[len(pages)-1]
		switch e.Type {
		case 0, 1:
			if p.left == 0 && p.last != 0 {
				p.left = e.Timestamp
			}
		case 2, 3:
			p.last = max(p.last, e.Timestamp)
			if e.Type == 3 && d.Source != nil && *d.Source == 5 {
				p.lastInput = max(p.lastInput, e.Timestamp)
			}
		}
	}
	// at returns a time to replay a page at: just after its last event.
	at := func(p page, t int64) int64 {
		t = max(t, p.last) + 1
		if p.left != 0 && t >= p.left {
			t = p.left - 1
		}
		return t
	}
	var hrefs []string
	for _, p := range pages {
		u := p.href
		if i := strings.Index(u, "://"); i >= 0 {
			u = u[i+3:]
			u = u[strings.IndexByte(u, '/'):]
		}
		hrefs = append(hrefs, strings.SplitN(u, "?", 2)[0])
	}
	require.Equal(t, []string{"/", "/product.html", "/cart.html", "/checkout.html", "/order.html"}, hrefs,
		"the recording holds every page of the walk, in order")
	product, checkout, final := pages[1], pages[3], pages[4]
	assert.Contains(t, product.href, "id="+w.ProductID)
	require.NotZero(t, checkout.lastInput, "the typing on the checkout page was recorded as input events")

	// Replay in Chromium: the product page as it was left, the checkout
	// form after the typing, and the end of the session.
	eventsFile := filepath.Join(out, "events.json")
	b, err := json.Marshal(sorted)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(eventsFile, b, 0o644))
	var rep struct {
		States []struct {
			Text       string            `json:"text"`
			HTML       string            `json:"html"`
			Inputs     map[string]string `json:"inputs"`
			Screenshot string            `json:"screenshot"`
		} `json:"states"`
		Problems []string `json:"problems"`
	}
	rrwebDist := filepath.Join(webDir, "node_modules", "rrweb", "dist")
	times := []int64{at(product, 0), at(checkout, checkout.lastInput+50), at(final, 0)}
	t0 := sortedEvents[0].Timestamp
	t.Logf("replaying at +%dms (product page), +%dms (checkout form), +%dms (end) of %d events; pages %+v",
		times[0]-t0, times[1]-t0, times[2]-t0, len(sorted), pages)
	runNode(t, node, dir, &rep, "replay", eventsFile, rrwebDist, out, fmt.Sprintf("%d,%d,%d", times[0], times[1], times[2]))
	require.Len(t, rep.States, 3)
	prodState, formState, endState := rep.States[0], rep.States[1], rep.States[2]
	assert.Contains(t, prodState.Text, w.ProductName, "the replayed product page shows the product that was viewed")
	assert.Contains(t, formState.Text, "Checkout")
	assert.Equal(t, strings.Repeat("*", len(card)), formState.Inputs["card-number"], "the card number replays masked")
	assert.Equal(t, strings.Repeat("*", len(buyerName)), formState.Inputs["name"], "the name replays masked")
	assert.Contains(t, endState.Text, "Thank you for your order!")
	assert.Contains(t, endState.Text, w.OrderID)
	for _, s := range rep.States {
		for _, secret := range []string{card, buyerName, giftNote} {
			assert.NotContains(t, s.HTML, secret)
		}
		info, err := os.Stat(s.Screenshot)
		require.NoError(t, err)
		assert.Positive(t, info.Size())
		t.Logf("replay screenshot: %s", s.Screenshot)
	}

	// The card number is nowhere in ClickHouse: not in the recording, not
	// in the backend's logs or spans, not in any table.
	tables := strings.Fields(query(t, col, `SELECT name FROM system.tables
		WHERE database = currentDatabase() AND engine LIKE '%MergeTree' ORDER BY name`, nil))
	require.Contains(t, tables, "hyperdx_sessions")
	require.Contains(t, tables, "otel_traces")
	for _, table := range tables {
		n := query(t, col, fmt.Sprintf(`SELECT count() FROM %s WHERE position(formatRow('TSVRaw', *), {s:String}) > 0`, table),
			map[string]string{"s": card})
		assert.Equal(t, "0", n, "the card number is not stored in %s", table)
	}
	for _, secret := range []string{buyerName, giftNote} {
		n := query(t, col, `SELECT (SELECT count() FROM hyperdx_sessions WHERE position(Body, {s:String}) > 0)
			+ (SELECT count() FROM session_replay_events WHERE position(EventData, {s:String}) > 0)`, map[string]string{"s": secret})
		assert.Equal(t, "0", n, "%q is not in the stored session", secret)
	}

	// The session's summary row: the checkout's trace among its TraceIds,
	// and "which session was this trace in?" answered by one query.
	summary := query(t, col, `SELECT PageViews, length(TraceIds), UserId, Browser
		FROM otel_sessions FINAL WHERE SessionId = {sid:String}`, sid)
	f := strings.Split(summary, "\t")
	require.Len(t, f, 4, summary)
	assert.Equal(t, "5", f[0], "five pages viewed")
	assert.GreaterOrEqual(t, atoi(t, f[1]), len(w.Requests), "every API call's trace id is in the session")
	assert.True(t, strings.HasPrefix(f[2], "visitor-"), "the anonymous visitor id is the session's user: %s", f[2])
	assert.True(t, strings.HasPrefix(f[3], "Chrome"), f[3])
	assert.Equal(t, w.SessionID, query(t, col, `SELECT SessionId FROM otel_sessions FINAL WHERE has(TraceIds, {tid:String})`, sid))
	assert.Equal(t, "1", query(t, col, `SELECT count() > 0 FROM hyperdx_sessions
		WHERE ResourceAttributes['rum.sessionId'] = {sid:String} AND position(ResourceAttributes['rum.traceIds'], {tid:String}) > 0`, sid),
		"the checkout's trace id came with an rrweb batch too")
	withBackend := query(t, col, `SELECT count() FROM otel_traces WHERE ServiceName = 'frontend'
		AND TraceId IN (SELECT arrayJoin(TraceIds) FROM otel_sessions FINAL WHERE SessionId = {sid:String})`, sid)
	assert.Positive(t, atoi(t, withBackend), "the session's trace ids lead to backend spans")

	// The checkout's trace: the browser's CLIENT span (HyperDX lists the
	// session from it), the frontend's server span as its child, and the
	// services behind it.
	spans := query(t, col, `SELECT ServiceName, SpanName, SpanKind, SpanId, ParentSpanId, StatusCode,
		ResourceAttributes['rum.sessionId'] FROM otel_traces WHERE TraceId = {tid:String} ORDER BY Timestamp`, sid)
	t.Logf("checkout trace %s:\n%s", checkoutTrace, spans)
	var browserSpan, frontendParent string
	services := map[string]bool{}
	for _, line := range strings.Split(spans, "\n") {
		c := strings.Split(line, "\t")
		require.Len(t, c, 7, line)
		services[c[0]] = true
		if c[0] == service {
			assert.Equal(t, "HTTP POST /checkout", c[1])
			assert.Equal(t, "Client", c[2])
			assert.Equal(t, w.SessionID, c[6], "the browser span carries rum.sessionId")
			assert.Equal(t, "Unset", c[5])
			browserSpan = c[3]
		}
		if c[0] == "frontend" && c[2] == "Server" && c[1] != "" && c[4] != "" && frontendParent == "" {
			frontendParent = c[4]
		}
	}
	assert.Equal(t, checkoutSpan, browserSpan, "the browser span is the one whose traceparent the request carried")
	assert.Equal(t, checkoutSpan, frontendParent, "the frontend's server span continues the browser's span")
	for _, s := range []string{service, app.Frontend, app.Checkout, app.Payment, app.Inventory} {
		assert.True(t, services[s], "%s has spans in the checkout's trace", s)
	}
	sessionSpans := query(t, col, `SELECT count() FROM otel_traces WHERE ServiceName = {service:String}
		AND ResourceAttributes['rum.sessionId'] = {sid:String} AND SpanName LIKE 'HTTP %' AND SpanKind = 'Client'`, sid)
	assert.Equal(t, len(w.Requests), atoi(t, sessionSpans), "one browser span per API call, all with the session id")

	// HyperDX's session list (its useSessions query over the trace source):
	// sessions by rum.sessionId having a "record init" span or user
	// interactions.
	listed := query(t, col, `SELECT sessionId, recordingCount, errorCount, sessionCount FROM (
		SELECT ResourceAttributes['rum.sessionId'] AS sessionId, max(Timestamp) AS maxTimestamp, min(Timestamp) AS minTimestamp,
			count() AS sessionCount, countIf(SpanAttributes['component'] = 'user-interaction') AS interactionCount,
			countIf(StatusCode = 'Error') AS errorCount, countIf(SpanName = 'record init') AS recordingCount
		FROM otel_traces WHERE mapContains(ResourceAttributes, 'rum.sessionId') GROUP BY sessionId
		HAVING interactionCount > 0 OR recordingCount > 0 ORDER BY maxTimestamp DESC LIMIT 500)`, nil)
	assert.Equal(t, fmt.Sprintf("%s\t5\t0\t%d", w.SessionID, len(w.Requests)+5), listed,
		"HyperDX lists the session: a record init span per page, no errors")
	assert.True(t, slices.ContainsFunc(w.Requests, func(r apiRequest) bool { return r.Path == "/payment" }), "the walk paid")
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	require.NoError(t, err, s)
	return n
}
