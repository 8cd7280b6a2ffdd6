package run_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/tests/otlpcapture"
)

// TestRunAgainstShop runs loadgen briefly against an in-process shop with one
// short, scheduled fault window and checks the ground truth against what the
// shop saw.
func TestRunAgainstShop(t *testing.T) {
	cap, err := otlpcapture.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cap.Close() })

	acfg := app.DefaultConfig()
	acfg.OTLPEndpoint = cap.URL()
	for _, s := range app.Services {
		acfg.Listen[s] = "127.0.0.1:0"
	}
	acfg.Products = 300
	acfg.BatchTimeout = 200 * time.Millisecond
	acfg.Timeouts.PoolAcquire = 500 * time.Millisecond
	acfg.Timeouts.InventoryAttempt = 700 * time.Millisecond
	acfg.Timeouts.Payment = 1500 * time.Millisecond
	acfg.Timeouts.Gateway = time.Second
	shop, err := app.Start(context.Background(), acfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = shop.Close() })

	cfg, err := run.Load("../config.yaml")
	require.NoError(t, err)
	cfg.Target = shop.FrontendURL()
	cfg.Admin = shop.AdminURL() // its own port, not the frontend's
	cfg.Rate = 15
	cfg.Concurrency = 24
	cfg.Duration = run.Duration(5 * time.Second)
	cfg.Seed = 7
	cfg.Browsers = 0 // HTTP journeys only: browser_test.go runs the browsers
	cfg.ThinkTime = run.Range{Min: run.Duration(5 * time.Millisecond), Max: run.Duration(30 * time.Millisecond)}
	cfg.RequestTimeout = run.Duration(10 * time.Second)
	cfg.GroundTruth = filepath.Join(t.TempDir(), "truth.jsonl")
	cfg.Faults.Tick = run.Duration(500 * time.Millisecond)
	// One scheduled window of the first seed scenario, nothing random.
	sc := cfg.Scenarios[0]
	sc.TriggerRate = 0
	sc.Windows = []run.FixedWindow{{Start: run.Duration(time.Second), Duration: run.Duration(2 * time.Second)}}
	cfg.Scenarios = []run.Scenario{sc}

	var out bytes.Buffer
	sum, err := run.Run(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Log(out.String())
	assert.Positive(t, sum.Journeys)
	assert.Contains(t, out.String(), "run finished")
	assert.Contains(t, out.String(), "journeys")

	records := readTruth(t, cfg.GroundTruth)
	require.NotEmpty(t, records)
	assert.Equal(t, run.KindRunStart, records[0]["kind"])
	assert.Equal(t, run.KindRunEnd, records[len(records)-1]["kind"])

	var windows []run.WindowRecord
	kinds := map[string]int{}
	for _, r := range records {
		kind, _ := r["kind"].(string)
		kinds[kind]++
		if kind == run.KindFaultWindow {
			b, _ := json.Marshal(r)
			var w run.WindowRecord
			require.NoError(t, json.Unmarshal(b, &w))
			windows = append(windows, w)
		}
	}
	require.Len(t, windows, 1, "kinds %v", kinds)
	w := windows[0]
	assert.Equal(t, "payment_timeout", w.Scenario)
	assert.Equal(t, "inventory_service_db_pool_exhaustion", w.RootCause)
	assert.Equal(t, "inventory", w.RootCauseService)
	assert.Equal(t, "db_pool_exhaustion", w.RootCauseKind)
	assert.Equal(t, "scheduled", w.Trigger)
	assert.True(t, w.End.After(w.Start))
	assert.False(t, w.Start.Before(sum.Started))
	assert.False(t, w.End.After(sum.Ended))
	assert.NotEmpty(t, w.TraceIDs)
	assert.Equal(t, []faultapi.Spec(sc.Inject), w.Faults)
	require.NotEmpty(t, w.AffectedSessions, "the window's requests carried their journeys' sessions")
	assert.LessOrEqual(t, len(w.AffectedSessions), w.Journeys, "one session per journey")
	assert.Subset(t, w.AffectedSessions, w.ErrorSessions)
	assert.Empty(t, w.AffectedBrowserSessions, "no browsers in this run")
	assert.Positive(t, kinds[run.KindErrorJourney]+kinds[run.KindAnomalous]+kinds[run.KindEdgeCase])

	// The shop applied exactly that composition, inside the recorded window.
	hist := shop.Faults().History()
	require.Len(t, hist, 1)
	assert.Equal(t, "payment_timeout", hist[0].Label)
	assert.False(t, hist[0].Added.After(w.Start), "added %v, window start %v", hist[0].Added, w.Start)
	assert.False(t, hist[0].Removed.After(w.End), "removed %v, window end %v", hist[0].Removed, w.End)
	assert.Empty(t, shop.Faults().Groups())

	// Every trace the window lists reached the shop, through the frontend.
	require.NoError(t, shop.Flush(context.Background()))
	seen := map[string]bool{}
	sessionOf := map[string]string{} // trace id -> session the frontend recorded
	for _, sp := range cap.Spans() {
		if sp.Service == "frontend" {
			seen[sp.TraceID] = true
			if sp.Kind == "Server" {
				sessionOf[sp.TraceID] = sp.Attrs["session.id"]
			}
		}
	}
	// Each journey is one session: all its requests carried the session id
	// the ground truth names, and no other journey's did.
	owner := map[string]string{}
	for _, r := range records {
		if r["kind"] != run.KindErrorJourney && r["kind"] != run.KindAnomalous && r["kind"] != run.KindEdgeCase {
			continue
		}
		session, _ := r["session_id"].(string)
		require.Len(t, session, 36, "journey %v", r["journey_id"])
		assert.Empty(t, owner[session], "session %s of two journeys", session)
		owner[session] = r["journey_id"].(string)
		for _, id := range r["trace_ids"].([]any) {
			if seen[id.(string)] {
				assert.Equal(t, session, sessionOf[id.(string)], "trace %s of journey %v", id, r["journey_id"])
			}
		}
	}
	for _, id := range w.TraceIDs {
		assert.True(t, seen[id], "trace %s of the window never reached the shop", id)
	}
	// ...and so did the journeys' traces.
	for _, r := range records {
		if r["kind"] == run.KindErrorJourney || r["kind"] == run.KindAnomalous {
			for _, id := range r["trace_ids"].([]any) {
				assert.True(t, seen[id.(string)], "journey trace %s never reached the shop", id)
			}
		}
	}
}

func readTruth(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m), sc.Text())
		out = append(out, m)
	}
	require.NoError(t, sc.Err())
	return out
}
