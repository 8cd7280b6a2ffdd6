package clickhousevectorexporter

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
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
	// Cluster renders the schema ON CLUSTER with Replicated engines (one
	// shard, any number of replicas); empty for a single server, ClickHouse
	// Cloud or the embedded engine.
	Cluster string `mapstructure:"cluster"`
	// Sharded (with Cluster) renders each table as <name>_local on every
	// shard behind a Distributed table of its name, sharded by the key
	// chosen for the tools' queries (schema/cluster.go).
	Sharded bool `mapstructure:"sharded"`
	// TTL is the data retention of the tables the schema creates; 0 keeps
	// data forever.
	TTL time.Duration `mapstructure:"ttl"`
	// Retention overrides TTL per class of table (raw, vectors, rollups,
	// sessions), as the chdb extension's schema.retention does.
	Retention schema.Retention `mapstructure:"retention"`
	// PatternMatchDistance is the largest cosine distance at which an
	// incoming error counts as an occurrence of a known error pattern.
	PatternMatchDistance float64 `mapstructure:"pattern_match_distance"`
	// StatsFlushInterval is how often the known error patterns' occurrence
	// counts (error_patterns) are written; 0 writes them with every batch.
	// (log_template_stats is counted by ClickHouse as occurrences are
	// stored.)
	StatsFlushInterval time.Duration `mapstructure:"stats_flush_interval"`
	// Compress is the insert compression: lz4, zstd or none. Empty (the
	// default) sends loopback endpoints (the embedded engine) uncompressed,
	// where compressing costs CPU and saves nothing, and others lz4.
	Compress string `mapstructure:"compress"`
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
		StatsFlushInterval:   5 * time.Second,
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
	switch cfg.Compress {
	case "", "lz4", "zstd", "none":
	default:
		errs = append(errs, fmt.Errorf("compress %q: use lz4, zstd or none (or leave it empty: none on loopback, lz4 otherwise)", cfg.Compress))
	}
	if cfg.TTL < 0 {
		errs = append(errs, errors.New("ttl must not be negative"))
	}
	if cfg.Sharded && cfg.Cluster == "" {
		errs = append(errs, errors.New("sharded needs cluster: name the cluster (remote_servers) the Distributed tables spread over"))
	}
	if err := cfg.Retention.Validate(); err != nil {
		errs = append(errs, err)
	}
	if cfg.StatsFlushInterval < 0 {
		errs = append(errs, errors.New("stats_flush_interval must not be negative"))
	}
	if cfg.DialTimeout <= 0 {
		errs = append(errs, errors.New("dial_timeout must be positive"))
	}
	return errors.Join(errs...)
}

// compression resolves Compress for the endpoint's host.
func (cfg *Config) compression(host string) clickhouse.CompressionMethod {
	switch cfg.Compress {
	case "lz4":
		return clickhouse.CompressionLZ4
	case "zstd":
		return clickhouse.CompressionZSTD
	case "none":
		return clickhouse.CompressionNone
	}
	if h := strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"); h == "localhost" {
		return clickhouse.CompressionNone
	} else if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return clickhouse.CompressionNone
	}
	return clickhouse.CompressionLZ4
}
