package run_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/web"
	"github.com/otelcol-agentic/otelcol-agentic/tests/otlpcapture"
)

// browserShop starts an in-process shop whose pages record sessions (rrweb
// from sampleapp/web/node_modules) and whose spans go to a capture.
func browserShop(t *testing.T) (*app.App, *otlpcapture.Server) {
	t.Helper()
	chromium := os.Getenv("CHROMIUM_PATH")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium not found at %s: run `make deps` (apt-get install chromium) or set CHROMIUM_PATH", chromium)
	}
	webDir, err := filepath.Abs("../../sampleapp/web")
	require.NoError(t, err)
	if _, err := os.Stat(filepath.Join(webDir, filepath.FromSlash(web.RRWebFile))); err != nil {
		t.Fatalf("sampleapp/web/%s is missing: run `%s`", web.RRWebFile, web.InstallHint)
	}
	cap, err := otlpcapture.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cap.Close() })
	acfg := app.DefaultConfig()
	acfg.OTLPEndpoint = cap.URL()
	acfg.WebDir = webDir
	for _, s := range app.Services {
		acfg.Listen[s] = "127.0.0.1:0"
	}
	acfg.Products = 200
	acfg.BatchTimeout = 200 * time.Millisecond
	shop, err := app.Start(context.Background(), acfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = shop.Close() })
	return shop, cap
}

func browserConfig(t *testing.T, shop *app.App) run.Config {
	t.Helper()
	cfg, err := run.Load("../config.yaml")
	require.NoError(t, err)
	require.Equal(t, 2, cfg.Browsers, "the default config runs two browsers")
	cfg.Target, cfg.Admin = shop.FrontendURL(), shop.AdminURL()
	cfg.Rate = 0.5 // a little HTTP traffic besides
	cfg.Seed = 11
	cfg.Scenarios = nil
	cfg.GroundTruth = filepath.Join(t.TempDir(), "truth.jsonl")
	cfg.Browser.ThinkTime = run.Range{Min: run.Duration(50 * time.Millisecond), Max: run.Duration(200 * time.Millisecond)}
	return cfg
}

// Two browsers walk the shop for a while: every browser journey is recorded
// in the ground truth with the session its page made, the traces the page
// started reached the shop carrying that session, and once Run returns no
// process of either Chromium is alive.
func TestBrowserJourneysRecordSessionsAndLeaveNoChromium(t *testing.T) {
	shop, cap := browserShop(t)
	cfg := browserConfig(t, shop)
	cfg.Duration = run.Duration(25 * time.Second)
	// A mild window on inventory, which every product list goes through.
	cfg.Scenarios = []run.Scenario{{Name: "slow_inventory", RootCause: "inventory_service_latency",
		Windows: []run.FixedWindow{{Start: run.Duration(2 * time.Second), Duration: run.Duration(15 * time.Second)}},
		Inject:  []faultapi.Spec{{Type: faultapi.Latency, Service: "inventory", Latency: faultapi.Duration(20 * time.Millisecond)}}}}

	var out bytes.Buffer
	sum, err := run.Run(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Log(out.String())
	b := sum.Browser
	assert.Equal(t, 2, b.Browsers)
	assert.Equal(t, 2, b.Launches, "one launch per browser, no restart")
	require.Positive(t, b.Journeys)
	assert.Positive(t, b.PeakRSSBytes)
	assert.Positive(t, b.CPUSeconds)
	require.Greater(t, len(b.PIDs), b.Launches, "the helpers (zygote, renderers, GPU, network) are found, not only the browser")
	for _, pid := range b.PIDs {
		assert.False(t, run.Alive(pid), "Chromium process %d survived the load generator", pid)
	}

	require.NoError(t, shop.Flush(context.Background()))
	sessionOf := map[string]string{}
	for _, sp := range cap.Spans() {
		if sp.Service == "frontend" && sp.Kind == "Server" {
			sessionOf[sp.TraceID] = sp.Attrs["session.id"]
		}
	}
	seen := map[string]bool{}
	var journeys, finished int
	for _, r := range readTruth(t, cfg.GroundTruth) {
		if r["kind"] != run.KindBrowserJourney {
			continue
		}
		journeys++
		session, _ := r["session_id"].(string)
		require.Len(t, session, 36, "journey %v has the page's session id", r["journey_id"])
		assert.False(t, seen[session], "session %s of two journeys", session)
		seen[session] = true
		pages, _ := r["pages"].([]any)
		require.NotEmpty(t, pages)
		assert.Equal(t, "/", pages[0], "every browser journey starts on the product list")
		traces, _ := r["trace_ids"].([]any)
		require.NotEmpty(t, traces, "the product list calls the API: journey %v", r["journey_id"])
		for _, id := range traces {
			assert.Equal(t, session, sessionOf[id.(string)], "trace %s of browser journey %v reached the shop with its session", id, r["journey_id"])
		}
		if r["failure"] != nil {
			t.Logf("journey %v (%v) did not finish: %v", r["journey_id"], r["script"], r["failure"])
		} else {
			finished++
		}
	}
	assert.Equal(t, b.Journeys, journeys, "one record per browser journey")

	// The window lists the browser sessions it touched, each a browser
	// journey's.
	var windows int
	for _, r := range readTruth(t, cfg.GroundTruth) {
		if r["kind"] != run.KindFaultWindow {
			continue
		}
		windows++
		bs, _ := r["affected_browser_sessions"].([]any)
		require.NotEmpty(t, bs, "the browsers loaded product lists during the window")
		all, _ := r["affected_sessions"].([]any)
		for _, s := range bs {
			assert.True(t, seen[s.(string)], "affected browser session %s is a browser journey's", s)
			assert.Contains(t, all, s)
		}
	}
	assert.Equal(t, 1, windows)
	assert.Equal(t, b.Sessions, len(seen))
	assert.Positive(t, finished, "some journeys ran their script to the end")
}

// An interrupt ends browser journeys at once, and still no Chromium process
// is left.
func TestBrowserJourneysInterruptedLeaveNoChromium(t *testing.T) {
	shop, _ := browserShop(t)
	cfg := browserConfig(t, shop)
	cfg.Duration = 0 // until cancelled
	cfg.Browser.ThinkTime = run.Range{Min: run.Duration(time.Second), Max: run.Duration(2 * time.Second)}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(8*time.Second, cancel)
	var out bytes.Buffer
	sum, err := run.Run(ctx, cfg, &out)
	require.NoError(t, err)
	require.NotEmpty(t, sum.Browser.PIDs, "the browsers had started: %s", out.String())
	for _, pid := range sum.Browser.PIDs {
		assert.False(t, run.Alive(pid), "Chromium process %d survived the interrupted load generator", pid)
	}
	records := readTruth(t, cfg.GroundTruth)
	assert.Equal(t, run.KindRunEnd, records[len(records)-1]["kind"])
}

// A browser that dies (killed here, as the OOM killer would) is replaced by
// a fresh one, and its journeys go on; nothing of either is left after.
func TestBrowserThatDiesIsRestarted(t *testing.T) {
	shop, _ := browserShop(t)
	cfg := browserConfig(t, shop)
	cfg.Browsers = 1
	cfg.Duration = run.Duration(25 * time.Second)

	killed := make(chan int, 1)
	go func() {
		// The Chromium this test process started (its child), once it has
		// served for a few seconds.
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			if pid := childChromium(t); pid > 0 && time.Now().After(deadline.Add(-14*time.Second)) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				killed <- pid
				return
			}
		}
		killed <- 0
	}()
	var out bytes.Buffer
	sum, err := run.Run(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Log(out.String())
	pid := <-killed
	require.NotZero(t, pid, "the browser was found and killed")
	b := sum.Browser
	assert.Contains(t, b.PIDs, pid)
	assert.GreaterOrEqual(t, b.Launches, 2, "a new browser replaced the dead one")
	assert.GreaterOrEqual(t, b.Restarts, 1)
	for _, p := range b.PIDs {
		assert.False(t, run.Alive(p), "Chromium process %d survived", p)
	}
	// Journeys ran after the restart.
	var after int
	for _, r := range readTruth(t, cfg.GroundTruth) {
		if r["kind"] == run.KindBrowserJourney && r["failure"] == nil {
			after++
		}
	}
	assert.Positive(t, after)
}

// childChromium returns the PID of a Chromium browser process (not a helper)
// whose parent is this test process, or 0.
func childChromium(t *testing.T) int {
	entries, err := os.ReadDir("/proc")
	require.NoError(t, err)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(os.Getpid()) {
			continue
		}
		cmd, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if bytes.Contains(cmd, []byte("--user-data-dir=")) && !bytes.Contains(cmd, []byte("--type=")) {
			return pid
		}
	}
	return 0
}
