// Package demo drives otelcol-agentic end to end, as a user would: the built
// collector on the embedded engine, the sample shop, the load generator with
// fault windows, and the MCP server over stdio, called exactly as an agent
// calls it. It backs `make demo` (agentic-demo) and `make eval`
// (agentic-eval).
package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chquery"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// RepoRoot finds the directory holding go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run from the repository")
		}
		dir = parent
	}
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Collector is a running collector process (build/otelcol-agentic).
type Collector struct {
	cmd       *exec.Cmd
	DataDir   string
	ClickHTTP string
	OTLPHTTP  string
	OTLPGRPC  string
	Health    string
	// The passwords of the viewer (Query) and of the agent (the MCP server).
	viewerPassword, agentPassword string
	logMu                         sync.Mutex
	log                           bytes.Buffer
	done                          chan error
	exited                        bool
}

// StartCollector runs the built collector with the repository's
// otelcol-config.yaml, every port moved to a free loopback port and the data
// to dataDir, and waits until its health check answers.
func StartCollector(ctx context.Context, root, dataDir string) (*Collector, error) {
	bin := os.Getenv("OTELCOL_AGENTIC_BIN")
	if bin == "" {
		bin = filepath.Join(root, "build", "otelcol-agentic")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("collector binary %s not found: run `make build`", bin)
	}
	c := &Collector{DataDir: dataDir, done: make(chan error, 1)}
	var rrweb string
	for _, p := range []*string{&c.ClickHTTP, &c.OTLPHTTP, &c.OTLPGRPC, &c.Health, &rrweb} {
		a, err := freePort()
		if err != nil {
			return nil, err
		}
		*p = a
	}
	args := []string{
		"--config", filepath.Join(root, "otelcol-config.yaml"),
		"--set=extensions::chdb::endpoint=" + c.ClickHTTP,
		"--set=extensions::health_check::endpoint=" + c.Health,
		"--set=receivers::otlp::protocols::http::endpoint=" + c.OTLPHTTP,
		"--set=receivers::otlp::protocols::grpc::endpoint=" + c.OTLPGRPC,
		"--set=receivers::rrweb::endpoint=" + rrweb,
		"--set=exporters::clickhouse::endpoint=http://" + c.ClickHTTP,
		"--set=exporters::clickhouse/sessions::endpoint=http://" + c.ClickHTTP,
		"--set=exporters::clickhouse_vector::endpoint=http://" + c.ClickHTTP,
		"--set=connectors::spool/traces::group_by_trace::wait_duration=2s",
		"--set=processors::embedding::logs::templates::store::endpoint=http://" + c.ClickHTTP,
		"--set=service::telemetry::metrics::level=none",
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Dir = root
	c.cmd.Env = append(os.Environ(), "OTELCOL_AGENTIC_DATA="+dataDir)
	// Own process group: Ctrl-C on the terminal reaches us, and we stop the
	// collector in order (SIGTERM, then wait).
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			c.logMu.Lock()
			if c.log.Len() < 8<<20 {
				c.log.Write(sc.Bytes())
				c.log.WriteByte('\n')
			}
			c.logMu.Unlock()
		}
		c.done <- c.cmd.Wait()
	}()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-c.done:
			c.exited = true
			return nil, fmt.Errorf("collector exited during start: %v\n%s", err, c.Log())
		case <-ctx.Done():
			c.Stop()
			return nil, ctx.Err()
		default:
		}
		resp, err := http.Get("http://" + c.Health + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if err := c.readPasswords(); err != nil {
					return nil, err
				}
				return c, nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.Stop()
	return nil, fmt.Errorf("collector not ready within 90s:\n%s", c.Log())
}

// Log returns what the collector printed so far.
func (c *Collector) Log() string {
	c.logMu.Lock()
	defer c.logMu.Unlock()
	return c.log.String()
}

// Stop sends SIGTERM and waits (at most 60 s, then kills).
func (c *Collector) Stop() error {
	if c == nil || c.exited {
		return nil
	}
	c.exited = true
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.done:
		return err
	case <-time.After(60 * time.Second):
		_ = c.cmd.Process.Kill()
		return errors.New("collector did not stop within 60s; killed")
	}
}

// readPasswords reads the viewer's and the agent's passwords, which the
// collector generated into its data directory.
func (c *Collector) readPasswords() error {
	var err error
	if c.viewerPassword, err = chquery.Secret(c.DataDir, "clickhouse-viewer"); err != nil {
		c.Stop()
		return err
	}
	if c.agentPassword, err = chquery.Secret(c.DataDir, "clickhouse-agent"); err != nil {
		c.Stop()
		return err
	}
	return nil
}

// Query runs SQL over the collector's ClickHouse HTTP interface (database
// agentic_otel) as the viewer, and returns the TabSeparated answer.
func (c *Collector) Query(ctx context.Context, sql string) (string, error) {
	return chquery.Client{Addr: c.ClickHTTP, Database: schema.DefaultDatabase, User: "viewer", Password: c.viewerPassword}.Query(ctx, sql, nil)
}

// Agent is an MCP client session with build/agentic-mcp over stdio.
type Agent struct {
	cs  *mcp.ClientSession
	Out io.Writer // where each call is printed; nil = silent
}

// StartAgent launches the MCP server as Claude Desktop does (a child process
// over stdio) pointed at the collector's ClickHouse HTTP interface.
func StartAgent(ctx context.Context, root string, col *Collector) (*Agent, error) {
	bin := filepath.Join(root, "build", "agentic-mcp")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("MCP server %s not found: run `make build` (or go build -o build/agentic-mcp ./mcp/cmd/agentic-mcp)", bin)
	}
	host, port, _ := net.SplitHostPort(col.ClickHTTP)
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CLICKHOUSE_HOST="+host, "CLICKHOUSE_PORT="+port,
		"CLICKHOUSE_USER=agent", "CLICKHOUSE_PASSWORD="+col.agentPassword)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	client := mcp.NewClient(&mcp.Implementation{Name: "agentic-demo", Version: "0.1.0"}, nil)
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		return nil, fmt.Errorf("connect to agentic-mcp: %w", err)
	}
	return &Agent{cs: cs}, nil
}

// Close ends the session and the server process.
func (a *Agent) Close() error {
	if a == nil || a.cs == nil {
		return nil
	}
	return a.cs.Close()
}

// Call calls one tool and decodes its structured answer into out.
func (a *Agent) Call(ctx context.Context, tool string, args map[string]any, out any) error {
	if a.Out != nil {
		b, _ := json.Marshal(args)
		fmt.Fprintf(a.Out, "  → tools/call %s %s\n", tool, b)
	}
	start := time.Now()
	res, err := a.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return fmt.Errorf("%s: %w", tool, err)
	}
	if res.IsError {
		var msg []string
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				msg = append(msg, t.Text)
			}
		}
		return fmt.Errorf("%s: tool error: %s", tool, strings.Join(msg, " "))
	}
	if a.Out != nil {
		fmt.Fprintf(a.Out, "    (%s)\n", time.Since(start).Round(time.Millisecond))
	}
	if out == nil {
		return nil
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
