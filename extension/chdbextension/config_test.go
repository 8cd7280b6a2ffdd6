package chdbextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-agentic/otelcol-agentic/extension/chdbextension/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	tests := []struct {
		id      component.ID
		want    *Config
		wantErr string
	}{
		// No user is configured by default: the collector's config names them.
		{id: component.NewID(metadata.Type), wantErr: "users must name at least one user"},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: &Config{
				DataPath: "/var/lib/otelcol-agentic/chdb",
				Endpoint: "0.0.0.0:9123",
				Users: map[string]UserConfig{
					"admin":   {Role: "admin", Password: configopaque.String("s3cret")},
					"hyperdx": {Role: "viewer", Password: configopaque.String("v1ew")},
					"mcp": {Role: "agent", Password: configopaque.String("4gent"),
						Limits: map[string]float64{"max_memory_usage": 1 << 30, "max_execution_time": 30}},
				},
				CORS:                 CORSConfig{AllowedOrigins: []string{"http://localhost:8089"}},
				MaxServerMemoryUsage: 8 << 30,
				MaxMemoryUsage:       2 << 30,
				MaxBodySize:          1 << 20,
				MaxConcurrentQueries: 4,
				Schema: SchemaConfig{Apply: true, Database: "obs", Dims: 768, TTL: 720 * time.Hour,
					Retention: schema.Retention{Raw: 168 * time.Hour, Vectors: 720 * time.Hour}},
			},
		},
		{id: component.NewIDWithName(metadata.Type, "open_no_password"), wantErr: `user "admin" has no password`},
		{id: component.NewIDWithName(metadata.Type, "no_users"), wantErr: "users must name at least one user"},
		{id: component.NewIDWithName(metadata.Type, "bad_role"), wantErr: `users.root.role must be admin, viewer or agent, got "superuser"`},
		{id: component.NewIDWithName(metadata.Type, "bad_limit"), wantErr: "users.mcp.limits.max_threads is not a limit"},
		{id: component.NewIDWithName(metadata.Type, "cors_star"), wantErr: `"*" is not an origin`},
		{id: component.NewIDWithName(metadata.Type, "bad_dims"), wantErr: "schema.dims must be between 1 and 4096"},
		{id: component.NewIDWithName(metadata.Type, "bad_retention"), wantErr: "schema.retention.raw must not be negative"},
	}
	for _, tt := range tests {
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
