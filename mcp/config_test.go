package mcp

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestConfigFromMCPClickHouseEnv(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.ApplyEnv(envOf(nil)))
	assert.Equal(t, "127.0.0.1:8123", cfg.ClickHouse.Addr())
	assert.Equal(t, "agentic_otel", cfg.ClickHouse.Database)
	assert.Equal(t, "agent", cfg.ClickHouse.User, "the embedded engine's user for the MCP server")
	assert.False(t, cfg.ClickHouse.Secure)

	// The password the collector generated, read from its file.
	pwFile := filepath.Join(t.TempDir(), "clickhouse-agent")
	require.NoError(t, os.WriteFile(pwFile, []byte("GENERATED\n"), 0o600))
	cfg = DefaultConfig()
	require.NoError(t, cfg.ApplyEnv(envOf(map[string]string{"CLICKHOUSE_PASSWORD_FILE": pwFile})))
	assert.Equal(t, "GENERATED", cfg.ClickHouse.Password)
	cfg = DefaultConfig()
	require.NoError(t, cfg.ApplyEnv(envOf(map[string]string{"CLICKHOUSE_PASSWORD_FILE": pwFile, "CLICKHOUSE_PASSWORD": "explicit"})))
	assert.Equal(t, "explicit", cfg.ClickHouse.Password, "CLICKHOUSE_PASSWORD wins")
	cfg = DefaultConfig()
	assert.ErrorContains(t, cfg.ApplyEnv(envOf(map[string]string{"CLICKHOUSE_PASSWORD_FILE": pwFile + ".missing"})), "the collector writes it at its first start")

	cfg = DefaultConfig()
	require.NoError(t, cfg.ApplyEnv(envOf(map[string]string{
		"CLICKHOUSE_HOST": "abc.clickhouse.cloud", "CLICKHOUSE_USER": "reader", "CLICKHOUSE_PASSWORD": "pw",
		"CLICKHOUSE_SECURE": "true", "CLICKHOUSE_VERIFY": "false", "CLICKHOUSE_DATABASE": "otel", "CLICKHOUSE_CONNECT_TIMEOUT": "5",
	})))
	assert.Equal(t, "abc.clickhouse.cloud:8443", cfg.ClickHouse.Addr(), "secure defaults to 8443 as in mcp-clickhouse")
	assert.Equal(t, ClickHouseConfig{Host: "abc.clickhouse.cloud", Port: 8443, User: "reader", Password: "pw", Secure: true, Verify: false,
		Database: "otel", ConnectTimeout: 5 * time.Second}, cfg.ClickHouse)
	require.NoError(t, cfg.Validate())

	cfg = DefaultConfig()
	err := cfg.ApplyEnv(envOf(map[string]string{"CLICKHOUSE_PORT": "http", "CLICKHOUSE_SECURE": "maybe"}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CLICKHOUSE_PORT must be a port number")
	assert.Contains(t, err.Error(), "CLICKHOUSE_SECURE")

	cfg = DefaultConfig()
	cfg.ClickHouse.Host = "https://user:pw@host"
	assert.ErrorContains(t, cfg.Validate(), "without scheme, path or credentials")
}

// The server learns the embedder's dimension and model from the tables the
// collector wrote: the vector index's dimension, then the model most
// templates were embedded with; while log_templates is empty, the configured
// provider and model stay.
func TestEmbedderIsReadFromTheTables(t *testing.T) {
	ctx := context.Background()
	ex := chdb.Executor{Engine: chdbtest.Engine(t)}
	_, err := schema.Apply(ctx, ex, schema.Options{Database: "mcp_embedder", Dims: 8})
	require.NoError(t, err)

	cfg := testConfig(t, "mcp_embedder")
	e, err := EmbedderFromTables(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, 8, e.Dims)
	assert.Equal(t, embed.ProviderHash, e.Provider, "an empty table keeps the configured provider")

	vec := "[" + strings.TrimSuffix(strings.Repeat("0.5,", 8), ",") + "]"
	for _, row := range []string{"(1, 'a', 'nomic-embed-text')", "(2, 'b', 'nomic-embed-text')", "(3, 'c', 'hash-v3-8')"} {
		require.NoError(t, ex.Exec(ctx, "INSERT INTO mcp_embedder.log_templates (template_hash, template, embedding_model, embedding) SELECT * , "+vec+" FROM values("+row+")"))
	}
	cfg.Embedder.BaseURL = "http://127.0.0.1:11434/v1"
	e, err = EmbedderFromTables(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, embed.ProviderOpenAI, e.Provider)
	assert.Equal(t, "nomic-embed-text", e.Model, "the model most templates were embedded with")
	assert.Equal(t, "http://127.0.0.1:11434/v1", e.BaseURL, "how to reach the API stays the server's setting")

	require.NoError(t, ex.Exec(ctx, "INSERT INTO mcp_embedder.log_templates (template_hash, template, embedding_model, embedding) SELECT *, "+vec+" FROM values((4, 'd', 'hash-v3-8'), (5, 'e', 'hash-v3-8'))"))
	e, err = EmbedderFromTables(ctx, cfg)
	require.NoError(t, err)
	assert.Equal(t, embed.ProviderHash, e.Provider)
	assert.Empty(t, e.Model)
	assert.Equal(t, 8, e.Dims)

	_, err = EmbedderFromTables(ctx, testConfig(t, "mcp_no_such_db"))
	assert.ErrorContains(t, err, "mcp_no_such_db.log_templates")
}

func TestWindows(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	w, err := parseWindow("", "", time.Hour, 24*time.Hour, now)
	require.NoError(t, err)
	assert.Equal(t, timeWindow{now.Add(-time.Hour), now}, w)
	w, err = parseWindow("7d", "2026-04-30T00:00:00Z", time.Hour, 30*24*time.Hour, now)
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, w.End.Sub(w.Start))
	assert.Equal(t, time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC), w.End)
	for _, bad := range []string{"0m", "10s", "-1h", "1y", "48h"} {
		_, err := parseWindow(bad, "", time.Hour, 24*time.Hour, now)
		assert.Error(t, err, bad)
	}
	_, err = parseWindow("1h", "yesterday", time.Hour, 24*time.Hour, now)
	assert.ErrorContains(t, err, "RFC 3339")
	assert.Equal(t, timeWindow{now.Add(-2 * time.Hour), now.Add(-time.Hour)}, timeWindow{now.Add(-time.Hour), now}.previous())
}

func TestErrorsNeverCarrySecrets(t *testing.T) {
	s := &store{cfg: ClickHouseConfig{Host: "h", Port: 1}, secrets: []string{"hunter2"}}
	err := s.explain(os.ErrDeadlineExceeded)
	assert.NotContains(t, err.Error(), "hunter2")
	msg := s.scrub(`Post "http://default:hunter2@h:1/?query=x": code: 516, message: default: Authentication failed`)
	assert.NotContains(t, msg, "hunter2")
	assert.Contains(t, msg, `"http://h:1/?query=x"`)
}

// The Claude Desktop example launches our binary with settings it reads.
func TestClaudeDesktopConfigExample(t *testing.T) {
	b, err := os.ReadFile("claude_desktop_config.json")
	require.NoError(t, err)
	var doc struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	require.NoError(t, json.Unmarshal(b, &doc))
	s, ok := doc.MCPServers["otelcol-agentic"]
	require.True(t, ok)
	assert.True(t, strings.HasSuffix(s.Command, "/build/agentic-mcp"))
	assert.Empty(t, s.Args, "the embedder is read from the tables: no flag needed")
	// The agent's password, where the collector generated it.
	assert.True(t, strings.HasSuffix(s.Env["CLICKHOUSE_PASSWORD_FILE"], "/data/secrets/clickhouse-agent"))
	pw := filepath.Join(t.TempDir(), "clickhouse-agent")
	require.NoError(t, os.WriteFile(pw, []byte("GENERATED\n"), 0o600))
	env := maps.Clone(s.Env)
	env["CLICKHOUSE_PASSWORD_FILE"] = pw
	cfg := DefaultConfig()
	require.NoError(t, cfg.ApplyEnv(envOf(env)))
	want := DefaultConfig().ClickHouse
	want.Password = "GENERATED"
	assert.Equal(t, want, cfg.ClickHouse, "the example is the default setup, spelled out")
	for k := range s.Env {
		assert.True(t, strings.HasPrefix(k, "CLICKHOUSE_"), k)
	}
}
