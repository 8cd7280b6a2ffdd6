package clickhousevectorexporter

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/loopback"
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
	// ClusterName renders the schema ON CLUSTER with Replicated engines
	// (one shard, any number of replicas); empty for a single server,
	// ClickHouse Cloud or the embedded engine. (Formerly cluster.)
	ClusterName string `mapstructure:"cluster_name"`
	// Sharded (with ClusterName) renders each table as <name>_local on
	// every shard behind a Distributed table of its name, sharded by the
	// key chosen for the tools' queries (schema/cluster.go).
	Sharded bool `mapstructure:"sharded"`
	// TLS configures https endpoints (CA, client certificate, server name);
	// the default verifies the server against the system's roots.
	TLS configtls.ClientConfig `mapstructure:"tls"`
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

	// TimeoutSettings is timeout: per export request, as the contrib
	// clickhouse exporter has it. (Formerly timeout_settings.timeout.)
	TimeoutSettings exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	BackOffConfig   configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	QueueSettings   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// deprecatedKeys are the old key names this config was read with.
	deprecatedKeys []struct{ old, new string }
}

func createDefaultConfig() *Config {
	return &Config{
		Endpoint:             "http://127.0.0.1:8123",
		Username:             "default",
		Database:             schema.DefaultDatabase,
		Embedder:             embed.DefaultConfig(),
		SeedPatterns:         true,
		CreateSchema:         true,
		PatternMatchDistance: 0.25,
		StatsFlushInterval:   5 * time.Second,
		DialTimeout:          10 * time.Second,
		TimeoutSettings:      exporterhelper.NewDefaultTimeoutConfig(),
		BackOffConfig:        configretry.NewDefaultBackOffConfig(),
		QueueSettings:        configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
	}
}

// renamedKeys are the keys that read like the contrib clickhouse exporter's
// now; the old names are still accepted, with a warning at start.
var renamedKeys = []struct{ old, new string }{
	{"cluster", "cluster_name"},
	{"timeout_settings::timeout", "timeout"},
}

// Unmarshal accepts the keys' old names (renamedKeys) and notes them for
// the deprecation warning.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	for _, r := range renamedKeys {
		if !conf.IsSet(r.old) {
			continue
		}
		if conf.IsSet(r.new) {
			return fmt.Errorf("%s is the old name of %s: set only %s", strings.ReplaceAll(r.old, "::", "."), r.new, r.new)
		}
		v := conf.Get(r.old)
		conf.Delete(r.old)
		if err := conf.Merge(confmap.NewFromStringMap(map[string]any{r.new: v})); err != nil {
			return err
		}
		cfg.deprecatedKeys = append(cfg.deprecatedKeys, r)
	}
	if sub, ok := conf.Get("timeout_settings").(map[string]any); ok && len(sub) == 0 {
		conf.Delete("timeout_settings")
	}
	return conf.Unmarshal(cfg)
}

// warnDeprecated names each old key the config used and its new name.
func (cfg *Config) warnDeprecated(logger *zap.Logger) {
	for _, r := range cfg.deprecatedKeys {
		logger.Warn("Deprecated setting: rename it", zap.String("old", strings.ReplaceAll(r.old, "::", ".")), zap.String("new", r.new))
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
	if cfg.Sharded && cfg.ClusterName == "" {
		errs = append(errs, errors.New("sharded needs cluster_name: name the cluster (remote_servers) the Distributed tables spread over"))
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
	if err := cfg.TLS.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("tls: %w", err))
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
	if loopback.Host(host) {
		return clickhouse.CompressionNone
	}
	return clickhouse.CompressionLZ4
}
