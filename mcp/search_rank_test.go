package mcp

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// find_similar_errors runs its ranking in small statements with the fusion
// in Go; the named queries similar_error_search and similar_error_templates
// say the same in SQL. On a store with superseded templates (some nearer to
// the query than the template they became), both give the same templates
// in the same order, with the same ranks, scores, matched alternatives,
// distances and occurrences, for every ranking.
func TestSearchPiecesMatchTheNamedQueries(t *testing.T) {
	ctx := context.Background()
	const db, templates = "mcp_search_pieces", 600
	dims := DefaultConfig().Embedder.Dims
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: dims})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Minute)
	rows := scaleTemplateRows(templates, 5, dims, rand.New(rand.NewPCG(4, 4)), now)
	require.NoError(t, ex.Exec(ctx, fmt.Sprintf("INSERT INTO %s.log_templates (template_hash, template, service_name, severity_text, example_body, first_seen, embedding_model, embedding) FORMAT JSONEachRow\n%s", db, rows)))
	// Templates 1..400 generalised into 401..600 (two each): their
	// occurrences are the newer template's, and they are not ranked
	// themselves — so many that the best lexical candidates are mostly
	// superseded ones.
	var aliases []string
	for i := 1; i <= 400; i++ {
		aliases = append(aliases, fmt.Sprintf("(%d, %d, now64(9))", i, 401+(i-1)%200))
	}
	for _, stmt := range []string{
		fmt.Sprintf("INSERT INTO %s.log_template_aliases VALUES %s", db, strings.Join(aliases, ", ")),
		// Occurrences through the input table; two traces for a template
		// and its older hashes, so that the five examples kept are all.
		fmt.Sprintf(`INSERT INTO %s.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)
			SELECT toDateTime64('%s', 9) - toIntervalSecond(number %% 5400), concat('t', toString((th - 1) %% 200), '-', toString(number %% 2)), '', 'ERROR',
			       concat('svc-', toString((th - 1) %% 5)), 'body', 'tpl', th, ''
			FROM (SELECT number, 1 + (number %% %d) AS th FROM numbers(%d))`, db, now.Format("2006-01-02 15:04:05"), templates, templates*7),
	} {
		require.NoError(t, ex.Exec(ctx, stmt))
	}

	s := connect(t, testConfig(t, db), now).srv
	rankSQL, err := schema.Query("similar_error_search")
	require.NoError(t, err)
	detailSQL, err := schema.Query("similar_error_templates")
	require.NoError(t, err)
	since := now.Add(-time.Hour)
	newer := 0 // hits that are a superseded template's successor
	queries := append(scaleQueries, "UpstreamError: get_user connection refused during list_items v401", "Cache")
	for _, q := range queries {
		tpl, vec, err := s.embedText(ctx, q)
		require.NoError(t, err)
		a := s.analyze(ctx, "log_templates", q)
		maxDist := s.similarMaxDistance(tpl.Template)
		for _, w := range [][2]float64{{0.25, 1}, {1, 1}, {1, 0}, {0, 1}} {
			name := fmt.Sprintf("%q vector %g lexical %g", q, w[0], w[1])
			var want []struct {
				Hash uint64 `ch:"template_hash"`
				hybridRow
			}
			require.NoError(t, s.db.selectInto(ctx, &want, rankSQL, hybridParams(a, vec, w[0], w[1]).float("max_distance", maxDist).int("k", 20)), name)
			got, older, err := s.rankTemplates(ctx, a, vec, w[0], w[1], maxDist, 20)
			require.NoError(t, err, name)
			require.Len(t, got, len(want), name)
			for i := range want {
				g, x := got[i], want[i]
				require.Equal(t, x.Hash, g.Hash, "%s: place %d", name, i+1)
				if x.Hash > 400 {
					newer++
				}
				assert.Equal(t, x.VectorRank, g.VectorRank, name)
				assert.Equal(t, x.LexicalRank, g.LexicalRank, name)
				assert.InDelta(t, x.LexicalScore, g.LexicalScore, 1e-9, name)
				assert.InDelta(t, x.FusedScore, g.FusedScore, 1e-12, name)
				assert.Equal(t, x.Distance, g.Distance, name)
				assert.Equal(t, x.Bound, g.Bound, name)
				assert.Equal(t, orEmpty(x.Matched), orEmpty(g.Matched), name)
			}
			if w != [2]float64{0.25, 1} {
				continue
			}
			for _, service := range []string{"", "svc-2"} {
				var details []struct {
					Hash        uint64    `ch:"template_hash"`
					Template    string    `ch:"template"`
					Service     string    `ch:"service_name"`
					Example     string    `ch:"example_body"`
					Occurrences uint64    `ch:"occurrences"`
					FirstSeen   time.Time `ch:"first_seen"`
					LastSeen    time.Time `ch:"last_seen"`
					Traces      []string  `ch:"example_trace_ids"`
				}
				hashes := make([]uint64, len(want))
				for i, x := range want {
					hashes[i] = x.Hash
				}
				require.NoError(t, s.db.selectInto(ctx, &details, detailSQL, params{"hashes": hashList(hashes)}.time("since", since).str("service", service)))
				hits, err := s.templateDetails(ctx, got, older, since, service)
				require.NoError(t, err)
				lookedUp, err := s.templateDetails(ctx, got, nil, since, service)
				require.NoError(t, err)
				require.Len(t, lookedUp, len(hits), name)
				for i := range hits {
					assert.Equal(t, hits[i].Occurrences, lookedUp[i].Occurrences, "%s: older hashes looked up after the ranking", name)
				}
				byHash := map[uint64]int{}
				for i, d := range details {
					byHash[d.Hash] = i
				}
				require.Len(t, hits, len(details), name)
				for _, hit := range hits {
					i, ok := byHash[hit.Hash]
					require.True(t, ok, "%s: %d has no occurrences in the named query", name, hit.Hash)
					d := details[i]
					assert.Equal(t, d.Template, hit.Template, name)
					assert.Equal(t, d.Example, hit.Example, name)
					assert.Equal(t, d.Occurrences, hit.Occurrences, name)
					assert.True(t, d.FirstSeen.Equal(hit.FirstSeen), name)
					assert.True(t, d.LastSeen.Equal(hit.LastSeen), name)
					assert.ElementsMatch(t, d.Traces, hit.Traces, name)
				}
			}
		}
	}
	assert.Positive(t, newer, "no successor of a superseded template was ranked: the store does not test the aliases")
}
