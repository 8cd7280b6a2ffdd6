package schema_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

func TestApplyIsIdempotentAndCreatesEveryTable(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
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

// Per-template statistics are counted from the occurrences as they are
// stored, in the same insert: they add up per template and minute, the
// example trace ids become groupUniqArray(5) states without empty ids, and
// an insert sent again under its deduplication token (the spool's retry
// after a crash) is dropped from both, so the counts match the occurrences
// exactly.
func TestTemplateStatsCountTheStoredOccurrences(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "stats_test", Dims: 8})
	require.NoError(t, err)
	insert := func(token, values string) {
		t.Helper()
		require.NoError(t, ex.Exec(ctx, `INSERT INTO stats_test.logs_with_embeddings_in
			(Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)
			SETTINGS insert_deduplication_token = '`+token+`', deduplicate_blocks_in_dependent_materialized_views = 1 VALUES `+values))
	}
	first := `('2026-11-27 10:00:01', 't1', '', 'ERROR', 'payment', 'b', 'tpl', 42, ''),
		('2026-11-27 10:00:31', '', '', 'ERROR', 'payment', 'b', 'tpl', 42, ''),
		('2026-11-27 10:01:06', 't4', '', 'ERROR', 'inventory', 'b', 'tpl7', 7, '')`
	insert("spool/logs/a", first)
	insert("spool/logs/b", `('2026-11-27 10:00:40', 't3', '', 'ERROR', 'payment', 'b', 'tpl', 42, ''),
		('2026-11-27 10:00:41', 't1', '', 'ERROR', 'payment', 'b', 'tpl', 42, ''),
		('2026-11-27 10:01:05', 't5', '', 'ERROR', 'payment', 'b', 'tpl', 42, '')`)
	insert("spool/logs/a", first) // sent again after a crash
	rows, err := ex.QueryStrings(ctx, `SELECT concat(toString(sum(occurrences)), ' ', toString(min(first_seen)), ' ', toString(max(last_seen)), ' ', toString(arraySort(groupUniqArrayMerge(5)(example_trace_ids))))
		FROM stats_test.log_template_stats WHERE template_hash = 42`)
	require.NoError(t, err)
	assert.Equal(t, []string{"5 2026-11-27 10:00:01.000000000 2026-11-27 10:01:05.000000000 ['t1','t3','t5']"}, rows)
	diff, err := ex.QueryStrings(ctx, `SELECT toString(count()) FROM
		(SELECT template_hash, count() AS n FROM stats_test.logs_with_embeddings GROUP BY template_hash) AS o
		FULL JOIN (SELECT template_hash, sum(occurrences) AS n FROM stats_test.log_template_stats GROUP BY template_hash) AS s
		USING template_hash WHERE o.n != s.n`)
	require.NoError(t, err)
	assert.Equal(t, []string{"0"}, diff, "the counts match the stored occurrences per template")
	n, err := ex.QueryStrings(ctx, `SELECT toString(count()) FROM stats_test.logs_with_embeddings`)
	require.NoError(t, err)
	assert.Equal(t, []string{"6"}, n)
}

// Every table the collector writes drops an insert whose deduplication
// token it has seen: the same rows sent again, as the spool sends a batch
// again after a crash. (log_template_stats, which only its view writes:
// TestTemplateStatsCountTheStoredOccurrences.)
func TestEveryWrittenTableDropsAnInsertSentAgain(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "dedup_test", Dims: 8})
	require.NoError(t, err)
	for _, table := range []string{"otel_logs", "otel_traces", "otel_traces_trace_id_ts", "hyperdx_sessions", "log_templates",
		"logs_with_embeddings", "traces_with_embeddings", "session_replay_events", "otel_sessions",
		"otel_metrics_gauge", "otel_metrics_sum", "otel_metrics_histogram", "otel_metrics_exponential_histogram", "otel_metrics_summary"} {
		// The same rows both times (a random table, fixed), over several
		// partitions; vectors of the index's dimension.
		src := "dedup_test.src_" + table
		structure, err := ex.QueryStrings(ctx, `SELECT arrayStringConcat(groupArray(concat('`+"`"+`', name, '`+"`"+` ', type)), ', ') FROM system.columns
			WHERE database = 'dedup_test' AND table = '`+table+`' AND default_kind NOT IN ('MATERIALIZED', 'ALIAS')`)
		require.NoError(t, err)
		require.NoError(t, ex.Exec(ctx, `CREATE TABLE `+src+` ENGINE = Memory AS SELECT * FROM generateRandom('`+strings.ReplaceAll(structure[0], "'", "\\'")+`', 16) LIMIT 5`), table)
		sel := "SELECT * FROM " + src
		cols, err := ex.QueryStrings(ctx, `SELECT name FROM system.columns WHERE database = 'dedup_test' AND table = '`+table+`' AND name = 'embedding'`)
		require.NoError(t, err)
		if len(cols) > 0 {
			sel = "SELECT * REPLACE (arrayResize(embedding, 8, 0.5) AS embedding) FROM " + src
		}
		before, err := ex.QueryStrings(ctx, `SELECT toString(count()) FROM dedup_test.`+table)
		require.NoError(t, err)
		for range 2 {
			require.NoError(t, ex.Exec(ctx, `INSERT INTO dedup_test.`+table+` SETTINGS insert_deduplication_token = 'spool/x/1-9', async_insert = 0 `+sel), table)
		}
		after, err := ex.QueryStrings(ctx, `SELECT toString(count() - `+before[0]+`) FROM dedup_test.`+table)
		require.NoError(t, err)
		assert.Equal(t, []string{"5"}, after, table)
	}
}

// Occurrences written as plain Strings into logs_with_embeddings_in (how
// the exporter writes them) are stored in logs_with_embeddings, with its
// LowCardinality columns, and nothing stays in the Null input table.
func TestOccurrencesThroughInputTable(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
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
