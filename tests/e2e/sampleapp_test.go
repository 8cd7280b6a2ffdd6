package e2e

import (
	"bufio"
	"encoding/json"
	"io"
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
)

func count(t *testing.T, col *Collector, sql string) int {
	t.Helper()
	s, err := col.Query(t.Context(), sql)
	require.NoError(t, err, sql)
	n, err := strconv.Atoi(s)
	require.NoError(t, err, sql)
	return n
}

// The sample shop and the load generator, through the real collector into
// the embedded engine, with the seed's pool-exhaustion scenario injected in
// a fixed window: traces cross the services, every log carries its trace,
// the symptoms land in the expected services, nothing names the injected
// scenario, and the ground truth points at traces that are stored.
func TestSampleSystemTelemetryThroughTheCollector(t *testing.T) {
	col := StartCollector(t, t.TempDir())
	cfg := app.DefaultConfig()
	cfg.OTLPEndpoint = "http://" + col.OTLPHTTP
	for _, svc := range []string{app.Frontend, "cart", "checkout", "payment", "inventory"} {
		cfg.Listen[svc] = "127.0.0.1:0"
	}
	cfg.BatchTimeout = 500 * time.Millisecond
	cfg.MetricInterval = 2 * time.Second
	cfg.Logger = nil
	shop, err := app.Start(t.Context(), cfg)
	require.NoError(t, err)
	defer shop.Close()

	lcfg, err := run.Load(filepath.Join(RepoRoot(t), "loadgen", "config.yaml"))
	require.NoError(t, err)
	lcfg.Target = shop.FrontendURL()
	lcfg.Admin = shop.AdminURL()
	lcfg.Rate = 15
	lcfg.Duration = run.Duration(40 * time.Second)
	lcfg.Seed = 7
	lcfg.Browsers = 0 // HTTP journeys only; loadgen/run and tests/shop run the browsers
	lcfg.GroundTruth = filepath.Join(t.TempDir(), "truth.jsonl")
	var scenarios []run.Scenario
	for _, s := range lcfg.Scenarios {
		if s.Name == "payment_timeout" {
			s.TriggerRate = 0
			s.Windows = []run.FixedWindow{{Start: run.Duration(8 * time.Second), Duration: run.Duration(20 * time.Second)}}
			scenarios = append(scenarios, s)
		}
	}
	require.Len(t, scenarios, 1)
	lcfg.Scenarios = scenarios
	summary, err := run.Run(t.Context(), lcfg, io.Discard)
	require.NoError(t, err)
	require.NoError(t, shop.Flush(t.Context()))
	require.Greater(t, summary.Journeys, 300)

	// Let the batches drain into ClickHouse.
	col.Eventually(t, "SELECT count() FROM otel_traces WHERE ServiceName = 'inventory'", func(s string) bool { return s != "0" })
	time.Sleep(3 * time.Second)

	// One user action is one trace across the services.
	crossing := count(t, col, `SELECT count() FROM (SELECT TraceId FROM otel_traces GROUP BY TraceId
		HAVING hasAll(groupUniqArray(ServiceName), ['frontend', 'checkout', 'payment', 'inventory']))`)
	assert.Positive(t, crossing, "checkout traces cross frontend → checkout → payment → inventory")

	// Every log record of a request carries its trace id.
	services := "('frontend', 'cart', 'checkout', 'payment', 'inventory')"
	logs := count(t, col, "SELECT count() FROM otel_logs WHERE ServiceName IN "+services)
	require.Positive(t, logs)
	assert.Zero(t, count(t, col, "SELECT count() FROM otel_logs WHERE ServiceName IN "+services+" AND TraceId = ''"), "logs without a trace id")

	// Symptoms of the pool exhaustion, where they belong.
	assert.Positive(t, count(t, col, "SELECT count() FROM otel_logs WHERE ServiceName = 'inventory' AND SeverityNumber >= 17 AND positionCaseInsensitive(Body, 'pool') > 0"))
	assert.Positive(t, count(t, col, "SELECT count() FROM otel_logs WHERE ServiceName = 'payment' AND SeverityNumber >= 17"))
	assert.Positive(t, count(t, col, "SELECT count() FROM otel_logs WHERE ServiceName = 'checkout' AND SeverityNumber >= 17"))
	assert.Positive(t, count(t, col, "SELECT count() FROM otel_traces WHERE ServiceName = 'inventory' AND StatusCode = 'Error'"))

	// The telemetry never names what was injected.
	for _, word := range []string{"payment_timeout", "pool_exhaustion", "inventory_service", "cascade_failure", "race_condition", "memory_leak", "inject", "fault"} {
		out, err := col.QueryParams(t.Context(), `SELECT
			(SELECT count() FROM otel_logs WHERE positionCaseInsensitive(Body, {w:String}) > 0
				OR arrayExists(v -> positionCaseInsensitive(v, {w:String}) > 0, mapValues(LogAttributes))
				OR arrayExists(v -> positionCaseInsensitive(v, {w:String}) > 0, mapValues(ResourceAttributes)))
			+ (SELECT count() FROM otel_traces WHERE positionCaseInsensitive(SpanName, {w:String}) > 0
				OR positionCaseInsensitive(StatusMessage, {w:String}) > 0
				OR arrayExists(v -> positionCaseInsensitive(v, {w:String}) > 0, mapValues(SpanAttributes)))`, map[string]string{"w": word})
		require.NoError(t, err)
		assert.Equal(t, "0", out, "telemetry mentions %q", word)
	}

	// Metrics of the services arrived, among them the DB pool's.
	assert.Positive(t, count(t, col, "SELECT count() FROM otel_metrics_gauge WHERE ServiceName = 'inventory'")+
		count(t, col, "SELECT count() FROM otel_metrics_sum WHERE ServiceName = 'inventory'"))

	// The ground truth's window lists traces the store holds.
	f, err := os.Open(lcfg.GroundTruth)
	require.NoError(t, err)
	defer f.Close()
	var window run.WindowRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var kind struct {
			Kind string `json:"kind"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &kind))
		if kind.Kind == run.KindFaultWindow {
			require.NoError(t, json.Unmarshal(sc.Bytes(), &window))
		}
	}
	require.Equal(t, "payment_timeout", window.Scenario)
	assert.Equal(t, "inventory", window.RootCauseService)
	require.NotEmpty(t, window.ErrorTraceIDs)
	ids := "'" + strings.Join(window.ErrorTraceIDs, "','") + "'"
	assert.Positive(t, count(t, col, "SELECT uniqExact(TraceId) FROM otel_traces WHERE TraceId IN ("+ids+")"))
	col.Stop(t)
}
