package spoolconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	custom := createDefaultConfig()
	custom.Directory = "/var/lib/otelcol/spool"
	custom.MaxBytes, custom.MinFreeBytes, custom.Fsync = 1<<30, 256<<20, true
	custom.RetryAfter, custom.NumConsumers = 10*time.Second, 4
	custom.Batch = BatchConfig{MinSize: 1000, MaxSize: 5000, FlushTimeout: 500 * time.Millisecond}
	custom.RetryOnFailure = RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute}
	custom.GroupByTrace = GroupByTraceConfig{Pipelines: []pipeline.ID{pipeline.NewIDWithName(pipeline.SignalTraces, "vector")},
		WaitDuration: 2 * time.Second, MaxTraces: 5000, MaxSpans: 50000}

	for _, tt := range []struct {
		id      component.ID
		want    *Config
		wantErr []string
	}{
		{id: component.NewID(metadata.Type), want: createDefaultConfig()},
		{id: component.NewIDWithName(metadata.Type, "traces"), want: custom},
		{id: component.NewIDWithName(metadata.Type, "bad_batch"), wantErr: []string{"batch: need 0 <= min_size <= max_size"}},
		{id: component.NewIDWithName(metadata.Type, "bad_group"), wantErr: []string{
			"group_by_trace.wait_duration must be positive", "group_by_trace.pipelines: logs/vector is not a traces pipeline"}},
		{id: component.NewIDWithName(metadata.Type, "tiny"), wantErr: []string{"max_bytes 1000 is below 1 MiB"}},
	} {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
			if tt.wantErr != nil {
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg)
		})
	}
}
