package schema_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func vec(dims int, hot int) string {
	parts := make([]string, dims)
	for i := range parts {
		parts[i] = "0"
	}
	parts[hot%dims] = "1"
	return "[" + strings.Join(parts, ",") + "]"
}

// Every named query runs against the real engine with its parameters bound
// by ClickHouse, and answers from the tables as intended.
func TestNamedQueriesRun(t *testing.T) {
	e := chdbtest.Engine(t)
	ex := schema.EngineExecutor{Engine: e}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "q_test", Dims: 8})
	require.NoError(t, err)
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO q_test.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES
			(1, 'pool exhausted after <*>', 'inventory', 'ERROR', now64(9), %s), (2, 'connection refused', 'payment', 'ERROR', now64(9), %s)`, vec(8, 0), vec(8, 1)),
		// Occurrences as the exporter writes them: through the input table,
		// whose views store them and count them per template.
		`INSERT INTO q_test.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model) VALUES
			(now64(9), 'ta', '', 'ERROR', 'inventory', 'pool exhausted after 5s', 'pool exhausted after <*>', 1, ''),
			(now64(9), 'tb', '', 'ERROR', 'inventory', 'pool exhausted after 7s', 'pool exhausted after <*>', 1, ''),
			(now64(9), 'tc', '', 'ERROR', 'payment', 'connection refused', 'connection refused', 2, '')`,
		fmt.Sprintf(`INSERT INTO q_test.traces_with_embeddings (TraceId, Timestamp, ServiceName, span_sequence, span_count, embedding, anomaly_score, is_anomaly, anomaly_type) VALUES
			('n1', now64(9), 'frontend', 'a -> b', 2, %s, 0.1, 0, ''), ('x1', now64(9), 'frontend', 'a -> b -> b -> b', 4, %s, 3.5, 1, 'retry_storm')`, vec(8, 2), vec(8, 3)),
		// n1's first part, released alone before the rest of it arrived:
		// odd on its own, superseded by the whole trace's row.
		fmt.Sprintf(`INSERT INTO q_test.traces_with_embeddings (TraceId, Timestamp, ServiceName, span_sequence, span_count, embedding, anomaly_score, is_anomaly, anomaly_type) VALUES
			('n1', now64(9), 'frontend', 'b', 1, %s, 5, 1, 'unusual_sequence')`, vec(8, 4)),
		fmt.Sprintf(`INSERT INTO q_test.error_patterns (error_signature, service_name, root_cause, resolution, last_seen, embedding) VALUES
			('pool', 'inventory', 'db pool exhaustion', 'raise pool 20->50', now64(3), %s)`, vec(8, 0)),
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}
	conn, err := e.Acquire(ctx)
	require.NoError(t, err)
	defer e.Release(conn)
	_, err = conn.Query("USE q_test", "TSV")
	require.NoError(t, err)

	run := func(name string, params map[string]string) []string {
		sql, err := schema.Query(name)
		require.NoError(t, err)
		var ps []chdb.Param
		for k, v := range params {
			ps = append(ps, chdb.Param{Name: k, Value: v})
		}
		r, err := conn.Query(sql, "TabSeparated", ps...)
		require.NoError(t, err, name)
		out := strings.TrimRight(string(r.Data), "\n")
		if out == "" {
			return nil
		}
		return strings.Split(out, "\n")
	}
	since := "2000-01-01 00:00:00"

	rows := run("similar_error_search", map[string]string{"embedding": vec(8, 0), "k": "5", "since": since, "service": "", "max_distance": "0.5"})
	require.Len(t, rows, 1, "the other template is too far")
	f := strings.Split(rows[0], "\t")
	assert.Equal(t, []string{"1", "pool exhausted after <*>", "inventory"}, f[:3])
	assert.Equal(t, "2", f[5], "occurrences")

	rows = run("similar_error_search", map[string]string{"embedding": vec(8, 0), "k": "5", "since": since, "service": "payment", "max_distance": "2"})
	require.Len(t, rows, 1, "the service filter keeps payment's template only")
	assert.True(t, strings.HasPrefix(rows[0], "2\t"))

	rows = run("similar_error_occurrences", map[string]string{"embedding": vec(8, 1), "templates": "1", "k": "10", "since": since})
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0], "connection refused")

	rows = run("anomaly_detection", map[string]string{"since": since, "baseline_since": since, "k": "10"})
	require.Len(t, rows, 2, "one row per trace: %v", rows)
	assert.True(t, strings.HasPrefix(rows[0], "x1\t"), "highest score first: %s", rows[0])
	assert.Contains(t, rows[0], "retry_storm")
	assert.True(t, strings.HasPrefix(rows[1], "n1\t"))
	assert.NotContains(t, rows[1], "unusual_sequence", "the whole trace's row, not its first part's")

	rows = run("pattern_matching", map[string]string{"embedding": vec(8, 0), "k": "3", "max_distance": "0.25"})
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0], "raise pool 20->50")
	assert.Empty(t, run("pattern_matching", map[string]string{"embedding": vec(8, 5), "k": "3", "max_distance": "0.25"}))

	assert.ElementsMatch(t, []string{"anomaly_detection", "pattern_matching", "similar_error_occurrences", "similar_error_search"}, schema.QueryNames())
}

func TestPatternCatalogue(t *testing.T) {
	ps, err := schema.Patterns()
	require.NoError(t, err)
	require.NotEmpty(t, ps)
	seen := map[string]bool{}
	for _, p := range ps {
		assert.NotEmpty(t, p.Signature)
		assert.False(t, seen[p.Signature], "duplicate signature %s", p.Signature)
		seen[p.Signature] = true
		assert.NotEmpty(t, p.Message, p.Signature)
		assert.NotEmpty(t, p.RootCause, p.Signature)
		assert.NotEmpty(t, p.Resolution, p.Signature)
	}
	assert.True(t, seen["inventory_db_pool_exhausted"])
}
