package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chquery"
)

// The production shape: a collector without the chdb extension writes to a
// ClickHouse it does not host (here another collector's engine stands in
// for the server), given only CLICKHOUSE_ENDPOINT, and creates every table
// itself in a database the server did not have.
func TestCollectorWritesToAnExternalClickHouse(t *testing.T) {
	server := StartCollector(t, t.TempDir())

	b, err := os.ReadFile(filepath.Join(RepoRoot(t), "otelcol-config.yaml"))
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal(b, &doc))
	svc := doc["service"].(map[string]any)
	var exts []any
	for _, e := range svc["extensions"].([]any) {
		if e != "chdb" {
			exts = append(exts, e)
		}
	}
	svc["extensions"] = exts
	out, err := yaml.Marshal(doc)
	require.NoError(t, err)
	config := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(config, out, 0o600))

	endpoint := "http://" + server.ClickHTTP
	const db = "prod_like"
	dataDir := t.TempDir()
	admin := server.As("admin")
	col := StartCollectorWithConfig(t, config, dataDir,
		"exporters::clickhouse::endpoint="+endpoint, "exporters::clickhouse_vector::endpoint="+endpoint,
		"exporters::clickhouse/sessions::endpoint="+endpoint, "processors::embedding::logs::templates::store::endpoint="+endpoint,
		"exporters::clickhouse::database="+db, "exporters::clickhouse_vector::database="+db,
		"processors::embedding::logs::templates::store::database="+db,
		"exporters::clickhouse/sessions::database="+db,
		"exporters::clickhouse::password="+admin.Password, "exporters::clickhouse_vector::password="+admin.Password,
		"exporters::clickhouse/sessions::password="+admin.Password,
		"processors::embedding::logs::templates::store::password="+admin.Password)
	_, err = os.Stat(filepath.Join(dataDir, "chdb"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no engine in this collector")

	PostLogs(t, col.OTLPHTTP, errorBatch(0, 50))
	count := func(sql string, want string) {
		t.Helper()
		var got string
		require.Eventually(t, func() bool {
			got, _ = chquery.Client{Addr: admin.Addr, Database: db, User: admin.User, Password: admin.Password}.Query(context.Background(), sql, nil)
			return got == want
		}, 60*time.Second, 200*time.Millisecond, "%s: got %q, want %q", sql, got, want)
	}
	count("SELECT count() FROM otel_logs", "60")
	count("SELECT count() FROM logs_with_embeddings", "50")
	count("SELECT count() FROM log_templates FINAL", "4")
	col.Stop(t)
	// Counts still pending at shutdown are written then.
	count("SELECT sum(occurrences) FROM log_template_stats", "50")
	server.Stop(t)
}
