package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

func TestStreamableHTTPWithBearerToken(t *testing.T) {
	d := loadDataset(t, poolExhaustion)
	srv, err := New(testConfig(t, d.db), WithClock(func() time.Time { return d.now }))
	require.NoError(t, err)
	defer srv.Close()
	hs := httptest.NewServer(srv.HTTPHandler("s3cret-token"))
	defer hs.Close()

	resp, err := http.Post(hs.URL, "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}`))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Contains(t, string(body), "bearer token")

	ctx := context.Background()
	tr := &sdk.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: &http.Client{Transport: bearer{"s3cret-token", http.DefaultTransport}}, DisableStandaloneSSE: true}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "http-test", Version: "1"}, nil).Connect(ctx, tr, nil)
	require.NoError(t, err)
	defer cs.Close()
	tools, err := cs.ListTools(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, tools.Tools, 15)
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: ToolAnalyzeRootCause, Arguments: map[string]any{"window": "30m"}})
	require.NoError(t, err)
	require.False(t, res.IsError, resultText(res))
	assert.Contains(t, resultText(res), "db_pool_exhaustion")
}

// The binary as Claude Desktop runs it: a child process speaking
// newline-delimited JSON-RPC on stdin/stdout, configured by environment.
func TestStdioBinarySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	d := loadDataset(t, poolExhaustion)
	bin := filepath.Join(t.TempDir(), "agentic-mcp")
	build := exec.Command("go", "build", "-o", bin, "./cmd/agentic-mcp")
	build.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := build.CombinedOutput()
	require.NoError(t, err, string(out))

	u, err := url.Parse(chdbtest.HTTP(t).URL)
	require.NoError(t, err)
	env := append(os.Environ(), "CLICKHOUSE_HOST="+u.Hostname(), "CLICKHOUSE_PORT="+u.Port(), "CLICKHOUSE_USER="+chdbtest.Agent.User,
		"CLICKHOUSE_PASSWORD="+chdbtest.Agent.Password, "CLICKHOUSE_SECURE=false", "CLICKHOUSE_DATABASE="+d.db)

	// Beyond loopback without a token it refuses to start.
	refuse := exec.Command(bin, "--http", "0.0.0.0:0")
	refuse.Env = env
	out, err = refuse.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "set a bearer token")

	// A wrong embedder is caught at start, with the fix.
	wrong := exec.Command(bin, "--embedder-dims", "64")
	wrong.Env = env
	out, err = wrong.CombinedOutput()
	require.Error(t, err)
	assert.Contains(t, string(out), "holds 384-dim vectors")

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = env
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	send := func(msg string) {
		_, err := io.WriteString(stdin, msg+"\n")
		require.NoError(t, err)
	}
	recv := func(id int) map[string]any {
		for lines.Scan() {
			var m map[string]any
			require.NoError(t, json.Unmarshal(lines.Bytes(), &m), lines.Text())
			if m["id"] == float64(id) {
				return m
			}
		}
		t.Fatalf("no answer to request %d; stderr: %s", id, stderr.String())
		return nil
	}
	send(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"claude-ai","version":"0.1.0"}}}`)
	init := recv(1)
	require.Contains(t, init, "result", init)
	assert.Equal(t, "otelcol-agentic", init["result"].(map[string]any)["serverInfo"].(map[string]any)["name"])
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`)
	list := recv(2)
	assert.Len(t, list["result"].(map[string]any)["tools"], 15)
	send(`{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"error_summary","arguments":{"window":"2h","service":"inventory"}}}`)
	res := recv(3)["result"].(map[string]any)
	assert.NotEqual(t, true, res["isError"], res)
	text := res["content"].([]any)[0].(map[string]any)["text"].(string)
	assert.Contains(t, text, "timed out acquiring connection from pool")
	require.NoError(t, stdin.Close())
	require.NoError(t, cmd.Wait(), stderr.String())
	assert.NotContains(t, stderr.String(), "ERROR")
}
