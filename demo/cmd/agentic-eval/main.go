// Command agentic-eval runs seeded traffic with every fault scenario (the
// seed's and ones composed from generic primitives) through the collector,
// then scores the MCP server's answers against the load generator's ground
// truth: root-cause top-1/top-3 accuracy, anomalous-trace P/R/F1, and
// similar-error precision@10; before that, error search on the public query
// set (P@1, P@5, MRR of the vector, lexical and hybrid rankings). `make eval`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/otelcol-agentic/otelcol-agentic/demo"
)

func main() {
	o := demo.DefaultEvalOptions()
	flag.StringVar(&o.DataDir, "data-dir", "", "collector data directory, wiped first (default: a temporary one)")
	flag.Float64Var(&o.Rate, "rate", o.Rate, "journeys per second")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "load generator seed")
	flag.DurationVar(&o.Warmup, "warmup", o.Warmup, "traffic before the first fault window")
	flag.DurationVar(&o.Window, "window", o.Window, "length of each fault window (the memory leak gets 1.5x)")
	flag.DurationVar(&o.Gap, "gap", o.Gap, "quiet time between fault windows")
	flag.DurationVar(&o.Step, "step", o.Step, "analyze_root_cause is asked every step within a window")
	flag.StringVar(&o.Report, "report", o.Report, "report path prefix (.md and .json); empty = stdout only")
	flag.BoolVar(&o.Search, "search", o.Search, "score error search on the public query set first (about a minute)")
	flag.BoolVar(&o.SearchOnly, "search-only", false, "score error search only (P@1, P@5, MRR of the vector, lexical and hybrid rankings), without the traffic run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if _, err := demo.RunEval(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "agentic-eval:", err)
		os.Exit(1)
	}
}
