package chhttp_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// otelLogsTable is the contrib ClickHouse exporter's logs table (its
// non-full-text variant), with the engine and keys it creates.
const otelLogsTable = `CREATE TABLE %s (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(3)),
    TraceId String CODEC(ZSTD(3)),
    SpanId String CODEC(ZSTD(3)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(3)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(3)),
    Body String CODEC(ZSTD(3)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(3)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(3)),
    ScopeName String CODEC(ZSTD(3)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(3)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    EventName String CODEC(ZSTD(3)),
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_res_attr_key mapKeys(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_res_attr_value mapValues(ResourceAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_key mapKeys(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_log_attr_value mapValues(LogAttributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_lower_body lower(Body) TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 8
) ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
ORDER BY (toStartOfFiveMinutes(Timestamp), ServiceName, Timestamp)
SETTINGS index_granularity = 8192`

const otelLogsColumns = `Timestamp, TraceId, SpanId, TraceFlags, SeverityText, SeverityNumber, ServiceName, Body,
ResourceSchemaUrl, ResourceAttributes, ScopeSchemaUrl, ScopeName, ScopeVersion, ScopeAttributes, LogAttributes, EventName`

const otelLogsBatch = 10_000

// otelLogsNative encodes a batch of log records as one Native block, as the
// exporter's clickhouse-go batch does.
func otelLogsNative(tb testing.TB, rows int) []byte {
	tb.Helper()
	b := proto.NewBlock()
	for _, c := range []struct{ name, typ string }{
		{"Timestamp", "DateTime64(9)"}, {"TraceId", "String"}, {"SpanId", "String"}, {"TraceFlags", "UInt8"},
		{"SeverityText", "LowCardinality(String)"}, {"SeverityNumber", "UInt8"}, {"ServiceName", "LowCardinality(String)"},
		{"Body", "String"}, {"ResourceSchemaUrl", "LowCardinality(String)"}, {"ResourceAttributes", "Map(LowCardinality(String), String)"},
		{"ScopeSchemaUrl", "LowCardinality(String)"}, {"ScopeName", "String"}, {"ScopeVersion", "LowCardinality(String)"},
		{"ScopeAttributes", "Map(LowCardinality(String), String)"}, {"LogAttributes", "Map(LowCardinality(String), String)"},
		{"EventName", "String"},
	} {
		require.NoError(tb, b.AddColumn(c.name, column.Type(c.typ)))
	}
	rng := rand.New(rand.NewPCG(7, 7))
	hexID := func(n int) string {
		const digits = "0123456789abcdef"
		var sb strings.Builder
		for i := 0; i < n; i++ {
			sb.WriteByte(digits[rng.IntN(16)])
		}
		return sb.String()
	}
	services := []string{"checkout", "cart", "frontend", "payment", "shipping"}
	severities := []struct {
		text string
		num  uint8
	}{{"INFO", 9}, {"WARN", 13}, {"ERROR", 17}, {"DEBUG", 5}}
	start := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		svc := services[i%len(services)]
		sev := severities[rng.IntN(len(severities))]
		res := map[string]string{
			"service.name": svc, "service.version": "1.4.2", "host.name": fmt.Sprintf("node-%d", i%12),
			"k8s.namespace.name": "shop", "k8s.pod.name": fmt.Sprintf("%s-7d9f-%d", svc, i%40),
			"telemetry.sdk.language": "go", "telemetry.sdk.name": "opentelemetry", "deployment.environment.name": "prod",
		}
		attrs := map[string]string{
			"http.method": "POST", "http.route": "/api/" + svc, "http.status_code": fmt.Sprint(200 + 100*(i%4)),
			"user.id": fmt.Sprint(rng.IntN(100000)), "duration_ms": fmt.Sprint(rng.IntN(2000)),
		}
		body := fmt.Sprintf("%s handled request %s for user %d in %dms: order %s with %d items",
			svc, hexID(8), rng.IntN(100000), rng.IntN(2000), hexID(12), rng.IntN(9)+1)
		require.NoError(tb, b.Append(
			start.Add(time.Duration(i)*time.Millisecond+time.Duration(rng.IntN(1000))),
			hexID(32), hexID(16), uint8(1), sev.text, sev.num, svc, body,
			"https://opentelemetry.io/schemas/1.26.0", res,
			"", "go.opentelemetry.io/contrib/bridges/otelslog", "0.9.0", map[string]string{},
			attrs, "",
		))
	}
	var buf chproto.Buffer
	require.NoError(tb, b.Encode(&buf, 0))
	return buf.Buf
}

func BenchmarkInsertOtelLogs(b *testing.B) {
	e := chdbtest.Engine(b)
	srv := chdbtest.HTTP(b)
	native := otelLogsNative(b, otelLogsBatch)
	lz4 := compress.NewWriter(compress.LevelZero, compress.LZ4)
	require.NoError(b, lz4.Compress(native))
	lz4Body := append([]byte(nil), lz4.Data...)
	b.Logf("batch: %d rows, Native %d bytes, LZ4 %d bytes", otelLogsBatch, len(native), len(lz4Body))

	newTable := func(b *testing.B) string {
		tbl := tableName("otel_logs_bench")
		require.NoError(b, e.Exec(context.Background(), fmt.Sprintf(otelLogsTable, tbl)))
		b.Cleanup(func() { _ = e.Exec(context.Background(), "DROP TABLE "+tbl) })
		return tbl
	}
	// Warm the engine up (its thread pools, the allocator), so that the
	// first sub-benchmark does not pay for it alone.
	warm := newTable(b)
	for i := 0; i < 5; i++ {
		ins, err := e.Primary().Insert("INSERT INTO "+warm+" ("+otelLogsColumns+")", "Native")
		require.NoError(b, err)
		require.NoError(b, ins.Append(native))
		_, err = ins.Done()
		require.NoError(b, err)
	}

	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(b.N*otelLogsBatch)/time.Since(start).Seconds(), "rows/s")
	}

	b.Run("direct", func(b *testing.B) {
		tbl := newTable(b)
		conn, err := e.NewConn(nil)
		require.NoError(b, err)
		defer conn.Close()
		b.SetBytes(int64(len(native)))
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			ins, err := conn.Insert("INSERT INTO "+tbl+" ("+otelLogsColumns+")", "Native")
			require.NoError(b, err)
			require.NoError(b, ins.Append(native))
			st, err := ins.Done()
			require.NoError(b, err)
			require.Equal(b, uint64(otelLogsBatch), st.RowsWritten)
		}
		report(b, start)
	})

	// The same bytes through the HTTP interface, as clickhouse-go sends an
	// insert batch (the client's own compression is not timed).
	httpInsert := func(b *testing.B, body []byte, extra url.Values) {
		tbl := newTable(b)
		p := url.Values{
			"query":                   {"INSERT INTO " + tbl + " (" + otelLogsColumns + ") FORMAT Native"},
			"default_format":          {"Native"},
			"client_protocol_version": {"54460"},
		}
		for k, v := range extra {
			p[k] = v
		}
		u := srv.URL + "/?" + p.Encode()
		client := &http.Client{}
		b.SetBytes(int64(len(native)))
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			res, err := client.Post(u, "application/octet-stream", bytes.NewReader(body))
			require.NoError(b, err)
			msg, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			require.Equal(b, http.StatusOK, res.StatusCode, string(msg))
		}
		report(b, start)
	}
	b.Run("http_lz4", func(b *testing.B) {
		httpInsert(b, lz4Body, url.Values{"compress": {"1"}, "decompress": {"1"}, "network_compression_method": {"LZ4"}})
	})
	b.Run("http_none", func(b *testing.B) {
		httpInsert(b, native, nil)
	})
}

func BenchmarkPointQuery(b *testing.B) {
	e := chdbtest.Engine(b)
	srv := chdbtest.HTTP(b)
	tbl := tableName("kv_bench")
	ctx := context.Background()
	require.NoError(b, e.Exec(ctx, "CREATE TABLE "+tbl+" (key String, value String) ENGINE = MergeTree ORDER BY key"))
	b.Cleanup(func() { _ = e.Exec(ctx, "DROP TABLE "+tbl) })
	require.NoError(b, e.Exec(ctx, "INSERT INTO "+tbl+" SELECT concat('key-', toString(number)), repeat('v', 100) FROM numbers(200000)"))

	sql := "SELECT value FROM " + tbl + " WHERE key = {k:String} FORMAT JSON"
	key := func(rng *rand.Rand) string { return fmt.Sprintf("key-%d", rng.IntN(200000)) }
	latency := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/query")
	}

	b.Run("http", func(b *testing.B) {
		client := &http.Client{}
		rng := rand.New(rand.NewPCG(3, 4))
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			p := url.Values{"param_k": {key(rng)}}
			res, err := client.Post(srv.URL+"/?"+p.Encode(), "text/plain", strings.NewReader(sql))
			require.NoError(b, err)
			body, _ := io.ReadAll(res.Body)
			_ = res.Body.Close()
			require.Equal(b, http.StatusOK, res.StatusCode, string(body))
			if i == 0 {
				require.Contains(b, string(body), `"rows": 1`)
			}
		}
		latency(b, start)
	})
	// The same statement on an engine connection, for reference.
	b.Run("direct", func(b *testing.B) {
		conn, err := e.NewConn(nil)
		require.NoError(b, err)
		defer conn.Close()
		rng := rand.New(rand.NewPCG(3, 4))
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			res, err := conn.Query(sql, "JSON", chdb.Param{Name: "k", Value: key(rng)})
			require.NoError(b, err)
			if i == 0 {
				require.Contains(b, string(res.Data), `"rows": 1`)
			}
		}
		latency(b, start)
	})
}
