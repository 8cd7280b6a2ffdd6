package faults

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestSpecDecoding(t *testing.T) {
	t.Parallel()
	var fromJSON Spec
	require.NoError(t, json.Unmarshal([]byte(`{"type":"memory_growth","service":"inventory","bytes_per_request":"256KiB",
		"bytes_per_second":1048576,"max_bytes":"1.5GiB","latency":250,"jitter":"1s"}`), &fromJSON))
	assert.EqualValues(t, 256<<10, fromJSON.BytesPerRequest)
	assert.EqualValues(t, 1<<20, fromJSON.BytesPerSecond)
	assert.EqualValues(t, 3<<29, fromJSON.MaxBytes)
	assert.Equal(t, 250*time.Millisecond, fromJSON.Latency.D())
	assert.Equal(t, time.Second, fromJSON.Jitter.D())

	var fromYAML Spec
	require.NoError(t, yaml.Unmarshal([]byte("type: pool_squeeze\nservice: inventory\nhold_for: 15s\nprobability: 0.3\nmax_bytes: 64MiB\n"), &fromYAML))
	assert.Equal(t, 15*time.Second, fromYAML.HoldFor.D())
	assert.EqualValues(t, 64<<20, fromYAML.MaxBytes)

	b, err := json.Marshal(Spec{Type: Latency, Service: "cart", Latency: Duration(1500 * time.Millisecond)})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"latency":"1.5s"`)

	_, err = ParseBytes("lots")
	assert.Error(t, err)
}

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{Spec{Type: Latency, Service: "cart"}, "set latency and/or jitter"},
		{Spec{Type: ErrorRate, Service: "cart"}, "probability is required"},
		{Spec{Type: ErrorRate, Service: "cart", Probability: 0.5, Mode: "explode"}, "not panic or abort"},
		{Spec{Type: PoolSqueeze, Service: "inventory", Probability: 0.2}, "probability needs hold_for"},
		{Spec{Type: MemoryGrowth, Service: "inventory"}, "bytes_per_request"},
		{Spec{Type: DependencyUnavailable, Service: "payment"}, "dependency is required"},
		{Spec{Type: "warp", Service: "cart"}, "unknown type"},
		{Spec{Type: Latency, Latency: Duration(time.Second)}, "service is required"},
		{Spec{Type: Latency, Service: "cart", Latency: Duration(time.Second), Probability: 2}, "outside [0, 1]"},
	} {
		err := tc.spec.Validate()
		if assert.Error(t, err, "%+v", tc.spec) {
			assert.Contains(t, err.Error(), tc.want)
		}
	}
	assert.NoError(t, Spec{Type: ListenerDown, Service: "inventory"}.Validate())
}

func TestBuiltinScenarios(t *testing.T) {
	t.Parallel()
	got := map[string]string{}
	for _, s := range Scenarios() {
		got[s.Name] = s.RootCause
	}
	assert.Equal(t, map[string]string{
		"payment_timeout":    "inventory_service_db_pool_exhaustion",
		"cascade_failure":    "inventory_service_memory_leak",
		"intermittent_error": "race_condition_in_cart_update",
	}, got)
	_, ok := LookupScenario("cascade_failure")
	assert.True(t, ok)
}

func TestRegistryMatching(t *testing.T) {
	t.Parallel()
	r := NewRegistry([]string{"cart", "inventory", "payment"})
	r.RegisterPool("inventory", &fakePool{max: 10})
	_, err := r.Add("", []Spec{{Type: Latency, Service: "frontend", Latency: Duration(time.Millisecond)}}, 0)
	assert.ErrorIs(t, err, ErrNotHosted)

	g, err := r.Add("x", []Spec{
		{Type: Latency, Service: "cart", Route: "/carts/{id}", Latency: Duration(10 * time.Millisecond)},
		{Type: Latency, Service: "cart", Operation: "recompute_totals", Latency: Duration(20 * time.Millisecond)},
		{Type: Latency, Service: "payment", Dependency: "inventory", Latency: Duration(30 * time.Millisecond)},
		{Type: ErrorRate, Service: "inventory", Route: "POST /inventory/reserve", Probability: 1, Mode: ModeAbort},
		{Type: DependencyUnavailable, Service: "payment", Dependency: "payment-gateway"},
		{Type: PoolSqueeze, Service: "inventory", Probability: 1, HoldFor: Duration(time.Second)},
	}, 0)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Millisecond, r.Delay("cart", Match{Route: "GET /carts/{id}"}))
	assert.Zero(t, r.Delay("cart", Match{Route: "POST /carts/{id}/items"}))
	assert.Equal(t, 20*time.Millisecond, r.Delay("cart", Match{Operation: "recompute_totals", Statement: "UPDATE carts"}))
	assert.Zero(t, r.Delay("cart", Match{Operation: "add_item", Statement: "UPDATE carts"}))
	assert.Equal(t, 30*time.Millisecond, r.Delay("payment", Match{Dependency: "inventory"}))
	assert.Zero(t, r.Delay("payment", Match{Route: "POST /payments/authorize"}))
	assert.Equal(t, ModeAbort, r.Failure("inventory", "POST /inventory/reserve"))
	assert.Empty(t, r.Failure("inventory", "GET /products"))
	assert.True(t, r.DependencyDown("payment", "payment-gateway"))
	assert.False(t, r.DependencyDown("checkout", "payment-gateway"))
	assert.Equal(t, time.Second, r.HoldAfterUse("inventory"))

	require.NoError(t, r.Remove(g.ID))
	assert.Zero(t, r.Delay("cart", Match{Route: "GET /carts/{id}"}))
	assert.Zero(t, r.HoldAfterUse("inventory"))
	assert.ErrorIs(t, r.Remove(g.ID), ErrUnknownGroup)
	assert.Len(t, r.History(), 1)
}

type fakePool struct {
	max    int
	pinned int
}

func (p *fakePool) SetMaxOpenConns(n int) int { prev := p.max; p.max = n; return prev }
func (p *fakePool) Pin(n int) func()          { p.pinned += n; return func() { p.pinned -= n } }

type fakeListener struct{ up bool }

func (l *fakeListener) Down() error { l.up = false; return nil }
func (l *fakeListener) Up() error   { l.up = true; return nil }

func TestRegistryLifecycle(t *testing.T) {
	t.Parallel()
	r := NewRegistry([]string{"inventory"})
	pool := &fakePool{max: 10}
	lst := &fakeListener{up: true}
	r.RegisterPool("inventory", pool)
	r.RegisterListener("inventory", lst)
	changes := 0
	r.Subscribe(func() { changes++ })

	g, err := r.Add("", []Spec{
		{Type: PoolSqueeze, Service: "inventory", MaxOpenConns: 2, HoldConns: 1},
		{Type: ListenerDown, Service: "inventory"},
	}, 0)
	require.NoError(t, err)
	assert.Equal(t, 2, pool.max)
	assert.Equal(t, 1, pool.pinned)
	assert.False(t, lst.up)
	require.NoError(t, r.Remove(g.ID))
	assert.Equal(t, 10, pool.max)
	assert.Zero(t, pool.pinned)
	assert.True(t, lst.up)
	assert.Equal(t, 2, changes)

	_, err = r.Add("", []Spec{{Type: MemoryGrowth, Service: "inventory", BytesPerRequest: 64 << 10, MaxBytes: 256 << 10}}, 50*time.Millisecond)
	require.NoError(t, err)
	for range 10 {
		r.OnRequest("inventory", "GET /products")
	}
	assert.EqualValues(t, 256<<10, r.RetainedBytes("inventory"), "growth stops at max_bytes")
	require.Eventually(t, func() bool { return len(r.Groups()) == 0 }, 5*time.Second, 10*time.Millisecond, "ttl expiry")
	assert.Zero(t, r.RetainedBytes("inventory"), "memory is released with the primitive")
	r.Close()
}

// FuzzAddRequest feeds the admin API's body decoder arbitrary input: it must
// never panic, and whatever it accepts must survive validation.
func FuzzAddRequest(f *testing.F) {
	f.Add([]byte(`{"scenario":"payment_timeout","ttl":"90s"}`))
	f.Add([]byte(`{"faults":[{"type":"memory_growth","service":"inventory","bytes_per_request":"256KiB","max_bytes":1e9}]}`))
	f.Add([]byte(`{"faults":[{"type":"latency","service":"cart","latency":-5,"jitter":"1h"}],"ttl":12}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var req AddRequest
		if json.Unmarshal(b, &req) != nil {
			return
		}
		for _, s := range req.Faults {
			_ = s.Validate()
		}
	})
}
