package browser

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

// pipeline is the collector's session path, assembled in-process as the
// default configuration wires it: rrweb receiver → contrib clickhouse
// exporter (logs_table_name: hyperdx_sessions) and clickhouse_vector.
type pipeline struct {
	db          string
	receiverURL string
	chURL       string // ClickHouse HTTP interface
}

func freeAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	defer ln.Close()
	return ln.Addr().String()
}

// With batch, a batch processor configured as in otelcol-config.yaml sits
// between the receiver and the exporters (requests are answered once
// queued); without, each request is answered once stored.
func startPipeline(tb testing.TB, db string, batch bool, corsOrigins ...string) *pipeline {
	tb.Helper()
	ctx := context.Background()
	ch := chdbtest.HTTP(tb)
	_, err := schema.Apply(ctx, chdb.Executor{Engine: chdbtest.Engine(tb)}, schema.Options{Database: db})
	require.NoError(tb, err)

	hf := clickhouseexporter.NewFactory()
	hcfg := hf.CreateDefaultConfig().(*clickhouseexporter.Config)
	hcfg.Endpoint = ch.URL
	hcfg.Database = db
	hcfg.LogsTableName = "hyperdx_sessions"
	hcfg.CreateSchema = false
	hcfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	sessionsExp, err := hf.CreateLogs(ctx, exportertest.NewNopSettings(hf.Type()), hcfg)
	require.NoError(tb, err)

	vf := clickhousevectorexporter.NewFactory()
	vcfg := vf.CreateDefaultConfig().(*clickhousevectorexporter.Config)
	vcfg.Endpoint = ch.URL
	vcfg.Database = db
	vcfg.SeedPatterns = false
	vcfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	vecLogs, err := vf.CreateLogs(ctx, exportertest.NewNopSettings(vf.Type()), vcfg)
	require.NoError(tb, err)
	vecTraces, err := vf.CreateTraces(ctx, exportertest.NewNopSettings(vf.Type()), vcfg)
	require.NoError(tb, err)

	for _, c := range []component.Component{sessionsExp, vecLogs, vecTraces} {
		require.NoError(tb, c.Start(ctx, componenttest.NewNopHost()))
	}
	logs, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		return errors.Join(sessionsExp.ConsumeLogs(ctx, ld), vecLogs.ConsumeLogs(ctx, ld))
	})
	require.NoError(tb, err)
	traces, err := consumer.NewTraces(vecTraces.ConsumeTraces)
	require.NoError(tb, err)
	var batcher processor.Logs
	if batch {
		bf := batchprocessor.NewFactory()
		bcfg := bf.CreateDefaultConfig().(*batchprocessor.Config)
		bcfg.SendBatchSize = 10000
		bcfg.Timeout = time.Second
		batcher, err = bf.CreateLogs(ctx, processortest.NewNopSettings(bf.Type()), bcfg, logs)
		require.NoError(tb, err)
		require.NoError(tb, batcher.Start(ctx, componenttest.NewNopHost()))
		logs = batcher
	}

	rf := rrwebreceiver.NewFactory()
	rcfg := rf.CreateDefaultConfig().(*rrwebreceiver.Config)
	rcfg.ServerConfig.NetAddr.Endpoint = freeAddr(tb)
	rcfg.ServerConfig.MaxRequestBodySize = 64 << 20
	if len(corsOrigins) > 0 {
		rcfg.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{AllowedOrigins: corsOrigins, AllowedHeaders: []string{"*"}})
	}
	rset := receivertest.NewNopSettings(rf.Type())
	rl, err := rf.CreateLogs(ctx, rset, rcfg, logs)
	require.NoError(tb, err)
	rt, err := rf.CreateTraces(ctx, rset, rcfg, traces)
	require.NoError(tb, err)
	require.NoError(tb, rl.Start(ctx, componenttest.NewNopHost()))
	require.NoError(tb, rt.Start(ctx, componenttest.NewNopHost()))
	tb.Cleanup(func() {
		_ = rl.Shutdown(ctx)
		_ = rt.Shutdown(ctx)
		if batcher != nil {
			_ = batcher.Shutdown(ctx)
		}
		for _, c := range []component.Component{sessionsExp, vecLogs, vecTraces} {
			_ = c.Shutdown(ctx)
		}
	})
	return &pipeline{db: db, receiverURL: "http://" + rcfg.ServerConfig.NetAddr.Endpoint, chURL: ch.URL}
}

// query runs SQL over the ClickHouse HTTP interface as HyperDX's client
// does: SQL in the body with a FORMAT, parameters as param_<name>.
func (p *pipeline) query(tb testing.TB, sql string, params map[string]string) string {
	tb.Helper()
	v := url.Values{"database": {p.db}}
	for k, val := range params {
		v.Set("param_"+k, val)
	}
	resp, err := http.Post(p.chURL+"/?"+v.Encode(), "text/plain", strings.NewReader(sql))
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(tb, err)
	require.Equal(tb, http.StatusOK, resp.StatusCode, "%s\n%s", sql, b)
	return string(b)
}

// replayRow is one row of HyperDX's replay query, as JSONEachRow.
type replayRow struct {
	Body        string `json:"b"`
	Type        int64  `json:"t,string"`
	Chunk       string `json:"ck"`
	TotalChunks string `json:"tcks"`
}

// replayEvents reads a session back exactly as HyperDX's session replay
// does (COMPAT.md §2) and rebuilds the event stream: bodies concatenated
// until chunk == total-chunks, then parsed. It returns the events and the
// number of rows that were chunks of a larger event.
func (p *pipeline) replayEvents(tb testing.TB, service, session string) ([]json.RawMessage, int) {
	tb.Helper()
	out := p.query(tb, `SELECT Body AS b, simpleJSONExtractInt(Body, 'type') AS t,
		LogAttributes['rr-web.chunk'] AS ck, LogAttributes['rr-web.total-chunks'] AS tcks
	FROM hyperdx_sessions
	WHERE ServiceName = {service:String} AND ResourceAttributes['rum.sessionId'] = {sid:String}
	ORDER BY TimestampTime ASC
	FORMAT JSONEachRow
	SETTINGS output_format_json_quote_64bit_integers = 1`, map[string]string{"service": service, "sid": session})
	var events []json.RawMessage
	var cur strings.Builder
	chunked := 0
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var r replayRow
		require.NoError(tb, dec.Decode(&r))
		cur.WriteString(r.Body)
		if r.TotalChunks != "1" {
			chunked++
		}
		if r.Chunk == r.TotalChunks {
			var e json.RawMessage
			require.NoError(tb, json.Unmarshal([]byte(cur.String()), &e), "event rebuilt from its chunks is JSON")
			events = append(events, e)
			cur.Reset()
		}
	}
	require.Zero(tb, cur.Len(), "the last event's chunks are incomplete")
	return events, chunked
}

// postJSON sends a plain rrweb batch.
func postJSON(tb testing.TB, url string, body []byte) {
	tb.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(string(body)))
	require.NoError(tb, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(tb, http.StatusOK, resp.StatusCode, string(b))
}

func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}
