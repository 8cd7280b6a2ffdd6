package run

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../config.yaml")
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, map[string]int{Normal: 70, ErrorInjection: 15, Anomalous: 10, EdgeCase: 5}, cfg.JourneyMix)
	require.Len(t, cfg.Scenarios, 3)
	want := map[string][3]string{
		"payment_timeout":    {"inventory_service_db_pool_exhaustion", "inventory", "db_pool_exhaustion"},
		"cascade_failure":    {"inventory_service_memory_leak", "inventory", "memory_leak"},
		"intermittent_error": {"race_condition_in_cart_update", "cart", "race_condition"},
	}
	for _, s := range cfg.Scenarios {
		svc, kind := s.rootCause()
		assert.Equal(t, want[s.Name], [3]string{s.RootCause, svc, kind}, s.Name)
		assert.Positive(t, float64(s.TriggerRate))
	}
	assert.InDelta(t, 0.05, float64(cfg.Scenarios[0].TriggerRate), 1e-9)
	assert.Equal(t, 60*time.Second, cfg.Scenarios[0].Window.D())
	assert.Equal(t, "http://127.0.0.1:8085", cfg.AdminURL(), "the shop's admin port, not its frontend")
	assert.Equal(t, 2, cfg.Browsers)
	assert.Equal(t, 768, cfg.Browser.MaxRSSMiB)
	assert.Equal(t, 3*time.Minute, cfg.Browser.JourneyTimeout.D())
	// Every pattern has a browser script.
	for _, c := range Categories {
		for _, p := range patternNames(c) {
			assert.NotEmpty(t, browserScripts[p], "pattern %s has no browser script", p)
		}
	}
}

func TestBrowserConfigErrors(t *testing.T) {
	t.Parallel()
	cfg, err := Parse([]byte(`
browsers: -1
browser: {think_time: {min: 2s, max: 1s}, max_rss_mib: 10, lifetime: 0, journey_timeout: 0}
`))
	require.NoError(t, err)
	err = cfg.Validate()
	for _, want := range []string{"browsers must not be negative", "browser.think_time", "max_rss_mib must be at least 64",
		"browser.lifetime must be positive", "browser.journey_timeout must be positive"} {
		assert.ErrorContains(t, err, want)
	}
	cfg = Defaults()
	cfg.Browser.Executable = "/nonexistent/chromium"
	_, err = cfg.Browser.chromiumPath()
	assert.ErrorContains(t, err, "/nonexistent/chromium")
}

func TestRouteOf(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/products": "GET /products", "/products/12": "GET /products/{id}", "/products/12/recommendations": "GET /products/{id}/recommendations",
		"/cart/abc": "GET /cart/{id}", "/orders/o-1": "GET /orders/{id}", "/inventory/check": "GET /inventory/check",
	} {
		got := routeOf("GET", path)
		assert.Equal(t, want, got)
		assert.NotEmpty(t, services(got), "route %s is in the topology", got)
	}
	assert.Equal(t, "POST /cart/add", routeOf("POST", "/cart/add"))
	assert.Equal(t, "POST /checkout", routeOf("POST", "/checkout"))
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("rate: 5\nbogus: 1\n"))
	assert.ErrorContains(t, err, "bogus")

	cfg, err := Parse([]byte(`
rate: 0
journey_mix: {normal: 1, weird: 2}
patterns: {normal: {teleport: 1}}
scenarios:
  - name: x
    trigger_rate: 5%
    root_cause: something_vague
    inject: [{type: latency, service: cart}]
`))
	require.NoError(t, err)
	err = cfg.Validate()
	for _, want := range []string{"rate must be positive", `unknown category "weird"`, `unknown pattern "teleport"`,
		"root_cause is required", "set latency and/or jitter", "needs a window duration"} {
		assert.ErrorContains(t, err, want)
	}
}

func TestParsePercent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]float64{"5%": 0.05, "0.05": 0.05, "100%": 1, "0": 0} {
		got, err := ParsePercent(in)
		require.NoError(t, err, in)
		assert.InDelta(t, want, got, 1e-12, in)
	}
	for _, in := range []string{"150%", "-1", "lots"} {
		_, err := ParsePercent(in)
		assert.Error(t, err, in)
	}
}

// TestJourneyMix draws 10,000 journeys from a seeded picker: each category's
// share must be within 2 points of its configured share.
func TestJourneyMix(t *testing.T) {
	t.Parallel()
	cfg, err := Load("../config.yaml")
	require.NoError(t, err)
	for _, seed := range []uint64{1, 42, 2026} {
		pk := newPicker(cfg)
		rng := rand.New(rand.NewPCG(seed, 0x10ad))
		const n = 10000
		cats := map[string]int{}
		pats := map[string]int{}
		for range n {
			c, p := pk.pick(rng)
			cats[c]++
			pats[p]++
			assert.Equal(t, c, lookupPattern(p).category)
		}
		total := 0
		for _, w := range cfg.JourneyMix {
			total += w
		}
		for c, w := range cfg.JourneyMix {
			want := 100 * float64(w) / float64(total)
			got := 100 * float64(cats[c]) / n
			assert.InDelta(t, want, got, 2, "seed %d category %s", seed, c)
		}
		for _, p := range patterns {
			assert.Positive(t, pats[p.name], "seed %d: pattern %s never drawn", seed, p.name)
		}
	}
}

func TestPickerIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Defaults()
	draw := func() []string {
		pk := newPicker(cfg)
		rng := rand.New(rand.NewPCG(7, 0x10ad))
		var out []string
		for range 50 {
			_, p := pk.pick(rng)
			out = append(out, p)
		}
		return out
	}
	assert.Equal(t, draw(), draw())
}

func TestHasFlag(t *testing.T) {
	t.Parallel()
	flag := []byte("--user-data-dir=/tmp/x-1")
	assert.True(t, hasFlag([]byte("chromium\x00--user-data-dir=/tmp/x-1\x00--headless\x00"), flag))
	assert.True(t, hasFlag([]byte("/usr/lib/chromium/chromium --type=renderer --user-data-dir=/tmp/x-1 --lang=en"), flag), "helpers rewrite argv with spaces")
	assert.True(t, hasFlag([]byte("chromium --user-data-dir=/tmp/x-1"), flag))
	assert.False(t, hasFlag([]byte("chromium --user-data-dir=/tmp/x-12 --x"), flag), "another browser's directory")
	assert.True(t, hasFlag([]byte("a --user-data-dir=/tmp/x-12 --user-data-dir=/tmp/x-1"), flag))
}
