package chdbextension

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/otelcol-agentic/otelcol-agentic/extension/chdbextension/internal/metadata"
)

func query(t *testing.T, addr, sql string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/?"+url.Values{"query": {sql}}.Encode(), nil)
	require.NoError(t, err)
	req.SetBasicAuth("admin", "pw")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The engine, its schema and its data survive a restart of the extension,
// and shutdown is clean. The engine is booted twice in this process, on the
// same data path, as a collector restarting in place would.
func TestLifecyclePersistsData(t *testing.T) {
	dir := t.TempDir()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DataPath = dir
	cfg.Endpoint = "127.0.0.1:0"
	cfg.Schema.Dims = 8
	cfg.Users = testUsers

	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	addr := ext.(Engine).Endpoint()
	status, body := query(t, addr, "INSERT INTO agentic_otel.otel_logs (Timestamp, ServiceName, Body) VALUES (now64(9), 'svc', 'kept across restarts')")
	require.Equal(t, http.StatusOK, status, body)
	require.NoError(t, ext.Shutdown(context.Background()))

	ext, err = f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { assert.NoError(t, ext.Shutdown(context.Background())) }()
	status, body = query(t, ext.(Engine).Endpoint(), "SELECT Body FROM agentic_otel.otel_logs WHERE ServiceName = 'svc'")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "kept across restarts", strings.TrimSpace(body))
	status, body = query(t, ext.(Engine).Endpoint(), "SELECT count() FROM agentic_otel.schema_migrations FINAL")
	require.Equal(t, http.StatusOK, status)
	assert.NotEqual(t, "0", strings.TrimSpace(body))
}

var testUsers = map[string]UserConfig{"admin": {Role: "admin", Password: "pw"}}

func TestShutdownWithoutStart(t *testing.T) {
	f := NewFactory()
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), f.CreateDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestDimensionMismatchRefusesStart(t *testing.T) {
	dir := t.TempDir()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DataPath = dir
	cfg.Endpoint = "127.0.0.1:0"
	cfg.Schema.Dims = 8
	cfg.Users = testUsers
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, ext.Shutdown(context.Background()))

	cfg.Schema.Dims = 16
	ext, err = f.Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = ext.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "holds 8-dim vectors but schema.dims is 16")
	require.NoError(t, ext.Shutdown(context.Background()))
}
