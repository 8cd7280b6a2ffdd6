package embeddingprocessor

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig()
	custom.Embedder.Provider = "openai"
	custom.Embedder.Model = "text-embedding-3-small"
	custom.Embedder.BaseURL = "http://127.0.0.1:11434/v1"
	custom.Embedder.Dims = 1536
	custom.Logs = LogsConfig{MinSeverity: "WARN", IncludeExceptions: false, MaxBodyBytes: 2048, KeepAttributes: false,
		Templates: TemplatesConfig{MaxTemplates: 500, MaxValues: 4, Similarity: 0.6, NewTemplates: 200, RefillEvery: 50, Store: TemplateStoreConfig{
			Endpoint: "http://127.0.0.1:8123", Username: "writer", Password: "pw", Database: "obs", SyncInterval: 10 * time.Second}}}
	custom.Traces.MinSamples = 50
	custom.Traces.LatencyZ = 4
	custom.Traces.SpikeRatio = 3 // a key of the embedded tracesummary.ModelConfig
	custom.Traces.LateSpanWindow = 30 * time.Second

	for _, tt := range []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "custom"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "bad_severity"), wantErr: `logs.min_severity "LOUD"`},
		{id: component.NewIDWithName(metadata.Type, "bad_templates"), wantErr: `logs.templates.store.endpoint "127.0.0.1:8123" must be an http:// or https:// URL`},
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
