package app_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
	"github.com/otelcol-agentic/otelcol-agentic/tests/otlpcapture"
)

func TestAdminAPI(t *testing.T) {
	t.Parallel()
	s := startShop(t, nil)
	admin := s.AdminURL() + "/admin"

	r := call(t, "GET", admin+"/scenarios", nil, "")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.Body["scenarios"], 3)

	r = call(t, "POST", admin+"/faults", map[string]any{"scenario": "no_such_thing"}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status)
	r = call(t, "POST", admin+"/faults", map[string]any{"faults": []map[string]any{{"type": "latency", "service": "cart"}}}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status, "latency without a duration must be rejected")
	r = call(t, "POST", admin+"/faults", map[string]any{"faults": []map[string]any{{"type": "warp", "service": "cart"}}}, "")
	assert.Equal(t, http.StatusBadRequest, r.Status)

	id := addFaults(t, s, map[string]any{"label": "slow cart", "faults": []map[string]any{
		{"type": "latency", "service": "cart", "route": "GET /carts/{id}", "latency": "10ms"},
	}})
	r = call(t, "GET", admin+"/faults", nil, "")
	require.Equal(t, http.StatusOK, r.Status)
	assert.Len(t, r.Body["faults"], 1)
	assert.Len(t, s.Faults().Groups(), 1)
	removeFaults(t, s, id)
	assert.Empty(t, s.Faults().Groups())
	r = call(t, "DELETE", admin+"/faults/"+id, nil, "")
	assert.Equal(t, http.StatusNotFound, r.Status)

	// A ttl removes the composition by itself.
	addFaults(t, s, map[string]any{"ttl": "100ms", "faults": []map[string]any{
		{"type": "latency", "service": "inventory", "latency": "1ms"},
	}})
	require.Eventually(t, func() bool { return len(s.Faults().Groups()) == 0 }, 10*time.Second, 20*time.Millisecond)

	// DELETE /admin/faults clears everything.
	addFaults(t, s, map[string]any{"faults": []map[string]any{{"type": "latency", "service": "inventory", "latency": "1ms"}}})
	r = call(t, "DELETE", admin+"/faults", nil, "")
	assert.Equal(t, http.StatusNoContent, r.Status)
	assert.Empty(t, s.Faults().Groups())

	// The admin API leaves no trace in telemetry.
	s.flush(t)
	for _, sp := range s.cap.Spans() {
		assert.NotContains(t, sp.Name, "admin")
	}
}

func TestPrimitives(t *testing.T) {
	t.Parallel()
	s := startShop(t, nil)
	base := s.FrontendURL()

	t.Run("dependency_unavailable", func(t *testing.T) {
		id := addFaults(t, s, map[string]any{"faults": []map[string]any{
			{"type": "dependency_unavailable", "service": "frontend", "dependency": "inventory"},
		}})
		r := call(t, "GET", base+"/products/4", nil, "")
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Contains(t, r.str("message"), "connection refused")
		// Other callers still reach inventory.
		r = call(t, "POST", base+"/cart/add", map[string]any{"product_id": 4, "quantity": 1}, "")
		assert.Equal(t, http.StatusOK, r.Status, r.Raw)
		removeFaults(t, s, id)
		assert.Equal(t, http.StatusOK, call(t, "GET", base+"/products/4", nil, "").Status)
	})

	t.Run("listener_down", func(t *testing.T) {
		id := addFaults(t, s, map[string]any{"faults": []map[string]any{{"type": "listener_down", "service": "inventory"}}})
		r := call(t, "POST", base+"/cart/add", map[string]any{"product_id": 4, "quantity": 1}, "")
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Contains(t, r.str("message"), "connection refused")
		removeFaults(t, s, id)
		assert.Equal(t, http.StatusOK, call(t, "GET", base+"/products/4", nil, "").Status)
	})

	t.Run("error_rate", func(t *testing.T) {
		id := addFaults(t, s, map[string]any{"faults": []map[string]any{
			{"type": "error_rate", "service": "inventory", "route": "/products/{id}", "probability": 1},
		}})
		r := call(t, "GET", base+"/products/4", nil, "")
		assert.Equal(t, http.StatusInternalServerError, r.Status, r.Raw)
		// Only the named route is affected.
		assert.Equal(t, http.StatusOK, call(t, "GET", base+"/products?page_size=1", nil, "").Status)
		removeFaults(t, s, id)

		id = addFaults(t, s, map[string]any{"faults": []map[string]any{
			{"type": "error_rate", "service": "inventory", "probability": 1, "mode": "abort"},
		}})
		r = call(t, "GET", base+"/products/4", nil, "")
		assert.Equal(t, http.StatusBadGateway, r.Status, r.Raw)
		assert.Contains(t, r.str("message"), "EOF")
		removeFaults(t, s, id)
	})

	t.Run("latency on a dependency", func(t *testing.T) {
		id := addFaults(t, s, map[string]any{"faults": []map[string]any{
			{"type": "latency", "service": "frontend", "dependency": "inventory", "latency": "300ms"},
		}})
		start := time.Now()
		require.Equal(t, http.StatusOK, call(t, "GET", base+"/products/4", nil, "").Status)
		assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond)
		removeFaults(t, s, id)
	})

	t.Run("pool_squeeze cap", func(t *testing.T) {
		id := addFaults(t, s, map[string]any{"faults": []map[string]any{
			{"type": "pool_squeeze", "service": "inventory", "max_open_conns": 1, "hold_conns": 1},
		}})
		r := call(t, "GET", base+"/inventory/check?skus=SKU-1004", nil, "")
		assert.Equal(t, http.StatusServiceUnavailable, r.Status, r.Raw)
		assert.Contains(t, r.str("message"), "max=1")
		removeFaults(t, s, id)
		assert.Equal(t, http.StatusOK, call(t, "GET", base+"/inventory/check?skus=SKU-1004", nil, "").Status)
	})

	s.flush(t)
	assert.NotEmpty(t, logsOf(s.cap, "inventory", "ERROR", "nil pointer dereference"))
	assertNoForbiddenText(t, s.cap)
}

// The fault API is served on its own loopback port only: no service port
// answers /admin/, and nothing listens beyond loopback by default.
func TestAdminOnlyOnItsPort(t *testing.T) {
	t.Parallel()
	s := startShop(t, nil)
	admin, err := url.Parse(s.AdminURL())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", admin.Hostname())
	r := call(t, "GET", s.AdminURL()+"/admin/faults", nil, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	for _, svc := range app.Services {
		u, err := url.Parse(s.URL(svc))
		require.NoError(t, err)
		assert.NotEqual(t, admin.Port(), u.Port(), svc)
		for _, method := range []string{"GET", "POST", "DELETE"} {
			r := call(t, method, s.URL(svc)+"/admin/faults", map[string]any{"scenario": "payment_timeout"}, "")
			assert.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed}, r.Status, "%s %s/admin/faults: %s", method, svc, r.Raw)
		}
	}
	assert.Empty(t, s.Faults().Groups())

	def := app.DefaultConfig()
	assert.Equal(t, "127.0.0.1:8085", app.DefaultAdminListen)
	assert.Empty(t, def.Listen, "services default to 127.0.0.1:<port> (see Start)")
}

// TestSplitProcesses runs the shop as two "processes" (two Apps): faults for
// services hosted by the other one are forwarded, and traces still connect.
func TestSplitProcesses(t *testing.T) {
	t.Parallel()
	cap, err := otlpcapture.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cap.Close() })

	backCfg := testConfig(cap)
	backCfg.Services = []string{app.Payment, app.Inventory}
	// The front forwards faults to the back by service URL.
	backCfg.AdminOnServicePorts = true
	back, err := app.Start(context.Background(), backCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = back.Close() })

	frontCfg := testConfig(cap)
	frontCfg.Services = []string{app.Frontend, app.Cart, app.Checkout}
	frontCfg.URLs = map[string]string{app.Payment: back.URL(app.Payment), app.Inventory: back.URL(app.Inventory)}
	front, err := app.Start(context.Background(), frontCfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = front.Close() })

	s := &shop{App: front, cap: cap}
	r := call(t, "POST", front.AdminURL()+"/admin/faults", map[string]any{"scenario": "payment_timeout"}, "")
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	id := r.str("id")
	assert.Len(t, back.Faults().Groups(), 1, "the inventory primitive must be applied where inventory runs")
	assert.Empty(t, front.Faults().Groups())
	removeFaults(t, s, id)
	assert.Empty(t, back.Faults().Groups())

	traceID := newTraceID()
	r, _ = s.placeOrder(t, cardOK)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	r = call(t, "POST", front.FrontendURL()+"/payment", map[string]any{"order_id": r.str("order_id")}, traceID)
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	require.NoError(t, front.Flush(context.Background()))
	require.NoError(t, back.Flush(context.Background()))
	seen := map[string]bool{}
	for _, sp := range cap.Spans() {
		if sp.TraceID == traceID {
			seen[sp.Service] = true
		}
	}
	assert.True(t, seen["frontend"] && seen["payment"] && seen["inventory"], "services in trace: %v", seen)
}

func TestScenarioTable(t *testing.T) {
	t.Parallel()
	names := map[string]faults.Scenario{}
	for _, s := range faults.Scenarios() {
		names[s.Name] = s
		require.NoError(t, s.Validate())
	}
	for name, svc := range map[string]string{"payment_timeout": "inventory", "cascade_failure": "inventory", "intermittent_error": "cart"} {
		s, ok := names[name]
		require.True(t, ok, name)
		assert.Equal(t, svc, s.RootCauseService)
		assert.Contains(t, s.RootCause, svc)
	}
}
