// Command agentic-demo starts the collector (embedded ClickHouse), the sample
// shop and the load generator, injects the seed's failures at fixed times,
// and plays the seed's three agentic scenarios through the MCP server over
// stdio, printing each tool call and a report. `make demo`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/otelcol-agentic/otelcol-agentic/demo"
)

func main() {
	o := demo.DefaultDemoOptions()
	flag.StringVar(&o.DataDir, "data-dir", "", "collector data directory, wiped first (default: a temporary one)")
	flag.Float64Var(&o.Rate, "rate", o.Rate, "journeys per second")
	flag.Uint64Var(&o.Seed, "seed", o.Seed, "load generator seed")
	flag.DurationVar(&o.Warmup, "warmup", o.Warmup, "traffic before the first failure")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := demo.RunDemo(ctx, o, os.Stdout); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "agentic-demo: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "agentic-demo:", err)
		os.Exit(1)
	}
}
