// Package demo drives otelcol-agentic end to end, as a user would: the built
// collector on the embedded engine, the sample shop, the load generator with
// fault windows, and the MCP server over stdio, called exactly as an agent
// calls it. It backs `make demo` (agentic-demo) and `make eval`
// (agentic-eval).
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chquery"
	"github.com/otelcol-agentic/otelcol-agentic/internal/collectorproc"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// RepoRoot finds the directory holding go.mod, from the working directory up.
func RepoRoot() (string, error) { return collectorproc.RepoRoot() }

// Collector is a running collector process (build/otelcol-agentic).
type Collector struct {
	*collectorproc.Process
	// The passwords of the viewer (Query) and of the agent (the MCP server).
	viewerPassword, agentPassword string
}

// StartCollector runs the built collector with the repository's
// otelcol-config.yaml, every port moved to a free loopback port and the data
// to dataDir, and waits until its health check answers.
func StartCollector(ctx context.Context, root, dataDir string) (*Collector, error) {
	p, err := collectorproc.Start(ctx, collectorproc.Options{
		Root: root, DataDir: dataDir, TraceWait: 2 * time.Second,
		ReadyTimeout: 90 * time.Second, MaxLog: 8 << 20, OwnProcessGroup: true,
	})
	if err != nil {
		return nil, err
	}
	c := &Collector{Process: p}
	if err := c.readPasswords(); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop sends SIGTERM and waits (at most 60 s, then kills).
func (c *Collector) Stop() error {
	if c == nil {
		return nil
	}
	return c.Process.Stop()
}

// readPasswords reads the viewer's and the agent's passwords, which the
// collector generated into its data directory.
func (c *Collector) readPasswords() error {
	var err error
	if c.viewerPassword, err = chquery.Secret(c.DataDir, "clickhouse-viewer"); err != nil {
		_ = c.Stop()
		return err
	}
	if c.agentPassword, err = chquery.Secret(c.DataDir, "clickhouse-agent"); err != nil {
		_ = c.Stop()
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
