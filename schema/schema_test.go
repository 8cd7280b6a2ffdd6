package schema_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

func TestApplyIsIdempotentAndCreatesEveryTable(t *testing.T) {
	ex := schema.EngineExecutor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	opts := schema.Options{Database: "mig_test", Dims: 16}
	applied, err := schema.Apply(ctx, ex, opts)
	require.NoError(t, err)
	ms, err := schema.Migrations()
	require.NoError(t, err)
	assert.Len(t, applied, len(ms))

	again, err := schema.Apply(ctx, ex, opts)
	require.NoError(t, err)
	assert.Empty(t, again, "a second run must apply nothing")

	tables, err := ex.QueryStrings(ctx, "SELECT name FROM system.tables WHERE database = 'mig_test' ORDER BY name")
	require.NoError(t, err)
	for _, want := range []string{"otel_logs", "otel_traces", "hyperdx_sessions", "otel_sessions", "session_replay_events",
		"logs_with_embeddings", "traces_with_embeddings", "error_patterns", "log_templates", "log_template_stats", "schema_migrations"} {
		assert.Contains(t, tables, want)
	}
	for _, table := range []string{"log_templates", "traces_with_embeddings", "error_patterns"} {
		dims, err := schema.VectorDims(ctx, ex, "mig_test", table)
		require.NoError(t, err, table)
		assert.Equal(t, 16, dims, table)
	}
	_, err = schema.VectorDims(ctx, ex, "mig_test", "otel_logs")
	assert.ErrorIs(t, err, schema.ErrNoVectorIndex)
}

func TestRenderForCluster(t *testing.T) {
	ms, err := schema.Migrations()
	require.NoError(t, err)
	stmts, err := schema.Render(ms[0], schema.Options{Cluster: "prod", Database: "obs"})
	require.NoError(t, err)
	require.NotEmpty(t, stmts)
	assert.Contains(t, stmts[0], "ON CLUSTER `prod`")
	assert.Contains(t, stmts[0], "ReplicatedMergeTree('/clickhouse/tables/{shard}/obs/otel_logs', '{replica}')")
}

// Pre-aggregated stats written through log_template_stats_in (by the
// exporter, once per flush) add up per template and minute, and the example
// trace ids become groupUniqArray(5) states without empty ids.
func TestTemplateStatsFromPreaggregatedRows(t *testing.T) {
	ex := schema.EngineExecutor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "stats_test", Dims: 8})
	require.NoError(t, err)
	// Two flushes that both saw errors of template 42 in minute 10:00.
	require.NoError(t, ex.Exec(ctx, `INSERT INTO stats_test.log_template_stats_in VALUES
		(42, 'payment', 'ERROR', '2026-11-27 10:00:00', 2, '2026-11-27 10:00:01', '2026-11-27 10:00:31', ['t1', '']),
		(7, 'inventory', 'ERROR', '2026-11-27 10:01:00', 1, '2026-11-27 10:01:06', '2026-11-27 10:01:06', ['t4'])`))
	require.NoError(t, ex.Exec(ctx, `INSERT INTO stats_test.log_template_stats_in VALUES
		(42, 'payment', 'ERROR', '2026-11-27 10:00:00', 1, '2026-11-27 10:00:40', '2026-11-27 10:00:41', ['t3', 't1']),
		(42, 'payment', 'ERROR', '2026-11-27 10:01:00', 1, '2026-11-27 10:01:05', '2026-11-27 10:01:05', ['t5'])`))
	rows, err := ex.QueryStrings(ctx, `SELECT concat(toString(sum(occurrences)), ' ', toString(min(first_seen)), ' ', toString(max(last_seen)), ' ', toString(arraySort(groupUniqArrayMerge(5)(example_trace_ids))))
		FROM stats_test.log_template_stats WHERE template_hash = 42`)
	require.NoError(t, err)
	assert.Equal(t, []string{"4 2026-11-27 10:00:01.000000000 2026-11-27 10:01:05.000000000 ['t1','t3','t5']"}, rows)
	// Nothing stays in the Null input table, and occurrences alone no
	// longer feed the stats (the exporter does).
	n, err := ex.QueryStrings(ctx, `SELECT toString(count()) FROM stats_test.log_template_stats_in`)
	require.NoError(t, err)
	assert.Equal(t, []string{"0"}, n)
	require.NoError(t, ex.Exec(ctx, `INSERT INTO stats_test.logs_with_embeddings (Timestamp, TraceId, SeverityText, ServiceName, Body, template, template_hash)
		VALUES ('2026-11-27 10:00:01', 't9', 'ERROR', 'payment', 'b1', 'tpl', 42)`))
	rows, err = ex.QueryStrings(ctx, `SELECT toString(sum(occurrences)) FROM stats_test.log_template_stats WHERE template_hash = 42`)
	require.NoError(t, err)
	assert.Equal(t, []string{"4"}, rows)
}

// Occurrences written as plain Strings into logs_with_embeddings_in (how
// the exporter writes them) are stored in logs_with_embeddings, with its
// LowCardinality columns, and nothing stays in the Null input table.
func TestOccurrencesThroughInputTable(t *testing.T) {
	ex := schema.EngineExecutor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "occ_test", Dims: 8})
	require.NoError(t, err)
	require.NoError(t, ex.Exec(ctx, `INSERT INTO occ_test.logs_with_embeddings_in VALUES
		('2026-11-27 10:00:01.123456789', 'a1', 's1', 'ERROR', 'payment', 'card 4 declined', 'card <*> declined', 42, 'hash-8'),
		('2026-11-27 10:00:02', 'a2', 's2', 'ERROR', 'payment', 'card 7 declined', 'card <*> declined', 42, 'hash-8'),
		('2026-11-27 10:00:03', '', '', 'FATAL', 'inventory', 'pool exhausted', 'pool exhausted', 7, 'hash-8')`))
	rows, err := ex.QueryStrings(ctx, `SELECT concat(toString(Timestamp), ' ', TraceId, ' ', SeverityText, ' ', ServiceName, ' ', Body, ' | ', template, ' ', toString(template_hash), ' ', embedding_model)
		FROM occ_test.logs_with_embeddings ORDER BY Timestamp`)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"2026-11-27 10:00:01.123456789 a1 ERROR payment card 4 declined | card <*> declined 42 hash-8",
		"2026-11-27 10:00:02.000000000 a2 ERROR payment card 7 declined | card <*> declined 42 hash-8",
		"2026-11-27 10:00:03.000000000  FATAL inventory pool exhausted | pool exhausted 7 hash-8",
	}, rows)
	n, err := ex.QueryStrings(ctx, `SELECT toString(count()) FROM occ_test.logs_with_embeddings_in`)
	require.NoError(t, err)
	assert.Equal(t, []string{"0"}, n)
	types, err := ex.QueryStrings(ctx, `SELECT type FROM system.columns WHERE database = 'occ_test' AND table = 'logs_with_embeddings' AND name = 'template'`)
	require.NoError(t, err)
	assert.Equal(t, []string{"LowCardinality(String)"}, types)
}
