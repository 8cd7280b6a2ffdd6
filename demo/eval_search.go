package demo

import (
	"context"
	"fmt"
	"io"

	"github.com/otelcol-agentic/otelcol-agentic/demo/searcheval"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// runSearchEval scores find_similar_errors on the public query set
// (demo/searcheval) for the vector, lexical and hybrid rankings side by
// side, on an embedded engine of its own: the shop's error templates and
// the Loghub 2k samples (LOGHUB2K_DIR, or the shared data folder beside
// the checkout; without them the shop's queries alone).
func runSearchEval(ctx context.Context, out io.Writer) (*searcheval.Report, error) {
	fmt.Fprintln(out, "▶ scoring error search on the public query set (vector, lexical, hybrid)…")
	rep, err := searcheval.RunStandalone(ctx, searcheval.Options{
		Embedder:  embed.DefaultConfig(),
		LoghubDir: searcheval.LoghubDir("."),
		Rankings:  []string{"vector", "lexical", "hybrid"},
		Progress:  &prefixWriter{w: out, prefix: "  [search] "},
	})
	if err != nil {
		return nil, fmt.Errorf("error search evaluation: %w", err)
	}
	return rep, nil
}
