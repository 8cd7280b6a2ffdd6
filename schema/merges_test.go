package schema_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// Merges of traces_with_embeddings keep its trace-id index but do not
// rebuild the vector index no query reads; inserted parts still carry it,
// and the table still tells writers its vector dimension.
func TestTraceVectorsAreNotReindexedByMerges(t *testing.T) {
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	ctx := context.Background()
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "merges_test", Dims: 4})
	require.NoError(t, err)
	for _, v := range []string{"('t1', now64(9), 's', [1, 0, 0, 0])", "('t2', now64(9), 's', [0, 1, 0, 0])"} {
		require.NoError(t, ex.Exec(ctx, "INSERT INTO merges_test.traces_with_embeddings (TraceId, Timestamp, ServiceName, embedding) VALUES "+v))
	}
	indexBytes := func() []string {
		t.Helper()
		rows, err := ex.QueryStrings(ctx, `SELECT concat(name, ':', toString(data_compressed_bytes > 0)) FROM system.data_skipping_indices
			WHERE database = 'merges_test' AND table = 'traces_with_embeddings' ORDER BY name`)
		require.NoError(t, err)
		return rows
	}
	assert.Equal(t, []string{"idx_trace_id:1", "vec_idx:1"}, indexBytes(), "inserted parts carry both indexes")
	require.NoError(t, ex.Exec(ctx, "OPTIMIZE TABLE merges_test.traces_with_embeddings FINAL"))
	parts, err := ex.QueryStrings(ctx, "SELECT count() FROM system.parts WHERE database = 'merges_test' AND table = 'traces_with_embeddings' AND active")
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, parts, "the two parts merged")
	assert.Equal(t, []string{"idx_trace_id:1", "vec_idx:0"}, indexBytes(), "the merged part has no vector index")
	dims, err := schema.VectorDims(ctx, ex, "merges_test", "traces_with_embeddings")
	require.NoError(t, err)
	assert.Equal(t, 4, dims)
	rows, err := ex.QueryStrings(ctx, "SELECT TraceId FROM merges_test.traces_with_embeddings ORDER BY cosineDistance(embedding, [0, 1, 0, 0]) LIMIT 1")
	require.NoError(t, err)
	assert.Equal(t, []string{"t2"}, rows, "a nearest-vector query still answers, by brute force")
}
