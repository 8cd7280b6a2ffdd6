package clickhousevectorexporter

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

func testConfig(t *testing.T, db string) *Config {
	cfg := createDefaultConfig()
	cfg.Endpoint = chdbtest.HTTP(t).URL
	cfg.Database = db
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.StatsFlushInterval = 0
	return cfg
}

// errorLogs are error logs of a few templates with varying ids and numbers.
func errorLogs(n int) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "inventory")
	sl := rl.ScopeLogs().AppendEmpty()
	bodies := []func(i int) string{
		func(i int) string {
			return fmt.Sprintf("InventoryDBError: timed out acquiring connection from pool after %dms (in_use=10 max=10 waiting=%d) during reserve_stock sku=SKU-%d", 2000+i, i%9, 1000+i)
		},
		func(i int) string {
			return fmt.Sprintf("dial tcp 10.0.%d.%d:5432: connect: connection refused", i%250, i%200)
		},
		func(i int) string {
			return fmt.Sprintf("CartConcurrencyError: concurrent modification of cart c-%04d: expected version %d, found %d during recompute_totals", i, i, i+1)
		},
		func(i int) string {
			return fmt.Sprintf("java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null at com.shop.UserService.getUserById(UserService.java:%d)", 40+i%3)
		},
	}
	base := time.Now().Add(-time.Minute)
	for i := range n {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
		lr.SetTimestamp(pcommon.NewTimestampFromTime(base.Add(time.Duration(i) * time.Millisecond)))
		lr.SetTraceID(pcommon.TraceID([16]byte{byte(i), byte(i >> 8), 1}))
		lr.Body().SetStr(bodies[i%len(bodies)](i))
	}
	return ld
}

// embedLogs runs logs through the real embedding processor.
func embedLogs(t testing.TB, ld plog.Logs) plog.Logs {
	sink := new(consumertest.LogsSink)
	pf := embeddingprocessor.NewFactory()
	p, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

func TestSimilarErrorsShareTheQueryTemplate(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "vec_similar")
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(ctx)) }()

	require.NoError(t, exp.ConsumeLogs(ctx, embedLogs(t, errorLogs(400))))
	// A second batch of the same templates adds occurrences, not templates.
	require.NoError(t, exp.ConsumeLogs(ctx, embedLogs(t, errorLogs(100))))

	conn := openConn(t, cfg)
	var templates, occurrences uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM log_templates FINAL").Scan(&templates))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings").Scan(&occurrences))
	assert.Equal(t, uint64(4), templates, "one vector per template")
	assert.Equal(t, uint64(500), occurrences)

	e := embed.NewHash(384)
	query := logtemplate.Normalize("InventoryDBError: timed out acquiring connection from pool after 2750ms (in_use=10 max=10 waiting=3) during reserve_stock sku=SKU-77")
	vec := e.EmbedOne(query.Template)
	sql, err := schema.Query("similar_error_occurrences")
	require.NoError(t, err)
	rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"embedding": formatVector(vec), "templates": "3", "k": "10", "since": "2000-01-01 00:00:00",
	})), sql)
	require.NoError(t, err)
	defer rows.Close()
	hits := 0
	for rows.Next() {
		var (
			ts                                  time.Time
			service, sev, body, trace, template string
			hash                                uint64
			distance                            float32
		)
		require.NoError(t, rows.Scan(&ts, &service, &sev, &body, &trace, &template, &hash, &distance))
		assert.Equal(t, query.Hash, hash, "hit %d: %s", hits, body)
		assert.Equal(t, query.Template, template)
		hits++
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, 10, hits)

	// The vector ranking alone (this is about what the exporter stored),
	// then the chosen template's occurrences.
	sql, err = schema.Query("similar_error_search")
	require.NoError(t, err)
	var ranked []struct {
		Hash     uint64  `ch:"template_hash"`
		Distance float32 `ch:"distance"`
	}
	require.NoError(t, conn.Select(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"embedding": formatVector(vec), "k": "5", "max_distance": "0.5", "terms": "[]", "groups": "[]", "weights": "[]",
		"idf": "[]", "probe": "[]", "avg_len": "1", "vector_weight": "1", "lexical_weight": "0", "candidates": "50",
	})), &ranked, "SELECT template_hash, distance FROM ("+sql+")"))
	require.NotEmpty(t, ranked)
	sql, err = schema.Query("similar_error_templates")
	require.NoError(t, err)
	var found []struct {
		Hash   uint64    `ch:"template_hash"`
		Count  uint64    `ch:"occurrences"`
		First  time.Time `ch:"first_seen"`
		Last   time.Time `ch:"last_seen"`
		Traces []string  `ch:"example_trace_ids"`
	}
	require.NoError(t, conn.Select(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{
		"hashes": fmt.Sprintf("[%d]", ranked[0].Hash), "since": "2000-01-01 00:00:00", "service": "",
	})), &found, "SELECT template_hash, occurrences, first_seen, last_seen, example_trace_ids FROM ("+sql+")"))
	require.Len(t, found, 1)
	distance := ranked[0].Distance
	hash, count, traces, first, last := found[0].Hash, found[0].Count, found[0].Traces, found[0].First, found[0].Last
	assert.Equal(t, query.Hash, hash)
	assert.Equal(t, uint64(125), count, "every occurrence of the template, both batches")
	assert.InDelta(t, 0, distance, 1e-5)
	assert.NotEmpty(t, traces)
	assert.True(t, !last.Before(first))
}

func TestKnownPatternsAreSeededAndCounted(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "vec_patterns")
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(ctx, embedLogs(t, errorLogs(40))))
	require.NoError(t, exp.Shutdown(ctx))

	conn := openConn(t, cfg)
	catalogue, err := schema.Patterns()
	require.NoError(t, err)
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM error_patterns FINAL").Scan(&n))
	assert.Equal(t, uint64(len(catalogue)), n)

	var count uint32
	var related []string
	require.NoError(t, conn.QueryRow(ctx, "SELECT occurrence_count, related_trace_ids FROM error_patterns FINAL WHERE error_signature = 'inventory_db_pool_exhausted'").Scan(&count, &related))
	assert.Equal(t, uint32(10), count, "the ten pool-exhaustion errors of the batch")
	assert.Len(t, related, 10)
	require.NoError(t, conn.QueryRow(ctx, "SELECT occurrence_count FROM error_patterns FINAL WHERE error_signature = 'cart_update_conflict'").Scan(&count))
	assert.Equal(t, uint32(10), count)
	require.NoError(t, conn.QueryRow(ctx, "SELECT occurrence_count FROM error_patterns FINAL WHERE error_signature = 'payment_gateway_error'").Scan(&count))
	assert.Equal(t, uint32(0), count, "no gateway errors were sent")

	// A restart neither seeds twice nor loses the counts.
	exp, err = NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, exp.ConsumeLogs(ctx, embedLogs(t, errorLogs(4))))
	require.NoError(t, exp.Shutdown(ctx))
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM error_patterns FINAL").Scan(&n))
	assert.Equal(t, uint64(len(catalogue)), n)
	require.NoError(t, conn.QueryRow(ctx, "SELECT occurrence_count FROM error_patterns FINAL WHERE error_signature = 'inventory_db_pool_exhausted'").Scan(&count))
	assert.Equal(t, uint32(11), count)
}

func TestDimensionMismatchNamesTheFix(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "vec_dims")
	exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, exp.Shutdown(ctx))

	cfg.Embedder.Dims = 64
	exp, err = NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = exp.Start(ctx, componenttest.NewNopHost())
	require.ErrorContains(t, err, "holds 384-dim vectors but this exporter is configured for 64")
	require.NoError(t, exp.Shutdown(ctx))
}

func openConn(t *testing.T, cfg *Config) clickhouse.Conn {
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:     []string{strings.TrimPrefix(cfg.Endpoint, "http://")},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Database: cfg.Database},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func formatVector(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%g", f)
	}
	b.WriteByte(']')
	return b.String()
}
