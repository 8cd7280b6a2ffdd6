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

// The stats view keeps counts, first/last seen and example traces per
// template and minute as occurrences arrive.
func TestTemplateStatsFollowOccurrences(t *testing.T) {
	ex := schema.EngineExecutor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "stats_test", Dims: 8})
	require.NoError(t, err)
	require.NoError(t, ex.Exec(ctx, `INSERT INTO stats_test.logs_with_embeddings (Timestamp, TraceId, SeverityText, ServiceName, Body, template, template_hash)
		VALUES ('2026-11-27 10:00:01', 't1', 'ERROR', 'payment', 'b1', 'tpl', 42),
		       ('2026-11-27 10:00:31', '', 'ERROR', 'payment', 'b2', 'tpl', 42),
		       ('2026-11-27 10:01:05', 't3', 'ERROR', 'payment', 'b3', 'tpl', 42),
		       ('2026-11-27 10:01:06', 't4', 'ERROR', 'inventory', 'b4', 'other', 7)`))
	rows, err := ex.QueryStrings(ctx, `SELECT concat(toString(sum(occurrences)), ' ', toString(min(first_seen)), ' ', toString(max(last_seen)), ' ', toString(arraySort(groupUniqArrayMerge(5)(example_trace_ids))))
		FROM stats_test.log_template_stats WHERE template_hash = 42`)
	require.NoError(t, err)
	assert.Equal(t, []string{"3 2026-11-27 10:00:01.000000000 2026-11-27 10:01:05.000000000 ['t1','t3']"}, rows)
}
