package clickhousevectorexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
)

func TestCompressionFollowsTheEndpoint(t *testing.T) {
	cfg := createDefaultConfig()
	for host, want := range map[string]clickhouse.CompressionMethod{
		"127.0.0.1": clickhouse.CompressionNone, "::1": clickhouse.CompressionNone, "localhost": clickhouse.CompressionNone,
		"10.0.0.7": clickhouse.CompressionLZ4, "abc.clickhouse.cloud": clickhouse.CompressionLZ4,
	} {
		assert.Equal(t, want, cfg.compression(host), host)
	}
	cfg.Compress = "zstd"
	assert.Equal(t, clickhouse.CompressionZSTD, cfg.compression("127.0.0.1"))
	cfg.Compress = "lz4"
	assert.Equal(t, clickhouse.CompressionLZ4, cfg.compression("127.0.0.1"))
	cfg.Compress = "none"
	assert.Equal(t, clickhouse.CompressionNone, cfg.compression("abc.clickhouse.cloud"))
}

func TestValidateNamesTheFix(t *testing.T) {
	cfg := createDefaultConfig()
	assert.NoError(t, cfg.Validate())
	cfg.Compress = "gzip"
	cfg.StatsFlushInterval = -1
	err := cfg.Validate()
	assert.ErrorContains(t, err, `compress "gzip": use lz4, zstd or none`)
	assert.ErrorContains(t, err, "stats_flush_interval must not be negative")
}

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	cloud := createDefaultConfig()
	cloud.Endpoint = "https://abc.clickhouse.cloud:8443"
	cloud.Username = "writer"
	cloud.Password = "pw"
	cloud.Database = "obs"
	cloud.ClusterName = "replicated"
	cloud.TimeoutSettings.Timeout = 20 * time.Second
	cloud.TLS.CAFile = "/etc/ssl/ca.pem"
	cloud.TLS.ServerName = "abc.clickhouse.cloud"
	cloud.TTL = 720 * time.Hour
	cloud.CreateSchema = false

	oldNames := *cloud
	oldNames.deprecatedKeys = renamedKeys

	for _, tt := range []struct {
		name    string
		want    *Config
		wantErr string
	}{
		{name: "", want: createDefaultConfig()},
		{name: "cloud", want: cloud},
		{name: "old_names", want: &oldNames},
		{name: "both_names", wantErr: "cluster is the old name of cluster_name: set only cluster_name"},
		{name: "bad_compress", wantErr: `compress "gzip": use lz4, zstd or none`},
	} {
		id := component.NewIDWithName(metadata.Type, tt.name)
		t.Run(id.String(), func(t *testing.T) {
			sub, err := cm.Sub(id.String())
			require.NoError(t, err)
			cfg := createDefaultConfig()
			err = sub.Unmarshal(cfg)
			if err == nil {
				err = confmap.Validate(cfg)
			}
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestOldKeyNamesAreWarnedAbout(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "old_names").String())
	require.NoError(t, err)
	cfg := createDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	core, logs := observer.New(zap.WarnLevel)
	cfg.warnDeprecated(zap.New(core))
	require.Equal(t, 2, logs.Len())
	assert.Equal(t, "cluster", logs.All()[0].ContextMap()["old"])
	assert.Equal(t, "cluster_name", logs.All()[0].ContextMap()["new"])
	assert.Equal(t, "timeout_settings.timeout", logs.All()[1].ContextMap()["old"])
	assert.Equal(t, "timeout", logs.All()[1].ContextMap()["new"])
}
