package searcheval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// openAICompatible is an OpenAI-compatible embeddings endpoint (POST
// /v1/embeddings) as Ollama, vLLM or TEI serve it locally; its "model" is
// the hash embedder at 64 dimensions, so answers are deterministic.
func openAICompatible(t *testing.T, calls *atomic.Int64) *httptest.Server {
	model := embed.NewHash(64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/embeddings" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		calls.Add(1)
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float32 `json:"embedding"`
		}
		resp := struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
		}{Object: "list", Model: req.Model}
		for i, in := range req.Input {
			resp.Data = append(resp.Data, item{Object: "embedding", Index: i, Embedding: model.EmbedOne(in)})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(resp)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The OpenAI-compatible provider goes through the same hybrid path: the
// collector's processor and exporter embed the store through it, the MCP
// server embeds queries through it, and the words are fused with its
// vectors (at full weight, as for any model but the hash embedder).
func TestSearchWithOpenAICompatibleEmbedder(t *testing.T) {
	var calls atomic.Int64
	api := openAICompatible(t, &calls)
	cfg := embed.DefaultConfig()
	cfg.Provider, cfg.Model, cfg.BaseURL, cfg.Dims = embed.ProviderOpenAI, "multilingual-test", api.URL+"/v1", 64
	rep, err := Run(context.Background(), Options{
		Endpoint: chdbtest.HTTP(t).URL, Database: "search_openai", Embedder: cfg,
		ShopOnly: true, Rankings: []string{"vector", "hybrid"},
	})
	require.NoError(t, err)
	t.Log("\n" + rep.Markdown())
	assert.Equal(t, "multilingual-test", rep.Model)
	assert.Positive(t, calls.Load(), "the store and the queries were embedded through the API")
	require.Len(t, rep.Rankings, 2)
	vector, hybrid := rep.Rankings[0].Mean, rep.Rankings[1].Mean
	// The stand-in model is a poor one (64 hashed dimensions, no meaning),
	// and any model but the hash embedder counts whole in the fusion: the
	// words must still carry the answer.
	assert.GreaterOrEqual(t, hybrid.P1, 0.65, "hybrid P@1 on the shop's queries (0.72 when written)")
	assert.Greater(t, hybrid.P1, vector.P1+0.25, "the words add to the model's vectors (vectors alone 0.34)")
	require.Len(t, rep.Pasted, 2)
	assert.GreaterOrEqual(t, rep.Pasted[1].Self, 0.95, "a pasted message finds its own template")
}
