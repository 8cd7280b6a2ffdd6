package run_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
)

// Paced windows (faults.first, faults.every) open whatever the trigger
// rates: the first at its offset, the next ones at the rhythm, the scenarios
// taking turns; the console says when each opens.
func TestPacedFaultWindows(t *testing.T) {
	acfg := app.DefaultConfig()
	for _, s := range app.Services {
		acfg.Listen[s] = "127.0.0.1:0"
	}
	acfg.Products = 100
	shop, err := app.Start(context.Background(), acfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = shop.Close() })

	cfg, err := run.Load("../config.yaml")
	require.NoError(t, err)
	cfg.Target, cfg.Admin = shop.FrontendURL(), shop.AdminURL()
	cfg.Browsers = 0
	cfg.Rate = 5
	cfg.Duration = run.Duration(9 * time.Second)
	cfg.GroundTruth = filepath.Join(t.TempDir(), "truth.jsonl")
	cfg.Faults.Tick = run.Duration(100 * time.Millisecond)
	cfg.Faults.Cooldown = run.Duration(500 * time.Millisecond)
	cfg.Faults.First = run.Duration(time.Second)
	cfg.Faults.Every = run.Duration(3 * time.Second)
	for i := range cfg.Scenarios {
		cfg.Scenarios[i].TriggerRate = 0 // only paced windows
		cfg.Scenarios[i].Window = run.Duration(time.Second)
	}

	var out bytes.Buffer
	sum, err := run.Run(context.Background(), cfg, &out)
	require.NoError(t, err)
	t.Log(out.String())
	assert.Contains(t, out.String(), "first fault window due at")
	require.Len(t, sum.FaultWindows, 3, "windows at about 1 s, 4 s and 7 s of a 9 s run")
	first := sum.FaultWindows[0]
	assert.GreaterOrEqual(t, first.Start.Sub(sum.Started), time.Second)
	assert.Less(t, first.Start.Sub(sum.Started), 3*time.Second, "the first window opens at faults.first")
	names := map[string]bool{}
	for i, w := range sum.FaultWindows {
		names[w.Scenario] = true
		assert.Equal(t, 1, strings.Count(out.String(), "fault window opened at "+w.Start.Format(time.TimeOnly)), "window %d announced", i)
		if i > 0 {
			gap := w.Start.Sub(sum.FaultWindows[i-1].Start)
			assert.GreaterOrEqual(t, gap, 3*time.Second-200*time.Millisecond, "windows %d and %d are faults.every apart", i-1, i)
		}
	}
	assert.Len(t, names, 3, "the three scenarios take turns")
	for _, r := range readTruth(t, cfg.GroundTruth) {
		if r["kind"] == run.KindFaultWindow {
			assert.Equal(t, "paced", r["trigger"])
		}
	}
}
