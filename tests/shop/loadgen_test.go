package shop

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/web"
	"github.com/otelcol-agentic/otelcol-agentic/tests/e2e"
)

// The load generator's browser journeys, through the built collector: each
// ends as a session HyperDX can list and replay (hyperdx_sessions) and as a
// row of otel_sessions whose trace ids lead to the backend's spans, and the
// session the ground truth names is the one the page recorded.
func TestLoadgenBrowserJourneysBecomeSessionsLinkedToBackendTraces(t *testing.T) {
	col, shop := collectorAndShop(t)

	cfg := browserLoad(t, shop, 1, 3)
	cfg.Scenarios = nil
	cfg.Duration = run.Duration(20 * time.Second)
	var out bytes.Buffer
	sum, err := run.Run(t.Context(), cfg, &out)
	require.NoError(t, err, out.String())
	t.Log(out.String())
	require.NoError(t, shop.Flush(t.Context()))
	for _, pid := range sum.Browser.PIDs {
		assert.False(t, run.Alive(pid), "Chromium process %d outlived the load generator", pid)
	}

	journeys := browserJourneys(t, cfg.GroundTruth)
	require.NotEmpty(t, journeys)
	checked := 0
	for _, j := range journeys {
		if j.Failure != "" || len(j.TraceIDs) == 0 {
			t.Logf("skipping journey %s (%s): %s", j.JourneyID, j.Script, j.Failure)
			continue
		}
		checked++
		p := map[string]string{"sid": j.SessionID, "service": service}
		// HyperDX lists and replays the session: its rrweb events, a full
		// snapshot (type 2) among them, under the page's session id.
		eventually(t, col, "the session's recording in hyperdx_sessions", `SELECT countIf(simpleJSONExtractInt(Body, 'type') = 2)
			FROM hyperdx_sessions WHERE ServiceName = {service:String} AND ResourceAttributes['rum.sessionId'] = {sid:String}`,
			p, func(s string) bool { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n >= 1 })
		// The session row holds the traces of the page's API calls (the
		// page's own spans, such as its load, have traces of their own), and
		// each leads to the backend's spans carrying the same session.
		for _, id := range j.TraceIDs[:min(3, len(j.TraceIDs))] {
			q := map[string]string{"tid": id, "sid": j.SessionID}
			eventually(t, col, "the otel_sessions row with trace "+id, `SELECT count() FROM otel_sessions FINAL
				WHERE SessionId = {sid:String} AND has(TraceIds, {tid:String})`, q, func(s string) bool { return strings.TrimSpace(s) == "1" })
			eventually(t, col, "backend spans of trace "+id, `SELECT countIf(ServiceName = 'frontend' AND SpanAttributes['session.id'] = {sid:String})
				FROM otel_traces WHERE TraceId = {tid:String}`,
				q, func(s string) bool { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n >= 1 })
		}
	}
	require.Positive(t, checked, "at least one browser journey ran its script to the end")
}

// collectorAndShop starts the built collector and an in-process shop whose
// pages record sessions to it.
func collectorAndShop(t *testing.T) (*e2e.Collector, *app.App) {
	t.Helper()
	if _, err := os.Stat(chromiumPath()); err != nil {
		t.Fatalf("Chromium not found at %s: run `make deps` (apt-get install chromium) or set CHROMIUM_PATH", chromiumPath())
	}
	webDir := filepath.Join(e2e.RepoRoot(t), "sampleapp", "web")
	if _, err := os.Stat(filepath.Join(webDir, filepath.FromSlash(web.RRWebFile))); err != nil {
		t.Fatalf("sampleapp/web/%s is missing: run `%s` from the repository root", web.RRWebFile, web.InstallHint)
	}
	shopAddr := e2e.FreePort(t)
	col := e2e.StartCollector(t, t.TempDir(),
		`receivers::rrweb::cors::allowed_origins=["http://`+shopAddr+`"]`)

	acfg := app.DefaultConfig()
	acfg.OTLPEndpoint = "http://" + col.OTLPHTTP
	acfg.RRWebEndpoint = "http://" + col.RRWeb
	acfg.WebDir = webDir
	for _, s := range app.Services {
		acfg.Listen[s] = "127.0.0.1:0"
	}
	acfg.Listen[app.Frontend] = shopAddr
	acfg.Products = 120
	acfg.BatchTimeout = 500 * time.Millisecond
	shop, err := app.Start(t.Context(), acfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = shop.Close() })

	return col, shop
}

// browserLoad is loadgen's config aimed at shop: browsers browsers with
// short pauses, a trickle of HTTP journeys, the ground truth in a temporary
// file.
func browserLoad(t *testing.T, shop *app.App, browsers int, seed uint64) run.Config {
	t.Helper()
	cfg, err := run.Load(filepath.Join(e2e.RepoRoot(t), "loadgen", "config.yaml"))
	require.NoError(t, err)
	cfg.Target, cfg.Admin = shop.FrontendURL(), shop.AdminURL()
	cfg.Browsers = browsers
	cfg.Rate = 0.2
	cfg.Seed = seed
	cfg.Browser.ThinkTime = run.Range{Min: run.Duration(100 * time.Millisecond), Max: run.Duration(300 * time.Millisecond)}
	cfg.GroundTruth = filepath.Join(t.TempDir(), "truth.jsonl")
	return cfg
}

func chromiumPath() string {
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

func browserJourneys(t *testing.T, path string) []run.BrowserJourneyRecord {
	t.Helper()
	var out []run.BrowserJourneyRecord
	for _, r := range readTruthRecords(t, path) {
		if r["kind"] != run.KindBrowserJourney {
			continue
		}
		b, err := json.Marshal(r)
		require.NoError(t, err)
		var rec run.BrowserJourneyRecord
		require.NoError(t, json.Unmarshal(b, &rec))
		out = append(out, rec)
	}
	return out
}
