package schema_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// A store that ran without retention is given one by a later start: the
// TTLs reach the existing tables, the days past each table's retention are
// dropped whole while the days within it keep every row, templates are
// kept whatever their age, a second start alters nothing, and a retention
// taken away again is removed.
func TestRetentionReachesExistingTablesAndDropsExpiredDays(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	const db = "retention_test"
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 4})
	require.NoError(t, err)

	// Rows in past windows: 40, 10 and 3 days ago, and now.
	ages := []int{40, 10, 3, 0}
	for _, age := range ages {
		ts := fmt.Sprintf("now64(9) - toIntervalDay(%d)", age)
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(
			"INSERT INTO %s.otel_logs (Timestamp, ServiceName, Body) SELECT %s, 'svc', 'log ' || toString(number) FROM numbers(5)", db, ts)))
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(
			"INSERT INTO %s.otel_traces (Timestamp, TraceId, SpanId, ServiceName) SELECT %s, 't' || toString(number), 's', 'svc' FROM numbers(5)", db, ts)))
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(
			"INSERT INTO %s.logs_with_embeddings_in (Timestamp, ServiceName, SeverityText, Body, template, template_hash) SELECT %s, 'svc', 'ERROR', 'b', 'tpl', %d FROM numbers(5)", db, ts, age+1)))
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(
			"INSERT INTO %s.log_templates (template_hash, template, first_seen, embedding) VALUES (%d, 'tpl %d', %s, [1, 0, 0, 0])", db, age+1, age, ts)))
	}
	count := func(table, where string) int {
		t.Helper()
		rows, err := ex.QueryStrings(ctx, fmt.Sprintf("SELECT count() FROM %s.%s WHERE %s", db, table, where))
		require.NoError(t, err)
		n, err := strconv.Atoi(rows[0])
		require.NoError(t, err)
		return n
	}
	older := func(days int) string {
		return fmt.Sprintf("Timestamp < now64(9) - toIntervalDay(%d)", days)
	}
	require.Equal(t, 20, count("otel_logs", "1"), "without retention every day is kept")
	require.Equal(t, 20, count("logs_with_embeddings", "1"))
	require.Equal(t, 4, count("log_template_stats", "1"))

	opts := schema.Options{Database: db, Dims: 4, Retention: schema.Retention{
		Raw: 7 * 24 * time.Hour, Vectors: 30 * 24 * time.Hour, Rollups: 30 * 24 * time.Hour}}
	applied, err := schema.Apply(ctx, ex, opts)
	require.NoError(t, err)
	assert.Empty(t, applied, "no migration is left to apply")
	ttl := func(table string) string {
		t.Helper()
		rows, err := ex.QueryStrings(ctx, fmt.Sprintf(
			"SELECT concat('ttl:', extract(engine_full, ' TTL (.*?)( SETTINGS |$)')) FROM system.tables WHERE database = '%s' AND name = '%s'", db, table))
		require.NoError(t, err)
		require.Len(t, rows, 1, table)
		return strings.TrimPrefix(rows[0], "ttl:")
	}
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalDay(7)", ttl("otel_logs"))
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalDay(7)", ttl("otel_traces"))
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalDay(30)", ttl("logs_with_embeddings"))
	assert.Equal(t, "minute + toIntervalDay(30)", ttl("log_template_stats"))
	assert.Equal(t, "toDateTime(EndTime) + toIntervalDay(7)", ttl("otel_sessions"), "sessions take the raw retention")
	assert.Empty(t, ttl("log_templates"), "templates are kept")
	assert.Empty(t, ttl("error_patterns"), "error patterns are kept")

	// The engine drops the expired days on its own (the TTL's
	// materialisation after the ALTER, then the parts' TTL check).
	require.Eventually(t, func() bool {
		return count("otel_logs", older(7)) == 0 && count("otel_traces", older(7)) == 0 &&
			count("logs_with_embeddings", older(30)) == 0
	}, time.Minute, 200*time.Millisecond, "the days past retention are dropped")
	assert.Equal(t, 10, count("otel_logs", "1"), "the days within 7 days keep every row")
	assert.Equal(t, 10, count("otel_traces", "1"))
	assert.Equal(t, 15, count("logs_with_embeddings", "1"), "vectors keep 30 days: 10, 3 and 0 days ago")
	assert.Equal(t, 4, count("log_templates", "1"), "templates are kept whatever their age")
	assert.Equal(t, 3, count("log_template_stats", "1"), "the stats (a row a minute) of the days within 30 days are kept")
	rows, err := ex.QueryStrings(ctx, fmt.Sprintf(
		"SELECT count() FROM system.parts WHERE database = '%s' AND table = 'otel_logs' AND active AND rows > 0 AND toDate(partition) < today() - 7", db))
	require.NoError(t, err)
	assert.Equal(t, "0", rows[0], "no part of an expired day holds rows")

	again, err := schema.ApplyRetention(ctx, ex, opts)
	require.NoError(t, err)
	assert.Empty(t, again, "a second start alters no table")

	opts.Retention.Vectors = 0
	changed, err := schema.ApplyRetention(ctx, ex, opts)
	require.NoError(t, err)
	assert.Equal(t, []string{"logs_with_embeddings", "traces_with_embeddings"}, changed)
	assert.Empty(t, ttl("logs_with_embeddings"), "a retention taken away is removed")
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalDay(7)", ttl("otel_logs"))

	// The single ttl is the fallback of every class.
	_, err = schema.ApplyRetention(ctx, ex, schema.Options{Database: db, TTL: 36 * time.Hour})
	require.NoError(t, err)
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalHour(36)", ttl("logs_with_embeddings"))
	assert.Equal(t, "Timestamp + toIntervalHour(36)", ttl("otel_logs_kv_rollup_15m"))

	// A writer that applies the migrations without a retention of its own
	// (the clickhouse_vector exporter) leaves the owner's TTLs alone; the
	// owner (the chdb extension) removes them when its config has none.
	_, err = schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 4})
	require.NoError(t, err)
	assert.Equal(t, "toDateTime(Timestamp) + toIntervalHour(36)", ttl("otel_logs"))
	_, err = schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 4, OwnsRetention: true})
	require.NoError(t, err)
	assert.Empty(t, ttl("otel_logs"))
}

func TestRetentionRefusesNegativeDurations(t *testing.T) {
	err := schema.Retention{Vectors: -time.Hour}.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "retention.vectors must not be negative")
	assert.NoError(t, schema.Retention{Raw: time.Hour}.Validate())
}
