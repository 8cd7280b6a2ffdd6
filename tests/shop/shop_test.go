package shop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
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
	// Per page a record init and a documentLoad span, per API call a fetch
	// span, and the list page's sorting changed its URL in place once.
	assert.Equal(t, fmt.Sprintf("%s\t5\t0\t%d", w.SessionID, len(w.Requests)+5+5+1), listed,
		"HyperDX lists the session: a record init span per page, no errors")
	assert.True(t, slices.ContainsFunc(w.Requests, func(r apiRequest) bool { return r.Path == "/payment" }), "the walk paid")

	// HyperDX's session panel lists the session's events from the trace
	// source: "All Events" and "Highlighted".
	allEvents := sessionEvents(t, col, w.SessionID, false)
	var loads, routes, fetches []sessionEvent
	for _, e := range allEvents {
		switch {
		case e.SpanName == "documentLoad":
			loads = append(loads, e)
		case e.SpanName == "routeChange":
			routes = append(routes, e)
		case e.Component == "fetch":
			fetches = append(fetches, e)
		default:
			t.Errorf("unexpected event in the walk: %+v", e)
		}
	}
	require.Len(t, loads, 5, "a documentLoad per page")
	var loaded []string
	for _, e := range loads {
		assert.Equal(t, "document-load", e.Component)
		assert.Positive(t, e.DurationMs, "documentLoad lasts from the navigation's fetch to its load event")
		u, err := url.Parse(e.Href)
		require.NoError(t, err)
		loaded = append(loaded, u.Path)
	}
	assert.Equal(t, []string{"/", "/product.html", "/cart.html", "/checkout.html", "/order.html"}, loaded, "in the order the pages loaded")
	require.Len(t, routes, 1, "sorting the list changed its URL in place once")
	assert.Equal(t, "user-interaction", routes[0].Component)
	assert.True(t, strings.HasSuffix(routes[0].Href, "/?sort=name"), routes[0].Href)
	require.Len(t, fetches, len(w.Requests), "a fetch event per API call")
	for _, e := range fetches {
		assert.Regexp(t, `^(GET|POST|PUT|PATCH|DELETE)$`, e.Method)
		assert.Regexp(t, `^2\d\d$`, e.Status, "%+v", e)
		assert.Contains(t, e.URL, shop.FrontendURL())
		assert.Equal(t, "Unset", e.Severity)
	}
	highlighted := sessionEvents(t, col, w.SessionID, true)
	var names []string
	for _, e := range highlighted {
		names = append(names, e.SpanName)
	}
	assert.Equal(t, []string{"documentLoad", "routeChange", "documentLoad", "documentLoad", "documentLoad", "documentLoad"}, names,
		"highlighted: the page loads and the route change; no failed call, no error")

	// A shopper who follows a dead link: the product's API call fails (4xx),
	// the page shows and logs the error, and then something throws.
	var lost struct {
		SessionID string `json:"sessionId"`
		Status    string `json:"status"`
	}
	runNode(t, node, dir, &lost, "lost", shop.FrontendURL())
	require.NotEmpty(t, lost.SessionID)
	require.NotEqual(t, w.SessionID, lost.SessionID)
	assert.Contains(t, lost.Status, "Could not load the product")
	require.NoError(t, shop.Flush(t.Context()))
	eventually(t, col, "the lost shopper's error events", `SELECT count() FROM otel_traces
		WHERE ResourceAttributes['rum.sessionId'] = {sid:String} AND SpanAttributes['component'] = 'error'`,
		map[string]string{"sid": lost.SessionID}, func(s string) bool { return s == "2" })
	highlighted = sessionEvents(t, col, lost.SessionID, true)
	byName := map[string]sessionEvent{}
	for _, e := range highlighted {
		byName[e.SpanName] = e
	}
	require.Len(t, highlighted, 4, "the page load, the failed call and the two errors: %+v", highlighted)
	assert.Equal(t, "document-load", byName["documentLoad"].Component)
	failed := byName["HTTP GET /products/{id}"]
	assert.Regexp(t, `^4\d\d$`, failed.Status, "the failed call is highlighted by its status: %+v", highlighted)
	logged := byName["console.error"]
	assert.Equal(t, "error", logged.Component)
	assert.Equal(t, lost.Status, logged.ErrorMessage, "the error the page showed, as it logged it")
	thrown := byName["onerror"]
	assert.Equal(t, "error", thrown.Component)
	assert.Equal(t, "shop test: an uncaught error", thrown.ErrorMessage)
	exception := query(t, col, `SELECT Events.Name[1], Events.Attributes[1]['exception.type'], Events.Attributes[1]['exception.message'],
		SpanAttributes['error.object'], position(SpanAttributes['error.stack'], 'shop test') > 0
		FROM otel_traces WHERE ResourceAttributes['rum.sessionId'] = {sid:String} AND SpanName = 'onerror'`, map[string]string{"sid": lost.SessionID})
	assert.Equal(t, "exception\tTypeError\tshop test: an uncaught error\tTypeError\t1", exception)
}

// sessionEvent is a row of HyperDX's session event list.
type sessionEvent struct {
	Body         string  `json:"body"`
	Component    string  `json:"component"`
	DurationMs   float64 `json:"durationInMs"`
	ErrorMessage string  `json:"error.message"`
	Method       string  `json:"http.method"`
	Status       string  `json:"http.status_code"`
	URL          string  `json:"http.url"`
	Href         string  `json:"location.href"`
	Severity     string  `json:"severity_text"`
	SpanName     string  `json:"span_name"`
	Timestamp    string  `json:"timestamp"`
}

// sessionEvents runs HyperDX's session event list query (SessionSubpanel's
// events config over the trace source, as renderChartConfig writes its
// Lucene filters), "Highlighted" or "All Events", and reads its
// JSONCompactEachRowWithNamesAndTypes answer as HyperDX does: names, types,
// then one array per row.
func sessionEvents(t *testing.T, col *e2e.Collector, session string, highlighted bool) []sessionEvent {
	t.Helper()
	filter := `(SpanAttributes['http.status_code'] > '299' AND indexHint(mapContains(SpanAttributes, 'http.status_code')))
		OR (SpanAttributes['component'] = 'error' AND indexHint(mapContains(SpanAttributes, 'component')))`
	if !highlighted {
		filter = `(notEmpty(SpanAttributes['http.status_code']) = 1 AND indexHint(mapContains(SpanAttributes, 'http.status_code')))
		OR (SpanAttributes['component'] = 'console' AND indexHint(mapContains(SpanAttributes, 'component')))
		OR (SpanAttributes['component'] = 'error' AND indexHint(mapContains(SpanAttributes, 'component')))`
	}
	out := query(t, col, `SELECT SpanAttributes['message'] AS "body",SpanAttributes['component'] AS "component",
		toFloat64OrZero(toString(Duration)) * pow(10, 3) / pow(10, toInt8OrZero(toString(9))) AS "durationInMs",
		SpanAttributes['error.message'] AS "error.message",SpanAttributes['http.method'] AS "http.method",
		SpanAttributes['http.status_code'] AS "http.status_code",SpanAttributes['http.url'] AS "http.url",
		toString(cityHash64(TraceId, ParentSpanId, SpanId)) AS "id",SpanAttributes['location.href'] AS "location.href",
		ScopeName AS "otel.library.name",ParentSpanId AS "parent_span_id",StatusCode AS "severity_text",SpanId AS "span_id",
		SpanName AS "span_name",Timestamp AS "timestamp",TraceId AS "trace_id",CAST('span', 'String') AS "type"
	FROM otel_traces
	WHERE (Timestamp >= fromUnixTimestamp64Milli({start:Int64}) AND Timestamp <= fromUnixTimestamp64Milli({end:Int64}))
	  AND ((ResourceAttributes['rum.sessionId'] = {sid:String} AND indexHint(mapContains(ResourceAttributes, 'rum.sessionId')))
	  AND (`+filter+`
		OR (SpanName = 'routeChange') OR (SpanName = 'documentLoad') OR (SpanName = 'intercom.onShow') OR (ScopeName = 'custom-action')))
	ORDER BY Timestamp ASC
	LIMIT 4000 OFFSET 0
	FORMAT JSONCompactEachRowWithNamesAndTypes
	SETTINGS date_time_output_format = 'iso', output_format_json_quote_64bit_integers = 1`, map[string]string{
		"sid": session, "start": strconv.FormatInt(time.Now().Add(-time.Hour).UnixMilli(), 10), "end": strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10),
	})
	dec := json.NewDecoder(strings.NewReader(out))
	var names, types []string
	require.NoError(t, dec.Decode(&names), out)
	require.NoError(t, dec.Decode(&types), out)
	require.Len(t, types, len(names))
	var events []sessionEvent
	for dec.More() {
		var row []any
		require.NoError(t, dec.Decode(&row))
		require.Len(t, row, len(names))
		m := map[string]any{}
		for i, n := range names {
			m[n] = row[i]
		}
		b, err := json.Marshal(m)
		require.NoError(t, err)
		var e sessionEvent
		require.NoError(t, json.Unmarshal(b, &e), string(b))
		events = append(events, e)
	}
	return events
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	require.NoError(t, err, s)
	return n
}
