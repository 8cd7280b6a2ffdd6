package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFlagsOverEnvOverDefaults(t *testing.T) {
	t.Setenv("CLICKHOUSE_HOST", "ch.example.com")
	t.Setenv("CLICKHOUSE_SECURE", "true")
	t.Setenv("CLICKHOUSE_PASSWORD", "pw")
	t.Setenv("CLICKHOUSE_MCP_AUTH_TOKEN", "tok")
	o, err := parseFlags([]string{"--clickhouse-database", "otel2", "--max-rows", "200", "--max-execution-time", "10s",
		"--embedder-dims", "384"}, io.Discard)
	require.NoError(t, err)
	ch := o.cfg.ClickHouse
	assert.Equal(t, "ch.example.com:8443", ch.Addr())
	assert.True(t, ch.Secure)
	assert.Equal(t, "pw", ch.Password)
	assert.Equal(t, "otel2", ch.Database)
	assert.Equal(t, 200, o.cfg.Limits.MaxRows)
	assert.Equal(t, 10*time.Second, o.cfg.Limits.MaxExecutionTime)
	assert.Equal(t, "hash", o.cfg.Embedder.Provider)
	assert.Equal(t, "tok", o.token)

	t.Setenv("CLICKHOUSE_PORT", "9440")
	o, err = parseFlags([]string{"--clickhouse-port", "8124", "--clickhouse-host", "localhost"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, "localhost:8124", o.cfg.ClickHouse.Addr())
}

func TestBadSettingsAreReportedTogether(t *testing.T) {
	_, err := parseFlags([]string{"--max-rows", "0", "--embedder-provider", "magic"}, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "max rows must be positive")
	assert.Contains(t, err.Error(), `unknown provider "magic"`)

	_, err = parseFlags([]string{"stray"}, io.Discard)
	assert.ErrorContains(t, err, "unexpected arguments")
}

func TestRefusesOpenBindWithoutToken(t *testing.T) {
	t.Setenv("CLICKHOUSE_MCP_AUTH_TOKEN", "")
	var stderr strings.Builder
	err := run([]string{"--http", "0.0.0.0:8090"}, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "set a bearer token")
}
