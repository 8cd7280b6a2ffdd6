package clickhousevectorexporter

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// Config configures the clickhouse_vector exporter.
type Config struct {
	// Endpoint is ClickHouse's HTTP interface, e.g. http://127.0.0.1:8123
	// (the embedded engine) or https://host:8443 (ClickHouse Cloud).
	Endpoint string              `mapstructure:"endpoint"`
	Username string              `mapstructure:"username"`
	Password configopaque.String `mapstructure:"password"`
	Database string              `mapstructure:"database"`
	// Embedder must be the embedding processor's: its dimension is checked
	// against the tables', and it embeds the seed error patterns.
	Embedder embed.Config `mapstructure:"embedder"`
	// SeedPatterns inserts the catalogue of known error patterns
	// (schema/patterns) that the table lacks, at start.
	SeedPatterns bool `mapstructure:"seed_patterns"`
	// CreateSchema applies the schema migrations at start (a ClickHouse
	// server has no chdb extension to do it).
	CreateSchema bool `mapstructure:"create_schema"`
	// PatternMatchDistance is the largest cosine distance at which an
	// incoming error counts as an occurrence of a known error pattern.
	PatternMatchDistance float64 `mapstructure:"pattern_match_distance"`
	// DialTimeout bounds connecting at start.
	DialTimeout time.Duration `mapstructure:"dial_timeout"`

	Timeout       exporterhelper.TimeoutConfig                             `mapstructure:"timeout_settings"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	QueueSettings configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
}

func createDefaultConfig() *Config {
	return &Config{
		Endpoint:             "http://127.0.0.1:8123",
		Username:             "default",
		Database:             "agentic_otel",
		Embedder:             embed.DefaultConfig(),
		SeedPatterns:         true,
		CreateSchema:         true,
		PatternMatchDistance: 0.25,
		DialTimeout:          10 * time.Second,
		Timeout:              exporterhelper.NewDefaultTimeoutConfig(),
		BackOffConfig:        configretry.NewDefaultBackOffConfig(),
		QueueSettings:        configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
	}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	u, err := url.Parse(cfg.Endpoint)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("endpoint %q is not a URL: %w", cfg.Endpoint, err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("endpoint %q must be an http:// or https:// URL of ClickHouse's HTTP interface", cfg.Endpoint))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("endpoint %q has no host", cfg.Endpoint))
	}
	if cfg.Database == "" {
		errs = append(errs, errors.New("database must be set"))
	}
	if err := cfg.Embedder.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("embedder: %w", err))
	}
	if cfg.PatternMatchDistance < 0 || cfg.PatternMatchDistance > 2 {
		errs = append(errs, fmt.Errorf("pattern_match_distance must be within [0, 2], got %g", cfg.PatternMatchDistance))
	}
	if cfg.DialTimeout <= 0 {
		errs = append(errs, errors.New("dial_timeout must be positive"))
	}
	return errors.Join(errs...)
}
