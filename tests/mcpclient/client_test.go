// Package mcpclient proves that the official MCP TypeScript SDK's client can
// use agentic-mcp over both transports, against the real engine.
package mcpclient

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

type seen struct {
	Tools []struct {
		Name     string `json:"name"`
		ReadOnly bool   `json:"readOnly"`
	} `json:"tools"`
	Select struct {
		IsError bool
		Text    string
	} `json:"select"`
	Drop struct {
		IsError bool
		Text    string
	} `json:"drop"`
	Similar struct{ IsError bool } `json:"similar"`
	Prompts []string               `json:"prompts"`
}

func TestTypeScriptSDKClient(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: install Node.js 20 (the MCP client test runs the official TypeScript SDK)")
	}
	if _, err := os.Stat("node_modules/@modelcontextprotocol/sdk"); err != nil {
		t.Fatal("node modules for the MCP client test are missing: run `make deps` (npm ci --prefix tests/mcpclient)")
	}
	ctx := context.Background()
	srv := chdbtest.HTTP(t)
	_, err := schema.Apply(ctx, chdb.Executor{Engine: chdbtest.Engine(t)}, schema.Options{Database: "agentic_otel", Dims: 384})
	require.NoError(t, err)
	u, err := url.Parse(srv.URL)
	require.NoError(t, err)
	host, port, err := net.SplitHostPort(u.Host)
	require.NoError(t, err)

	bin := filepath.Join(t.TempDir(), "agentic-mcp")
	build := exec.Command("go", "build", "-o", bin, "../../mcp/cmd/agentic-mcp")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))
	// As the collector configures it: the MCP server reads as the agent.
	env := append(os.Environ(), "CLICKHOUSE_HOST="+host, "CLICKHOUSE_PORT="+port,
		"CLICKHOUSE_USER="+chdbtest.Agent.User, "CLICKHOUSE_PASSWORD="+chdbtest.Agent.Password)

	check := func(t *testing.T, s seen) {
		var names []string
		for _, tool := range s.Tools {
			names = append(names, tool.Name)
			assert.True(t, tool.ReadOnly, "%s is annotated read-only", tool.Name)
		}
		for _, want := range []string{"analyze_root_cause", "find_similar_errors", "detect_anomalous_traces", "match_error_patterns",
			"error_summary", "get_trace", "get_session", "run_select_query", "list_tables", "describe_table", "estimate_query"} {
			assert.Contains(t, names, want)
		}
		assert.False(t, s.Select.IsError, s.Select.Text)
		assert.Contains(t, s.Select.Text, "42")
		assert.True(t, s.Drop.IsError, "DROP must be refused: %s", s.Drop.Text)
		assert.Contains(t, strings.ToLower(s.Drop.Text), "readonly")
		assert.False(t, s.Similar.IsError)
		assert.NotEmpty(t, s.Prompts)
	}
	run := func(t *testing.T, args ...string) seen {
		cmd := exec.Command("node", append([]string{"client.mjs"}, args...)...)
		cmd.Env = env
		cmd.Stderr = testWriter{t}
		b, err := cmd.Output()
		require.NoError(t, err)
		var s seen
		require.NoError(t, json.Unmarshal(b, &s), string(b))
		return s
	}

	t.Run("stdio", func(t *testing.T) { check(t, run(t, "stdio", bin)) })

	t.Run("streamable_http", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		srvCmd := exec.Command(bin, "--http", addr)
		srvCmd.Env = env
		srvCmd.Stderr = testWriter{t}
		require.NoError(t, srvCmd.Start())
		defer func() { _ = srvCmd.Process.Kill(); _ = srvCmd.Wait() }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			require.True(t, time.Now().Before(deadline), "agentic-mcp --http did not listen")
			time.Sleep(100 * time.Millisecond)
		}
		check(t, run(t, "http", "http://"+addr+"/mcp"))
	})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
