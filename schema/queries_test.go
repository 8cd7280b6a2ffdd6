package schema_test

import (
	"context"
	"fmt"
	"strconv"
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
	ex := chdb.Executor{Engine: e}
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

	// The vector ranking alone: nearest first; a template beyond
	// max_distance still comes, after, with no fused score.
	vectorOnly := map[string]string{"embedding": vec(8, 0), "k": "5", "max_distance": "0.5",
		"terms": "[]", "groups": "[]", "weights": "[]", "idf": "[]", "probe": "[]", "avg_len": "3",
		"vector_weight": "1", "lexical_weight": "0", "candidates": "50"}
	rows := run("similar_error_search", vectorOnly)
	require.Len(t, rows, 2)
	f := strings.Split(rows[0], "\t")
	assert.Equal(t, []string{"1", "1", "0"}, f[:3], "hash, vector rank, no lexical rank")
	assert.Equal(t, []string{"0", "false"}, f[6:8], "distance, not a bound")
	far := strings.Split(rows[1], "\t")
	assert.Equal(t, "2", far[0])
	fused, err := strconv.ParseFloat(far[5], 64)
	require.NoError(t, err)
	assert.Less(t, fused, 0.001, "beyond max_distance the vector ranking only orders")

	// The templates' text and occurrences; the service filter.
	rows = run("similar_error_templates", map[string]string{"hashes": "[1,2]", "since": since, "service": ""})
	require.Len(t, rows, 2)
	for _, r := range rows {
		f := strings.Split(r, "\t")
		switch f[0] {
		case "1":
			assert.Equal(t, []string{"pool exhausted after <*>", "inventory"}, f[1:3])
			assert.Equal(t, "2", f[4], "occurrences")
		case "2":
			assert.Equal(t, "1", f[4])
		}
	}
	rows = run("similar_error_templates", map[string]string{"hashes": "[1,2]", "since": since, "service": "payment"})
	require.Len(t, rows, 1, "the service filter keeps payment's template only")
	assert.True(t, strings.HasPrefix(rows[0], "2\t"))

	// The words alone: the query's alternatives ([refused], and a group
	// whose alternatives are [econnrefused] or [connection, refused]) find
	// the template that holds them, through its materialized search terms;
	// its distance is only bounded (no vector ranking ran).
	lexical := map[string]string{"embedding": vec(8, 0), "k": "5", "max_distance": "0.5",
		"terms": "[['refused'],['econnrefused'],['connection','refused']]", "groups": "[0,1,1]", "weights": "[1,1,1]",
		"idf": "[1,2]", "probe": "['econnrefused','refused']", "avg_len": "3",
		"vector_weight": "0", "lexical_weight": "1", "candidates": "50"}
	rows = run("similar_error_search", lexical)
	require.Len(t, rows, 1)
	f = strings.Split(rows[0], "\t")
	assert.Equal(t, []string{"2", "0", "1"}, f[:3], "hash, no vector rank, lexical rank 1")
	assert.Equal(t, "[1,3]", f[4], "the alternatives it holds")
	assert.Equal(t, []string{"2", "true"}, f[6:8], "no vector ranking: the distance is only bounded")

	// Fused: both templates, each first in one ranking.
	lexical["vector_weight"] = "1"
	rows = run("similar_error_search", lexical)
	require.Len(t, rows, 2)
	var got []string
	for _, r := range rows {
		got = append(got, strings.SplitN(r, "\t", 2)[0])
	}
	assert.ElementsMatch(t, []string{"1", "2"}, got)

	// The text index answers which templates hold a term.
	plan, err := conn.Query("EXPLAIN indexes = 1 SELECT template_hash FROM log_templates WHERE hasAny(search_terms, ['refused'])", "TSV")
	require.NoError(t, err)
	assert.Contains(t, string(plan.Data), "search_idx")

	rows = run("similar_error_occurrences", map[string]string{"embedding": vec(8, 1), "templates": "1", "k": "10", "since": since})
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0], "connection refused")

	until := "2100-01-01 00:00:00"
	rows = run("anomaly_detection", map[string]string{"since": since, "until": until, "baseline_since": since, "service": "", "only_anomalous": "0", "k": "10"})
	require.Len(t, rows, 2, "one row per trace: %v", rows)
	assert.True(t, strings.HasPrefix(rows[0], "x1\t"), "highest score first: %s", rows[0])
	assert.Contains(t, rows[0], "retry_storm")
	assert.True(t, strings.HasPrefix(rows[1], "n1\t"))
	assert.NotContains(t, rows[1], "unusual_sequence", "the whole trace's row, not its first part's")
	rows = run("anomaly_detection", map[string]string{"since": since, "until": until, "baseline_since": since, "service": "", "only_anomalous": "1", "k": "10"})
	require.Len(t, rows, 1, "flagged only")
	assert.True(t, strings.HasPrefix(rows[0], "x1\t"))
	rows = run("anomaly_detection", map[string]string{"since": since, "until": until, "baseline_since": since, "service": "b", "only_anomalous": "0", "k": "10"})
	assert.Len(t, rows, 2, "service b is a hop of both sequences")
	rows = run("anomaly_detection", map[string]string{"since": since, "until": until, "baseline_since": since, "service": "nowhere", "only_anomalous": "0", "k": "10"})
	assert.Empty(t, rows)

	patterns := map[string]string{"embedding": vec(8, 0), "k": "3", "max_distance": "0.25",
		"terms": "[['exhaustion']]", "groups": "[0]", "weights": "[1]", "idf": "[1]", "probe": "['exhaustion']", "avg_len": "5",
		"vector_weight": "1", "lexical_weight": "1", "candidates": "50"}
	rows = run("pattern_matching", patterns)
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0], "raise pool 20->50")
	f = strings.Split(rows[0], "\t")
	assert.Equal(t, []string{"1", "1"}, f[11:13], "first in both rankings (its root cause says exhaustion)")
	patterns["embedding"], patterns["terms"], patterns["probe"] = vec(8, 5), "[['nothing']]", "['nothing']"
	rows = run("pattern_matching", patterns)
	require.Len(t, rows, 1)
	f = strings.Split(rows[0], "\t")
	assert.Equal(t, "1", f[9], "far from the query")
	assert.Equal(t, "0", f[12], "and without its words")

	assert.ElementsMatch(t, []string{"anomaly_detection", "compare_attributes", "compare_windows_spans", "compare_windows_templates", "pattern_matching", "similar_error_occurrences", "similar_error_search", "similar_error_templates"}, schema.QueryNames())
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
