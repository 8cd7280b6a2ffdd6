package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// HyperDX's metadata rollups (migration 0007) count each value of the
// aggregated columns per 15-minute bucket as rows arrive, the key rollups
// count the keys, and a database that already held rows gets them rolled
// up once when the migration runs.
func TestAttributeRollups(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "rollup_test", Dims: 8})
	require.NoError(t, err)

	insertRows := func() {
		require.NoError(t, ex.Exec(ctx, `INSERT INTO rollup_test.otel_logs (Timestamp, ServiceName, SeverityText, ScopeName, ResourceAttributes, Body)
			SELECT toDateTime64('2026-03-01 10:00:00', 9) + toIntervalSecond(number * 60), ['cart', 'payment'][number % 2 + 1],
				['INFO', 'ERROR', 'WARN'][number % 3 + 1], 'shop', map('k8s.namespace.name', 'shop', 'deployment.environment.name', 'prod'), 'b'
			FROM numbers(40)`))
		require.NoError(t, ex.Exec(ctx, `INSERT INTO rollup_test.otel_traces (Timestamp, TraceId, SpanId, ServiceName, SpanName, SpanKind, StatusCode)
			SELECT toDateTime64('2026-03-01 10:00:00', 9) + toIntervalSecond(number * 60), 't', toString(number), 'checkout',
				['GET /cart', 'POST /checkout'][number % 2 + 1], 'Server', ['Unset', 'Error'][number % 2 + 1]
			FROM numbers(30)`))
	}
	insertRows()

	counts := func(table, key string) []string {
		rows, err := ex.QueryStrings(ctx, `SELECT concat(toString(Timestamp), ' ', Value, ' ', toString(sum(count)))
			FROM rollup_test.`+table+` WHERE ColumnIdentifier = 'NativeColumn' AND Key = '`+key+`'
			GROUP BY Timestamp, Value ORDER BY Timestamp, Value`)
		require.NoError(t, err)
		return rows
	}
	// 40 minutes of logs from 10:00: buckets 10:00, 10:15, 10:30 hold 15, 15, 10 rows.
	wantSeverity := []string{
		"2026-03-01 10:00:00 ERROR 5", "2026-03-01 10:00:00 INFO 5", "2026-03-01 10:00:00 WARN 5",
		"2026-03-01 10:15:00 ERROR 5", "2026-03-01 10:15:00 INFO 5", "2026-03-01 10:15:00 WARN 5",
		"2026-03-01 10:30:00 ERROR 3", "2026-03-01 10:30:00 INFO 4", "2026-03-01 10:30:00 WARN 3",
	}
	assert.Equal(t, wantSeverity, counts("otel_logs_kv_rollup_15m", "SeverityText"))
	assert.Equal(t, []string{"2026-03-01 10:00:00 shop 15", "2026-03-01 10:15:00 shop 15", "2026-03-01 10:30:00 shop 10"},
		counts("otel_logs_kv_rollup_15m", "__otel_materialized_k8s.namespace.name"))
	wantSpans := []string{
		"2026-03-01 10:00:00 GET /cart 8", "2026-03-01 10:00:00 POST /checkout 7",
		"2026-03-01 10:15:00 GET /cart 7", "2026-03-01 10:15:00 POST /checkout 8",
	}
	assert.Equal(t, wantSpans, counts("otel_traces_kv_rollup_15m", "SpanName"))
	keys, err := ex.QueryStrings(ctx, `SELECT concat(Key, ' ', toString(sum(count))) FROM rollup_test.otel_logs_key_rollup_15m
		WHERE ColumnIdentifier = 'NativeColumn' AND Key IN ('ServiceName', 'SeverityText') GROUP BY Key ORDER BY Key`)
	require.NoError(t, err)
	assert.Equal(t, []string{"ServiceName 40", "SeverityText 40"}, keys)

	// An older database: the rows are there, the rollups are not yet.
	for _, s := range []string{
		"DROP VIEW rollup_test.otel_logs_attr_kv_rollup_15m_mv", "DROP VIEW rollup_test.otel_logs_key_rollup_15m_mv",
		"DROP VIEW rollup_test.otel_traces_kv_rollup_15m_mv", "DROP VIEW rollup_test.otel_traces_key_rollup_15m_mv",
		"DROP TABLE rollup_test.otel_logs_kv_rollup_15m", "DROP TABLE rollup_test.otel_logs_key_rollup_15m",
		"DROP TABLE rollup_test.otel_traces_kv_rollup_15m", "DROP TABLE rollup_test.otel_traces_key_rollup_15m",
		"DELETE FROM rollup_test.schema_migrations WHERE version = 7",
	} {
		require.NoError(t, ex.Exec(ctx, s), s)
	}
	applied, err := schema.Apply(ctx, ex, schema.Options{Database: "rollup_test", Dims: 8})
	require.NoError(t, err)
	assert.Equal(t, []int{7}, applied)
	assert.Equal(t, wantSeverity, counts("otel_logs_kv_rollup_15m", "SeverityText"), "the rows already stored are rolled up")
	assert.Equal(t, wantSpans, counts("otel_traces_kv_rollup_15m", "SpanName"))
	keys, err = ex.QueryStrings(ctx, `SELECT concat(Key, ' ', toString(sum(count))) FROM rollup_test.otel_logs_key_rollup_15m
		WHERE ColumnIdentifier = 'NativeColumn' AND Key IN ('ServiceName', 'SeverityText') GROUP BY Key ORDER BY Key`)
	require.NoError(t, err)
	assert.Equal(t, []string{"ServiceName 40", "SeverityText 40"}, keys)

	// And the views go on counting what arrives afterwards, once.
	insertRows()
	doubled := make([]string, len(wantSpans))
	for i, w := range []string{"GET /cart 16", "POST /checkout 14", "GET /cart 14", "POST /checkout 16"} {
		doubled[i] = wantSpans[i][:len("2026-03-01 10:00:00 ")] + w
	}
	assert.Equal(t, doubled, counts("otel_traces_kv_rollup_15m", "SpanName"))
}

func TestAttributeRollupsRenderForCluster(t *testing.T) {
	ms, err := schema.Migrations()
	require.NoError(t, err)
	var rollups schema.Migration
	for _, m := range ms {
		if m.Version == 7 {
			rollups = m
		}
	}
	require.Equal(t, 7, rollups.Version)
	stmts, err := schema.Render(rollups, schema.Options{Cluster: "prod", Database: "obs"})
	require.NoError(t, err)
	assert.Contains(t, stmts[0], "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/obs/otel_logs_kv_rollup_15m', '{replica}')")
	for _, s := range stmts {
		if !assert.NotContains(t, s, "{{") {
			continue
		}
		if len(s) > 6 && s[:6] == "CREATE" {
			assert.Contains(t, s, "ON CLUSTER `prod`", s)
		}
	}
}
