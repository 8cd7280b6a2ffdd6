package mcp

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// benchTool calls a tool b.N times through the MCP client (JSON-RPC over
// the in-memory transport, argument validation, ClickHouse, encoding) and
// reports p50/p95 besides the mean.
func benchTool(b *testing.B, h *harness, name string, args func(i int) map[string]any) {
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		res, err := h.cs.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args(i)})
		if err != nil || res.IsError {
			b.Fatalf("%s: %v %s", name, err, resultText(res))
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)])/1e6, "p95-ms")
	}
}

// loadgenScale is the pool-exhaustion incident at the load generator's
// rate: 100 traces a minute for an hour (6,000 traces, ~50,000 spans).
var loadgenScale = func() scenario {
	sc := poolExhaustion
	sc.name, sc.rate = "mcp_pool_loadgen", 40
	return sc
}()

// Text in, hits out: normalise, embed (a new text each call, so the
// embedding cache does not answer), vector search over the templates, and
// occurrence stats of the window.
func BenchmarkFindSimilarErrors(b *testing.B) {
	h, _ := onDataset(b, loadgenScale)
	benchTool(b, h, ToolFindSimilarErrors, func(i int) map[string]any {
		return map[string]any{"text": fmt.Sprintf("timed out acquiring a DB connection from the pool in reserve_stock variant%c%c", 'a'+i%26, 'a'+(i/26)%26), "window": "24h"}
	})
}

func BenchmarkAnalyzeRootCause(b *testing.B) {
	h, _ := onDataset(b, loadgenScale)
	benchTool(b, h, ToolAnalyzeRootCause, func(int) map[string]any {
		return map[string]any{"window": "30m", "service": "payment"}
	})
}
