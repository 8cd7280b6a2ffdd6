// Package e2e runs the built collector binary, as a user runs it, and checks
// what reaches the embedded ClickHouse.
package e2e

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chquery"
	"github.com/otelcol-agentic/otelcol-agentic/internal/collectorproc"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// RepoRoot returns the repository root (where go.mod is).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := collectorproc.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// CollectorBinary finds the collector built by `make build`.
func CollectorBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := collectorproc.Binary(RepoRoot(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

// FreePort returns a loopback address with a port nobody listens on.
func FreePort(tb testing.TB) string {
	tb.Helper()
	addr, err := collectorproc.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	return addr
}

// Collector is a running collector process.
type Collector struct {
	*collectorproc.Process
}

// StartCollector runs the binary with the repository's otelcol-config.yaml,
// moving every port to a free one and the data to dataDir. Extra --set
// overrides may be given.
func StartCollector(tb testing.TB, dataDir string, sets ...string) *Collector {
	tb.Helper()
	return StartCollectorWithConfig(tb, filepath.Join(RepoRoot(tb), "otelcol-config.yaml"), dataDir, sets...)
}

// StartCollectorWithConfig is StartCollector with another config file.
// Whole traces are released after 1 s instead of the default 5 s.
func StartCollectorWithConfig(tb testing.TB, config, dataDir string, sets ...string) *Collector {
	tb.Helper()
	abs := func(path string) string {
		a, err := filepath.Abs(path)
		if err != nil {
			tb.Fatal(err)
		}
		return a
	}
	p, err := collectorproc.Start(context.Background(), collectorproc.Options{
		Root: RepoRoot(tb), Config: abs(config), DataDir: abs(dataDir), TraceWait: time.Second, Sets: sets,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if !p.Exited() {
			_ = p.Kill()
		}
		if tb.Failed() {
			tb.Logf("collector log:\n%s", p.Log())
		}
	})
	return &Collector{p}
}

// Stop sends SIGTERM and waits for a clean exit.
func (c *Collector) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.Process.Stop(); err != nil {
		tb.Fatalf("collector stop: %v:\n%s", err, c.Log())
	}
}

// Kill ends the collector with SIGKILL, as a crash or the OOM killer would:
// no shutdown, nothing flushed.
func (c *Collector) Kill(tb testing.TB) {
	tb.Helper()
	if err := c.Process.Kill(); err != nil {
		tb.Fatal(err)
	}
}

// Query runs SQL over the collector's ClickHouse HTTP interface and returns
// the answer in TabSeparated form.
func (c *Collector) Query(ctx context.Context, sql string) (string, error) {
	return c.QueryParams(ctx, sql, nil)
}

// QueryParams is Query with {name:Type} parameters bound by ClickHouse.
func (c *Collector) QueryParams(ctx context.Context, sql string, params map[string]string) (string, error) {
	return c.As("admin").Query(ctx, sql, params)
}

// As returns a client of the collector's ClickHouse HTTP interface as one
// of its users (admin, viewer, agent), with the password the collector
// generated into its data directory.
func (c *Collector) As(user string) chquery.Client {
	pw, err := chquery.Secret(c.DataDir, "clickhouse-"+user)
	if err != nil {
		pw = "" // the query then fails with ClickHouse's AUTHENTICATION_FAILED
	}
	return chquery.Client{Addr: c.ClickHTTP, Database: schema.DefaultDatabase, User: user, Password: pw}
}

// Eventually polls a query until cond accepts its answer (bounded wait).
func (c *Collector) Eventually(tb testing.TB, sql string, cond func(string) bool) string {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = c.Query(context.Background(), sql)
		if lastErr == nil && cond(last) {
			return last
		}
		time.Sleep(250 * time.Millisecond)
	}
	tb.Fatalf("query %q never satisfied the condition; last answer %q, error %v", sql, last, lastErr)
	return ""
}
