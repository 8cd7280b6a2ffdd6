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

// Words as people type them find the pool exhaustion of the dataset:
// other spellings of the failure, Korean, a typo, and each hit says why.
func TestFindSimilarErrorsByWhatPeopleType(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	for _, text := range []string{"too many connections to the database", "커넥션 풀 고갈", "conection pool exausted", "HikariPool-1 - Connection is not available, request timed out after 30000ms"} {
		out := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": text, "k": 3})
		require.NotEmpty(t, out.Hits, text)
		top := out.Hits[0]
		assert.Contains(t, top.Template, "timed out acquiring connection from pool", text)
		assert.Contains(t, out.Query.Concepts, "connection_pool_exhausted", text)
		assert.Equal(t, RankingHybrid, out.Query.Ranking)
		assert.Positive(t, top.Match.LexicalRank, text)
		assert.Positive(t, top.Match.Coverage, text)
		assert.NotEmpty(t, append(top.Match.Words, top.Match.Concepts...), "%s: the hit says which words or concepts matched", text)
	}
	out := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "conection pool exausted"})
	assert.Equal(t, "connection", out.Query.Corrections["conection"])

	// The vector ranking alone is still there, for comparison.
	vec := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "커넥션 풀 고갈", "ranking": "vector"})
	assert.Equal(t, RankingVector, vec.Query.Ranking)
	for _, hit := range vec.Hits {
		assert.Zero(t, hit.Match.LexicalRank, "no lexical ranking asked for")
	}
	assert.Contains(t, callError(t, h, ToolFindSimilarErrors, map[string]any{"text": "x", "ranking": "bm25"}), "not one of hybrid, vector, lexical")
}

// Nothing like the query is stored: the best few come back flagged, with
// the reason, instead of an empty list.
func TestFindSimilarErrorsAnswersWithLowConfidence(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	out := call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "kernel: EXT4-fs error (device sda1): ext4_find_entry: reading directory lblock 0"})
	require.NotEmpty(t, out.Hits)
	assert.LessOrEqual(t, len(out.Hits), lowConfidenceHits)
	assert.True(t, out.LowConfidence)
	assert.Contains(t, out.Notice, "low confidence")
	assert.Contains(t, out.Notice, "max_distance")
	for _, hit := range out.Hits {
		assert.False(t, hit.Match.Confident)
	}

	// A known failure is answered with confidence.
	out = call[FindSimilarErrorsOutput](t, h, ToolFindSimilarErrors, map[string]any{"text": "version conflict"})
	require.NotEmpty(t, out.Hits)
	assert.False(t, out.LowConfidence)
	assert.Contains(t, out.Hits[0].Template, "CartConcurrencyError")
	assert.True(t, out.Hits[0].Match.Confident)
}

func TestMatchErrorPatternsHybrid(t *testing.T) {
	h, _ := onDataset(t, poolExhaustion)
	for text, want := range map[string]string{
		"DB 커넥션 풀 고갈": "inventory_db_pool_exhausted",
		"System.NullReferenceException: Object reference not set to an instance of an object": "null_pointer_dereference",
		"OptimisticLockException": "cart_update_conflict",
	} {
		out := call[MatchErrorPatternsOutput](t, h, ToolMatchErrorPatterns, map[string]any{"text": text})
		require.NotEmpty(t, out.Patterns, text)
		assert.Equal(t, want, out.Patterns[0].Signature, text)
		require.NotNil(t, out.Patterns[0].Why, text)
		assert.NotEmpty(t, out.Patterns[0].Why.Concepts, text)
	}
	out := call[MatchErrorPatternsOutput](t, h, ToolMatchErrorPatterns, map[string]any{"text": "quantum flux capacitor misaligned"})
	assert.True(t, out.LowConfidence)
	assert.Contains(t, out.Notice, "new to the catalogue")
}

// A database written by a collector from before migration 0009 has no
// search terms: the server says how to get them instead of failing on
// every search.
func TestCheckNamesMissingSearchTerms(t *testing.T) {
	ctx := context.Background()
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "mcp_pre0009", Dims: 384})
	require.NoError(t, err)
	for _, table := range []string{"log_templates", "error_patterns"} {
		require.NoError(t, ex.Exec(ctx, "ALTER TABLE mcp_pre0009."+table+" DROP INDEX search_idx"))
		require.NoError(t, ex.Exec(ctx, "ALTER TABLE mcp_pre0009."+table+" DROP COLUMN search_terms"))
	}
	srv, err := New(testConfig(t, "mcp_pre0009"))
	require.NoError(t, err)
	defer srv.Close()
	err = srv.Check(ctx)
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "migration 0009") && strings.Contains(err.Error(), "start the collector"), err.Error())
}

// The search vocabulary (typos, variants, rarity) follows the store: once
// older than its TTL it is rebuilt in the background while the old one
// still answers, and Close waits for the rebuild.
func TestVocabularyFollowsTheStore(t *testing.T) {
	ctx := context.Background()
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "mcp_vocab", Dims: 384})
	require.NoError(t, err)
	insert := func(hash int, template string) {
		require.NoError(t, ex.Exec(ctx, fmt.Sprintf(`INSERT INTO mcp_vocab.log_templates (template_hash, template, service_name, example_body, first_seen, embedding)
			VALUES (%d, '%s', 'svc', '%s', now64(9), arrayWithConstant(384, 0.05))`, hash, template, template)))
	}
	insert(1, "FooBarError: flux capacitor overheated")
	srv, err := New(testConfig(t, "mcp_vocab"))
	require.NoError(t, err)
	v, err := srv.vocab.get(ctx, "log_templates")
	require.NoError(t, err)
	assert.Equal(t, 1, v.Docs())
	assert.Equal(t, 1, v.DF("capacitor"))
	assert.Equal(t, 1, v.DF("foobarerror"), "identifiers whole")
	assert.Equal(t, 1, v.DF("bar"), "and by their parts")

	insert(2, "capacitor melted during warp_jump")
	srv.vocab.mu.Lock()
	srv.vocab.ttl = 0
	srv.vocab.mu.Unlock()
	stale, err := srv.vocab.get(ctx, "log_templates")
	require.NoError(t, err)
	assert.Same(t, v, stale, "the old vocabulary answers while the new one loads")
	require.Eventually(t, func() bool {
		v, err := srv.vocab.get(ctx, "log_templates")
		return err == nil && v.DF("capacitor") == 2 && v.DF("warp") == 1
	}, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, srv.Close())
}
