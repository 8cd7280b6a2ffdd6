// Command loadgen drives user journeys against the sample shop, opens fault
// windows through its admin API, and writes a ground-truth file of what it
// injected. See README.md.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/replay"
	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
)

//go:embed config.yaml
var defaultConfig []byte

func main() {
	// loadgen record / loadgen replay: see loadgen/replay.
	if len(os.Args) > 1 && (os.Args[1] == "record" || os.Args[1] == "replay") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := map[string]func(context.Context, []string) error{"record": replay.Record, "replay": replay.ReplayMain}[os.Args[1]](ctx, os.Args[2:])
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadgen "+os.Args[1]+":", err)
			os.Exit(1)
		}
		return
	}
	if err := realMain(); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func realMain() error {
	var (
		configPath  = flag.String("config", "loadgen/config.yaml", "YAML config (the built-in default is used when this default path does not exist)")
		target      = flag.String("target", "", "frontend base URL (default from config: http://127.0.0.1:8080)")
		admin       = flag.String("admin", "", "fault admin API base URL (default from config: http://127.0.0.1:8085, the shop's admin port)")
		duration    = flag.Duration("duration", 0, "how long to generate load; 0 = until Ctrl-C (default from config)")
		rate        = flag.Float64("rate", 0, "journeys started per second (default from config)")
		concurrency = flag.Int("concurrency", 0, "journeys running at once, at most (default from config)")
		seed        = flag.Uint64("seed", 0, "random seed (default from config)")
		groundTruth = flag.String("ground-truth", "", "ground-truth JSON-lines file (default from config)")
		scenarios   = flag.String("scenarios", "", `comma-separated scenarios to run ("none" for traffic only; default all in the config)`)
		scale       = flag.Float64("trigger-scale", 0, "multiply every trigger_rate (default from config)")
		firstFault  = flag.Duration("first-fault", 0, "open a paced fault window this long after the start, 0 = none (default from config: faults.first)")
		faultEvery  = flag.Duration("fault-every", 0, "then a paced fault window every so often, start to start (default from config: faults.every)")
		browsers    = flag.Int("browsers", 0, "headless Chromium browsers running journeys at once, 0 = none (default from config: 2)")
		logLevel    = flag.String("log-level", "info", "stderr log level: debug, info, warn, error")
	)
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))

	cfg, err := run.Load(*configPath)
	if errors.Is(err, fs.ErrNotExist) && !set["config"] {
		cfg, err = run.Parse(defaultConfig)
	}
	if err != nil {
		return err
	}
	if set["target"] {
		cfg.Target = *target
	}
	if set["admin"] {
		cfg.Admin = *admin
	}
	if set["duration"] {
		cfg.Duration = run.Duration(*duration)
	}
	if set["rate"] {
		cfg.Rate = *rate
	}
	if set["concurrency"] {
		cfg.Concurrency = *concurrency
	}
	if set["seed"] {
		cfg.Seed = *seed
	}
	if set["ground-truth"] {
		cfg.GroundTruth = *groundTruth
	}
	if set["first-fault"] {
		cfg.Faults.First = run.Duration(*firstFault)
	}
	if set["fault-every"] {
		cfg.Faults.Every = run.Duration(*faultEvery)
	}
	if set["browsers"] {
		cfg.Browsers = *browsers
	}
	if set["trigger-scale"] {
		cfg.Faults.TriggerScale = *scale
	}
	if set["scenarios"] {
		if err := selectScenarios(&cfg, *scenarios); err != nil {
			return err
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	slog.Info("loadgen starting", "target", cfg.Target, "rate", cfg.Rate, "duration", time.Duration(cfg.Duration),
		"concurrency", cfg.Concurrency, "browsers", cfg.Browsers, "seed", cfg.Seed, "ground_truth", cfg.GroundTruth)
	_, err = run.Run(ctx, cfg, os.Stdout)
	return err
}

func selectScenarios(cfg *run.Config, list string) error {
	if list == "none" {
		cfg.Scenarios = nil
		return nil
	}
	var keep []run.Scenario
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, s := range cfg.Scenarios {
			if s.Name == name {
				keep, found = append(keep, s), true
			}
		}
		if !found {
			return fmt.Errorf("--scenarios: %q is not in the config", name)
		}
	}
	cfg.Scenarios = keep
	return nil
}
