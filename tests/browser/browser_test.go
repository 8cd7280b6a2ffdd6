package browser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	productName = "Aurora Desk Lamp"
	typedSecret = "secret-card-4242"
	service     = "shop-web"
)

// prerequisites finds node, Chromium and the npm packages, or fails saying
// how to install them.
func prerequisites(t *testing.T) (node, dir string) {
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
	for _, p := range []string{"node_modules/rrweb/dist/rrweb.umd.min.cjs", "node_modules/playwright-core/package.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("%s is missing: run `npm ci --prefix tests/browser` from the repository root", p)
		}
	}
	return node, dir
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

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Title}} — Agentic Shop</title>
<style>body{font-family:sans-serif;margin:2em} .spec{color:#555;font-size:11px;margin:0}</style>
<script src="/rrweb.js"></script>
<script>window.RRWEB_CONFIG = {endpoint: {{.Endpoint}}, service: {{.Service}}};</script>
<script src="/recorder.js"></script>
</head><body>
{{if .Product}}
<h1 id="product-name">{{.Product}}</h1>
<p class="price">€ 49.00</p>
<form id="buy" onsubmit="return false">
  <button type="button" id="qty-minus" onclick="q.value=Math.max(1,+q.value-1)">−</button>
  <output id="q">1</output>
  <button type="button" id="qty-plus" onclick="q.value=+q.value+1">+</button>
  <label>Card number <input id="card" name="card" type="text" autocomplete="off"></label>
  <a id="to-cart" href="/cart">Add to cart</a>
</form>
<section id="specs">{{range .Specs}}<p class="spec">{{.}}</p>{{end}}</section>
{{else}}
<h1>Your cart</h1>
<p id="line">{{.CartLine}}</p>
<button type="button" id="checkout" onclick="this.textContent='Thank you!'">Checkout</button>
{{end}}
</body></html>`))

const replayPage = `<!doctype html>
<html><head><meta charset="utf-8"><title>replay</title>
<link rel="stylesheet" href="/rrweb.css"><script src="/rrweb.js"></script>
</head><body><div id="player"></div></body></html>`

// shop serves the test's shop pages and rrweb from node_modules.
func shop(t *testing.T, dir string, receiverURL func() string) *httptest.Server {
	mux := http.NewServeMux()
	// A long specification table makes the full snapshot larger than
	// 950 KiB, so the session holds a chunked event.
	specs := make([]string, 6000)
	for i := range specs {
		specs[i] = fmt.Sprintf("Specification %d: aluminium arm, warm white LED, 2700 K, 806 lm, dimmable, cable 1.8 m — Prüfzeichen ✓", i+1)
	}
	render := func(w http.ResponseWriter, data map[string]any) {
		data["Endpoint"] = receiverURL()
		data["Service"] = service
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		require.NoError(t, pageTemplate.Execute(w, data))
	}
	mux.HandleFunc("/product", func(w http.ResponseWriter, _ *http.Request) {
		render(w, map[string]any{"Title": productName, "Product": productName, "Specs": specs})
	})
	mux.HandleFunc("/cart", func(w http.ResponseWriter, _ *http.Request) {
		render(w, map[string]any{"Title": "Cart", "CartLine": productName + " × 2"})
	})
	mux.HandleFunc("/replay", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(replayPage))
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	files := map[string]string{
		"/rrweb.js":    "node_modules/rrweb/dist/rrweb.umd.min.cjs",
		"/rrweb.css":   "node_modules/rrweb/dist/style.css",
		"/recorder.js": "recorder.js",
	}
	for path, file := range files {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(path, ".css") {
				w.Header().Set("Content-Type", "text/css")
			} else {
				w.Header().Set("Content-Type", "text/javascript")
			}
			http.ServeFile(w, r, filepath.Join(dir, file))
		})
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func runNode(t *testing.T, node, dir string, out any, args ...string) {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(dir, "browser.mjs")}, args...)...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "node browser.mjs %s:\n%s", args[0], stderr.String())
	require.NoError(t, json.Unmarshal(stdout.Bytes(), out), stdout.String())
}

type rrwebEvent struct {
	Type      int             `json:"type"`
	Timestamp int64           `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

func TestRealBrowserSessionIsStoredAndReplays(t *testing.T) {
	node, dir := prerequisites(t)
	var p *pipeline
	page := shop(t, dir, func() string { return p.receiverURL })
	p = startPipeline(t, "browser_e2e", false, page.URL)

	// Record: Chromium opens the product page, clicks, types, goes to the cart.
	var rec struct {
		SessionID   string   `json:"sessionId"`
		SameSession bool     `json:"sameSession"`
		Problems    []string `json:"problems"`
	}
	runNode(t, node, dir, &rec, "record", page.URL)
	require.NotEmpty(t, rec.SessionID)
	assert.True(t, rec.SameSession, "one session across both pages")
	assert.Empty(t, rec.Problems, "the shop pages ran without errors (CORS included)")

	// Read the session back with HyperDX's replay query and rebuild it.
	raw, chunkRows := p.replayEvents(t, service, rec.SessionID)
	require.NotEmpty(t, raw)
	assert.Positive(t, chunkRows, "the product page's full snapshot (over 950 KiB) is stored in chunks")
	events := make([]rrwebEvent, len(raw))
	// Rows come ordered by the second (TimestampTime), as HyperDX reads
	// them; rrweb's Replayer orders events by their millisecond timestamps.
	var inputs []int64
	var lastInput, cartMeta int64
	for i, r := range raw {
		require.NoError(t, json.Unmarshal(r, &events[i]))
		e := events[i]
		var d struct {
			Source *int   `json:"source"`
			Href   string `json:"href"`
		}
		_ = json.Unmarshal(e.Data, &d)
		if e.Type == 3 && d.Source != nil && *d.Source == 5 {
			inputs = append(inputs, e.Timestamp)
		}
		if e.Type == 4 && strings.HasSuffix(d.Href, "/cart") {
			cartMeta = e.Timestamp
		}
	}
	for _, ts := range inputs {
		if ts < cartMeta {
			lastInput = max(lastInput, ts)
		}
	}
	require.NotZero(t, lastInput, "the typing was recorded as input events")
	require.NotZero(t, cartMeta, "the cart page was recorded")
	last := events[len(events)-1].Timestamp
	for _, e := range events {
		last = max(last, e.Timestamp)
	}

	// Typed text never left the browser, and is nowhere in storage.
	assert.NotContains(t, strings.Join(func() []string {
		s := make([]string, len(raw))
		for i, r := range raw {
			s[i] = string(r)
		}
		return s
	}(), "\n"), typedSecret)
	leaks := p.query(t, `SELECT (SELECT count() FROM hyperdx_sessions WHERE position(Body, {s:String}) > 0)
		+ (SELECT count() FROM session_replay_events WHERE position(EventData, {s:String}) > 0) FORMAT TSV`, map[string]string{"s": typedSecret})
	assert.Equal(t, "0\n", leaks)

	// Replay in Chromium: right after the typing, and at the end.
	out := outputDir(t)
	eventsFile := filepath.Join(out, "events.json")
	b, err := json.Marshal(raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(eventsFile, b, 0o644))
	var rep struct {
		States []struct {
			Text       string   `json:"text"`
			HTML       string   `json:"html"`
			Inputs     []string `json:"inputs"`
			Screenshot string   `json:"screenshot"`
		} `json:"states"`
		Problems []string `json:"problems"`
	}
	runNode(t, node, dir, &rep, "replay", page.URL, eventsFile, out, fmt.Sprintf("%d,%d", lastInput+50, last+1))
	require.Len(t, rep.States, 2)
	product, cart := rep.States[0], rep.States[1]
	assert.Contains(t, product.Text, productName, "the replayed product page shows the product")
	assert.Contains(t, product.Inputs, strings.Repeat("*", len(typedSecret)), "the card field replays masked")
	assert.Contains(t, cart.Text, "Your cart")
	assert.Contains(t, cart.Text, productName+" × 2")
	for _, s := range rep.States {
		assert.NotContains(t, s.HTML, typedSecret)
		assert.NotContains(t, strings.Join(s.Inputs, " "), typedSecret)
		info, err := os.Stat(s.Screenshot)
		require.NoError(t, err)
		assert.Positive(t, info.Size())
		t.Logf("screenshot: %s", s.Screenshot)
	}

	// The session's summary row.
	summary := p.query(t, `SELECT PageViews, DeviceType, Browser, length(TraceIds), Duration > 0,
		(SELECT count() FROM session_replay_events WHERE SessionId = {sid:String}),
		(SELECT countIf(EventType = 'input') FROM session_replay_events WHERE SessionId = {sid:String})
	FROM otel_sessions FINAL WHERE SessionId = {sid:String} FORMAT TSV`, map[string]string{"sid": rec.SessionID})
	fields := strings.Split(strings.TrimSpace(summary), "\t")
	require.Len(t, fields, 7, summary)
	assert.Equal(t, "2", fields[0], "product page and cart")
	assert.Equal(t, "desktop", fields[1])
	assert.True(t, strings.HasPrefix(fields[2], "Chrome"), fields[2])
	assert.Equal(t, "1", fields[4])
	assert.Equal(t, fmt.Sprint(len(events)), fields[5], "one session_replay_events row per event")
	assert.NotEqual(t, "0", fields[6])
}
