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

// A template that generalised (hash 11 -> 12, then 12 -> 13; the miner
// re-points every older hash at the newest) is answered once, as the newest,
// with the occurrences stored under every hash it had.
func TestQueriesResolveTemplateAliases(t *testing.T) {
	e := chdbtest.Engine(t)
	ex := chdb.Executor{Engine: e}
	ctx := context.Background()
	require.NoError(t, ex.Exec(ctx, "DROP DATABASE IF EXISTS alias_test SYNC"))
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "alias_test", Dims: 8})
	require.NoError(t, err)
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO alias_test.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES
			(11, 'lease lost on shard alpha', 'worker', 'ERROR', now64(9), %s),
			(12, 'lease lost on shard <*> beta', 'worker', 'ERROR', now64(9), %s),
			(13, 'lease lost on shard <*>', 'worker', 'ERROR', now64(9), [1,0.1,0,0,0,0,0,0]),
			(14, 'disk full', 'worker', 'ERROR', now64(9), %s)`, vec(8, 0), vec(8, 0), vec(8, 1)),
		`INSERT INTO alias_test.logs_with_embeddings (Timestamp, TraceId, SeverityText, ServiceName, Body, template, template_hash) VALUES
			(now64(9), 't1', 'ERROR', 'worker', 'lease lost on shard alpha', 'lease lost on shard alpha', 11),
			(now64(9), 't2', 'ERROR', 'worker', 'lease lost on shard beta', 'lease lost on shard <*> beta', 12),
			(now64(9), 't3', 'ERROR', 'worker', 'lease lost on shard gamma', 'lease lost on shard <*>', 13),
			(now64(9), 't4', 'ERROR', 'worker', 'disk full', 'disk full', 14)`,
		`INSERT INTO alias_test.log_template_stats
			SELECT h, 'worker', 'ERROR', toStartOfMinute(now()), n, f, l, groupUniqArrayState(5)(t)
			FROM values('h UInt64, n UInt64, f DateTime64(9), l DateTime64(9), t String',
				(11, 4, now64(9) - 60, now64(9), 't1'), (12, 2, now64(9), now64(9), 't2'),
				(13, 1, now64(9), now64(9), 't3'), (14, 1, now64(9), now64(9), 't4'))
			GROUP BY h, n, f, l`,
		// 11 -> 12 first; then the template generalised again and both older
		// hashes were re-pointed at 13 (a later row wins).
		`INSERT INTO alias_test.log_template_aliases VALUES (11, 12, now64(9) - 10)`,
		`INSERT INTO alias_test.log_template_aliases VALUES (11, 13, now64(9)), (12, 13, now64(9))`,
		// Twenty more superseded versions of 13, nearer the query than 13
		// itself, in one part with it: the vector index's nearest few are
		// then all superseded ones, and a filter applied after the index
		// would leave nothing of 13.
		fmt.Sprintf(`INSERT INTO alias_test.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding)
			SELECT 100 + number, 'lease lost on shard v' || toString(number), 'worker', 'ERROR', now64(9), %s FROM numbers(20)`, vec(8, 0)),
		`INSERT INTO alias_test.log_template_aliases SELECT 100 + number, 13, now64(9) FROM numbers(20)`,
		`OPTIMIZE TABLE alias_test.log_templates FINAL`,
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}
	conn, err := e.Acquire(ctx)
	require.NoError(t, err)
	defer e.Release(conn)
	_, err = conn.Query("USE alias_test", "TSV")
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

	// Neither ranking answers the superseded templates.
	for _, weights := range [][2]string{{"1", "0"}, {"0", "1"}, {"1", "1"}} {
		rows := run("similar_error_search", map[string]string{"embedding": vec(8, 0), "k": "5", "max_distance": "0.5",
			"terms": "[['lease']]", "groups": "[0]", "weights": "[1]", "idf": "[1]", "probe": "['lease']", "avg_len": "5",
			"vector_weight": weights[0], "lexical_weight": weights[1], "candidates": "50"})
		var hashes []string
		for _, r := range rows {
			hashes = append(hashes, strings.SplitN(r, "\t", 2)[0])
		}
		require.NotEmpty(t, hashes, "weights %v", weights)
		assert.Equal(t, "13", hashes[0], "weights %v", weights)
		assert.NotContains(t, hashes, "11", "weights %v", weights)
		assert.NotContains(t, hashes, "12", "weights %v", weights)
	}
	rows := run("similar_error_templates", map[string]string{"hashes": "[13]", "since": since, "service": ""})
	require.Len(t, rows, 1, "%v", rows)
	f := strings.Split(rows[0], "\t")
	assert.Equal(t, []string{"13", "lease lost on shard <*>"}, f[:2])
	assert.Equal(t, "7", f[4], "occurrences under all three hashes")
	assert.Contains(t, f[7], "t1", "example traces of the old hashes too")

	rows = run("similar_error_occurrences", map[string]string{"embedding": vec(8, 0), "templates": "1", "k": "10", "since": since})
	require.Len(t, rows, 3, "%v", rows)
	for _, r := range rows {
		assert.Equal(t, "13", strings.Split(r, "\t")[6], "every occurrence under the canonical hash: %s", r)
	}
}
