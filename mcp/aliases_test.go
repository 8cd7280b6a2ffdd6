package mcp

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// error_summary counts a template's occurrences stored under the hashes it
// had before it generalised (log_template_canonical) as its own, under its
// newest text.
func TestErrorSummaryResolvesTemplateAliases(t *testing.T) {
	ctx := context.Background()
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "mcp_alias", Dims: DefaultConfig().Embedder.Dims})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Minute)
	ts := now.Add(-5 * time.Minute).Format("2006-01-02 15:04:05")
	zero := "[" + strings.TrimSuffix(strings.Repeat("0,", DefaultConfig().Embedder.Dims), ",") + "]"
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO mcp_alias.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding) VALUES
			(31, 'lease lost on shard alpha', 'worker', 'ERROR', '%s', %s), (32, 'lease lost on shard <*>', 'worker', 'ERROR', '%s', %s)`, ts, zero, ts, zero),
		fmt.Sprintf(`INSERT INTO mcp_alias.log_template_stats
			SELECT h, 'worker', 'ERROR', toStartOfMinute(toDateTime('%s')), n, '%s', '%s', groupUniqArrayState(5)(t)
			FROM values('h UInt64, n UInt64, t String', (31, 7, 't1'), (32, 4, 't2'))
			GROUP BY h, n`, ts, ts, ts),
		`INSERT INTO mcp_alias.log_template_aliases VALUES (31, 32, now64(9))`,
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}
	h := connect(t, testConfig(t, "mcp_alias"), now)
	out := call[ErrorSummaryOutput](t, h, ToolErrorSummary, map[string]any{"window": "30m"})
	require.Len(t, out.Services, 1)
	tpls := out.Services[0].TopTemplates
	require.Len(t, tpls, 1, "one template, not one per hash: %+v", tpls)
	assert.Equal(t, "lease lost on shard <*>", tpls[0].Template)
	assert.Equal(t, uint64(11), tpls[0].Count)
	assert.ElementsMatch(t, []string{"t1", "t2"}, tpls[0].ExampleTraceIDs)
}

// find_similar_errors by trace_id reads the trace's error logs one per
// template as it is now: two occurrences of one event, stored before and
// after its template generalised, are one text, and the trace's other
// errors are not crowded out by the older hash.
func TestTraceErrorTextsResolveTemplateAliases(t *testing.T) {
	ctx := context.Background()
	db := "mcp_alias_trace"
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: DefaultConfig().Embedder.Dims})
	require.NoError(t, err)
	trace := strings.Repeat("ab", 16)
	at := func(s int) string {
		return time.Now().UTC().Add(time.Duration(s-60) * time.Second).Format("2006-01-02 15:04:05")
	}
	for _, stmt := range []string{
		fmt.Sprintf(`INSERT INTO %s.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model) VALUES
			('%s', '%s', '01', 'ERROR', 'worker', 'lease lost on shard alpha', 'lease lost on shard alpha', 31, 'm'),
			('%s', '%s', '02', 'ERROR', 'worker', 'lease lost on shard beta', 'lease lost on shard <*>', 32, 'm'),
			('%s', '%s', '03', 'ERROR', 'worker', 'disk quota exceeded on /var', 'disk quota exceeded on <*>', 41, 'm'),
			('%s', '%s', '04', 'ERROR', 'worker', 'checkout aborted: payment timeout', 'checkout aborted: payment timeout', 51, 'm')`,
			db, at(0), trace, at(1), trace, at(2), trace, at(3), trace),
		fmt.Sprintf(`INSERT INTO %s.log_template_aliases VALUES (31, 32, now64(9))`, db),
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}
	srv, err := New(testConfig(t, db))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	texts, _, err := srv.queryTexts(ctx, "", trace)
	require.NoError(t, err)
	assert.Equal(t, []string{"lease lost on shard alpha", "disk quota exceeded on /var", "checkout aborted: payment timeout"}, texts)
}
