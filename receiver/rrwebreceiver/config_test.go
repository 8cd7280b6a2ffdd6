package rrwebreceiver

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	shop := createDefaultConfig()
	shop.ServerConfig.NetAddr.Endpoint = "0.0.0.0:14319"
	shop.ServerConfig.MaxRequestBodySize = 8 << 20
	shop.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{
		AllowedOrigins: []string{"http://127.0.0.1:8080", "http://localhost:8080"},
		AllowedHeaders: []string{"*"},
	})
	shop.MaxEventsPerRequest = 2000

	for _, tt := range []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "shop"), want: shop},
		{id: component.NewIDWithName(metadata.Type, "no_events"), wantErr: "max_events_per_request must be within [1, 1000000], got 0"},
		{id: component.NewIDWithName(metadata.Type, "no_endpoint"), wantErr: "endpoint must be set"},
	} {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, "127.0.0.1:4319", cfg.ServerConfig.NetAddr.Endpoint)
	assert.Equal(t, int64(20<<20), cfg.ServerConfig.MaxRequestBodySize)
	assert.Equal(t, 10000, cfg.MaxEventsPerRequest)
	require.NoError(t, cfg.Validate())
}
