package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
	"github.com/otelcol-agentic/otelcol-agentic/tests/otlpcapture"
)

// forbidden are words no telemetry may contain: the analysis has to find
// causes from symptoms.
var forbidden = regexp.MustCompile(`(?i)payment_timeout|cascade_failure|intermittent_error|memory_leak|race_condition|` +
	`pool_exhaustion|pool_squeeze|memory_growth|\bfaults?\b|\binject|scenario`)

type shop struct {
	*app.App
	cap *otlpcapture.Server
}

// testConfig is a small, fast shop on loopback ports exporting to cap.
func testConfig(cap *otlpcapture.Server) app.Config {
	cfg := app.DefaultConfig()
	cfg.OTLPEndpoint = cap.URL()
	for _, s := range app.Services {
		cfg.Listen[s] = "127.0.0.1:0"
	}
	cfg.Products = 1000
	cfg.HeapLimits = map[string]uint64{}
	cfg.BatchTimeout = 200 * time.Millisecond
	cfg.MetricInterval = 500 * time.Millisecond
	cfg.Timeouts.PoolAcquire = 500 * time.Millisecond
	cfg.Timeouts.Query = time.Second
	cfg.Timeouts.InventoryAttempt = 700 * time.Millisecond
	cfg.Timeouts.Payment = 1500 * time.Millisecond
	cfg.Timeouts.Gateway = time.Second
	cfg.Timeouts.CartInventory = 2 * time.Second
	cfg.Timeouts.Upstream = 5 * time.Second
	return cfg
}

func startShop(t *testing.T, mutate func(*app.Config)) *shop {
	t.Helper()
	cap, err := otlpcapture.Start("127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = cap.Close() })
	cfg := testConfig(cap)
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := app.Start(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, a.Close()) })
	return &shop{App: a, cap: cap}
}

// flush exports everything buffered so far to the capture server.
func (s *shop) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Flush(ctx))
}

type resp struct {
	Status int
	Body   map[string]any
	Raw    string
}

func (r resp) str(key string) string {
	v, _ := r.Body[key].(string)
	return v
}

var httpClient = &http.Client{Timeout: 30 * time.Second}

func newTraceID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// call sends a JSON request; traceID, if set, becomes the traceparent.
func call(t *testing.T, method, url string, body any, traceID string) resp {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if traceID != "" {
		req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	}
	res, err := httpClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	out := resp{Status: res.StatusCode, Raw: string(raw)}
	_ = json.Unmarshal(raw, &out.Body)
	return out
}

// placeOrder fills a cart with one item and checks out with card.
func (s *shop) placeOrder(t *testing.T, card string) (resp, string) {
	t.Helper()
	cart := "cart-" + newTraceID()[:12]
	r := call(t, "POST", s.FrontendURL()+"/cart/add", map[string]any{"cart_id": cart, "product_id": 5, "quantity": 1}, "")
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	return call(t, "POST", s.FrontendURL()+"/checkout", map[string]any{
		"cart_id": cart, "email": "ada@example.com", "card_number": card,
		"shipping": map[string]any{"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": "US"},
	}, ""), cart
}

func assertNoForbiddenText(t *testing.T, cap *otlpcapture.Server) {
	t.Helper()
	for _, s := range cap.Strings() {
		if w := forbidden.FindString(s); w != "" {
			t.Errorf("telemetry contains %q: %q", w, truncate(s, 300))
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func logsOf(cap *otlpcapture.Server, service, severity, contains string) []otlpcapture.LogRecord {
	var out []otlpcapture.LogRecord
	for _, l := range cap.Logs() {
		if (service == "" || l.Service == service) && (severity == "" || l.SeverityText == severity) && strings.Contains(l.Body, contains) {
			out = append(out, l)
		}
	}
	return out
}

func addFaults(t *testing.T, s *shop, body map[string]any) string {
	t.Helper()
	r := call(t, "POST", s.AdminURL()+"/admin/faults", body, "")
	require.Equal(t, http.StatusCreated, r.Status, r.Raw)
	return r.str("id")
}

func removeFaults(t *testing.T, s *shop, id string) {
	t.Helper()
	r := call(t, "DELETE", s.AdminURL()+"/admin/faults/"+id, nil, "")
	require.Equal(t, http.StatusNoContent, r.Status, r.Raw)
}
