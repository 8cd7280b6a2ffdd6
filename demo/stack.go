package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/app"
)

// Stack is the collector, the sample shop and (once started) the MCP agent.
type Stack struct {
	Root    string
	Col     *Collector
	Shop    *app.App
	Agent   *Agent
	tempDir string
}

// StartStack starts the collector on a fresh data dir (dataDir, or a
// temporary one when empty) and the sample shop exporting to it.
func StartStack(ctx context.Context, dataDir string, out io.Writer) (*Stack, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	s := &Stack{Root: root}
	if dataDir == "" {
		if s.tempDir, err = os.MkdirTemp("", "agentic-demo-"); err != nil {
			return nil, err
		}
		dataDir = s.tempDir
	} else {
		if err := os.RemoveAll(dataDir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(out, "▶ starting the collector (embedded ClickHouse, data in %s)…\n", dataDir)
	t0 := time.Now()
	if s.Col, err = StartCollector(ctx, root, dataDir); err != nil {
		s.Close()
		return nil, err
	}
	fmt.Fprintf(out, "  collector ready in %s: OTLP/HTTP %s, ClickHouse HTTP %s\n", time.Since(t0).Round(100*time.Millisecond), s.Col.OTLPHTTP, s.Col.ClickHTTP)
	fmt.Fprintf(out, "  ClickHouse users: admin (the exporters), viewer (this demo's own queries), agent (the MCP server); passwords in %s\n",
		filepath.Join(dataDir, "secrets"))
	cfg := app.DefaultConfig()
	cfg.OTLPEndpoint = "http://" + s.Col.OTLPHTTP
	for _, svc := range app.Services {
		cfg.Listen[svc] = "127.0.0.1:0"
	}
	cfg.BatchTimeout = 500 * time.Millisecond
	cfg.MetricInterval = 5 * time.Second
	cfg.Logger = nil
	if s.Shop, err = app.Start(ctx, cfg); err != nil {
		s.Close()
		return nil, fmt.Errorf("sample shop: %w", err)
	}
	fmt.Fprintf(out, "  sample shop up: %s (frontend, cart, checkout, payment, inventory), fault admin API %s/admin/faults\n", s.Shop.FrontendURL(), s.Shop.AdminURL())
	return s, nil
}

// StartAgent launches the MCP server (stdio) against the collector.
func (s *Stack) StartAgent(ctx context.Context) error {
	a, err := StartAgent(ctx, s.Root, s.Col)
	if err != nil {
		return err
	}
	s.Agent = a
	return nil
}

// Close stops everything in order: agent, shop (flushing), collector.
func (s *Stack) Close() {
	if s == nil {
		return
	}
	if s.Agent != nil {
		_ = s.Agent.Close()
		s.Agent = nil
	}
	if s.Shop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_ = s.Shop.Flush(ctx)
		cancel()
		_ = s.Shop.Close()
		s.Shop = nil
	}
	if s.Col != nil {
		_ = s.Col.Stop()
		s.Col = nil
	}
	if s.tempDir != "" {
		_ = os.RemoveAll(s.tempDir)
	}
}

// WaitIngested waits until the stored traces stop growing (the pipeline has
// drained), at most max.
func (s *Stack) WaitIngested(ctx context.Context, max time.Duration) {
	deadline := time.Now().Add(max)
	last := ""
	stable := 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		n, err := s.Col.Query(ctx, "SELECT (SELECT count() FROM traces_with_embeddings) + (SELECT count() FROM otel_logs)")
		if err == nil && n == last {
			if stable++; stable >= 2 {
				return
			}
		} else {
			stable = 0
		}
		last = n
		time.Sleep(2 * time.Second)
	}
}

// LoadgenConfig is loadgen's built-in config aimed at the shop, with only
// the given scenarios, each at fixed windows (no random ones).
func (s *Stack) LoadgenConfig(rate float64, dur time.Duration, seed uint64, truthPath string, scenarios []run.Scenario) (run.Config, error) {
	cfg, err := run.Load(filepath.Join(s.Root, "loadgen", "config.yaml"))
	if err != nil {
		return cfg, err
	}
	cfg.Target = s.Shop.FrontendURL()
	cfg.Admin = s.Shop.AdminURL()
	cfg.Rate = rate
	cfg.Duration = run.Duration(dur)
	cfg.Seed = seed
	cfg.GroundTruth = truthPath
	cfg.Scenarios = scenarios
	return cfg, nil
}

// SeedScenario returns one of loadgen/config.yaml's scenarios by name,
// with its random trigger turned off.
func (s *Stack) SeedScenario(name string) (run.Scenario, error) {
	cfg, err := run.Load(filepath.Join(s.Root, "loadgen", "config.yaml"))
	if err != nil {
		return run.Scenario{}, err
	}
	for _, sc := range cfg.Scenarios {
		if sc.Name == name {
			sc.TriggerRate = 0
			return sc, nil
		}
	}
	return run.Scenario{}, fmt.Errorf("scenario %q not in loadgen/config.yaml", name)
}

// Truth is a parsed ground-truth file.
type Truth struct {
	Windows  []run.WindowRecord
	Journeys []run.JourneyRecord
	RunStart time.Time
	RunEnd   time.Time
}

// ReadTruth reads loadgen's JSON-lines ground truth.
func ReadTruth(path string) (*Truth, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := &Truth{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var k struct {
			Kind  string    `json:"kind"`
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		}
		if err := json.Unmarshal(sc.Bytes(), &k); err != nil {
			return nil, err
		}
		switch k.Kind {
		case run.KindFaultWindow:
			var w run.WindowRecord
			if err := json.Unmarshal(sc.Bytes(), &w); err != nil {
				return nil, err
			}
			t.Windows = append(t.Windows, w)
		case run.KindErrorJourney, run.KindAnomalous, run.KindEdgeCase:
			var j run.JourneyRecord
			if err := json.Unmarshal(sc.Bytes(), &j); err != nil {
				return nil, err
			}
			t.Journeys = append(t.Journeys, j)
		case "run_start":
			t.RunStart = k.Start
		case "run_end":
			t.RunEnd = k.End
		}
	}
	return t, sc.Err()
}

// prefixWriter prefixes every line (loadgen's progress lines).
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadString('\n')
		if err != nil {
			p.buf.Reset()
			p.buf.WriteString(line)
			return len(b), nil
		}
		line = strings.TrimRight(line, "\r\n")
		if strings.TrimSpace(line) != "" {
			fmt.Fprintf(p.w, "%s%s\n", p.prefix, line)
		}
	}
}
