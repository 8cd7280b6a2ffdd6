// Package e2e runs the built collector binary, as a user runs it, and checks
// what reaches the embedded ClickHouse.
package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chquery"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// RepoRoot returns the repository root (where go.mod is).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// CollectorBinary finds the collector built by `make build`.
func CollectorBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("OTELCOL_AGENTIC_BIN")
	if bin == "" {
		bin = filepath.Join(RepoRoot(tb), "build", "otelcol-agentic")
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("collector binary %s not found: run `make build` (or `make test`, which builds it)", bin)
	}
	return bin
}

// FreePort returns a loopback address with a port nobody listens on.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Collector is a running collector process.
type Collector struct {
	cmd       *exec.Cmd
	DataDir   string
	ClickHTTP string // ClickHouse HTTP interface address
	OTLPHTTP  string
	OTLPGRPC  string
	RRWeb     string
	Health    string
	logMu     sync.Mutex
	log       strings.Builder
	done      chan error
}

// StartCollector runs the binary with the repository's otelcol-config.yaml,
// moving every port to a free one and the data to dataDir. Extra --set
// overrides may be given.
func StartCollector(tb testing.TB, dataDir string, sets ...string) *Collector {
	tb.Helper()
	return StartCollectorWithConfig(tb, filepath.Join(RepoRoot(tb), "otelcol-config.yaml"), dataDir, sets...)
}

// Pid returns the collector's process id.
func (c *Collector) Pid() int { return c.cmd.Process.Pid }

// StartCollectorWithConfig is StartCollector with another config file.
func StartCollectorWithConfig(tb testing.TB, config, dataDir string, sets ...string) *Collector {
	tb.Helper()
	for attempt := 1; ; attempt++ {
		c, err := startCollector(tb, config, dataDir, sets)
		if err == nil {
			return c
		}
		// Its ports are picked free a moment before the collector binds
		// them, and another process can take one in between (outgoing
		// connections draw local ports from the same range): try again with
		// fresh ones.
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			tb.Logf("collector start, attempt %d: a port was taken; retrying with new ports", attempt)
			continue
		}
		tb.Fatal(err)
	}
}

func startCollector(tb testing.TB, config, dataDir string, sets []string) (*Collector, error) {
	tb.Helper()
	c := &Collector{
		DataDir:   dataDir,
		ClickHTTP: FreePort(tb),
		OTLPHTTP:  FreePort(tb),
		OTLPGRPC:  FreePort(tb),
		RRWeb:     FreePort(tb),
		Health:    FreePort(tb),
		done:      make(chan error, 1),
	}
	args := []string{
		"--config", config,
		"--set=extensions::chdb::endpoint=" + c.ClickHTTP,
		"--set=extensions::health_check::endpoint=" + c.Health,
		"--set=receivers::otlp::protocols::http::endpoint=" + c.OTLPHTTP,
		"--set=receivers::otlp::protocols::grpc::endpoint=" + c.OTLPGRPC,
		"--set=receivers::rrweb::endpoint=" + c.RRWeb,
		"--set=exporters::clickhouse::endpoint=http://" + c.ClickHTTP,
		"--set=exporters::clickhouse_vector::endpoint=http://" + c.ClickHTTP,
		"--set=processors::embedding::logs::templates::store::endpoint=http://" + c.ClickHTTP,
		"--set=exporters::clickhouse/sessions::endpoint=http://" + c.ClickHTTP,
		"--set=service::telemetry::metrics::level=none",
	}
	// Whole traces sooner than the default 5 s: the spool's grouping (or,
	// in the configuration from before it, groupbytrace's).
	if b, err := os.ReadFile(config); err == nil {
		switch {
		case strings.Contains(string(b), "spool/traces:"):
			args = append(args, "--set=connectors::spool/traces::group_by_trace::wait_duration=1s")
		case strings.Contains(string(b), "groupbytrace:"):
			args = append(args, "--set=processors::groupbytrace::wait_duration=1s")
		}
	}
	for _, s := range sets {
		args = append(args, "--set="+s)
	}
	c.cmd = exec.Command(CollectorBinary(tb), args...)
	c.cmd.Env = append(os.Environ(), "OTELCOL_AGENTIC_DATA="+dataDir)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.logMu.Lock()
			c.log.WriteString(sc.Text())
			c.log.WriteByte('\n')
			c.logMu.Unlock()
		}
		c.done <- c.cmd.Wait()
	}()
	tb.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			_ = c.cmd.Process.Kill()
		}
		if tb.Failed() {
			tb.Logf("collector log:\n%s", c.Log())
		}
	})
	return c, c.waitReady()
}

// Log returns what the collector printed so far.
func (c *Collector) Log() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.log.String()
}

func (c *Collector) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.done <- err // for Stop, which must not wait forever
			return fmt.Errorf("collector exited during start: %v\n%s", err, c.Log())
		default:
		}
		resp, err := http.Get("http://" + c.Health + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("collector not ready within 60s:\n%s", c.Log())
}

// Stop sends SIGTERM and waits for a clean exit.
func (c *Collector) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case err := <-c.done:
		if err != nil {
			tb.Fatalf("collector exited with %v:\n%s", err, c.Log())
		}
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		tb.Fatalf("collector did not stop within 60s:\n%s", c.Log())
	}
}

// Kill ends the collector with SIGKILL, as a crash or the OOM killer would:
// no shutdown, nothing flushed.
func (c *Collector) Kill(tb testing.TB) {
	tb.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		tb.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		tb.Fatalf("collector did not die within 30s of SIGKILL")
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
