package chdbextension

import (
	"errors"
	"fmt"
	"net"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Config configures the embedded engine and its HTTP interface.
type Config struct {
	// DataPath is the engine's persistent data directory.
	DataPath string `mapstructure:"data_path"`
	// LibPath points at libchdb.so; empty searches $CHDB_LIB_PATH and .deps/chdb.
	LibPath string `mapstructure:"lib_path"`
	// Endpoint is where ClickHouse's HTTP interface listens.
	Endpoint string `mapstructure:"endpoint"`
	// Users maps user names to passwords for the HTTP interface.
	Users map[string]configopaque.String `mapstructure:"users"`
	// MaxBodySize bounds a request body in bytes, on the wire and decompressed.
	MaxBodySize int64 `mapstructure:"max_body_size"`
	// MaxConcurrentQueries bounds statements running at once.
	MaxConcurrentQueries int `mapstructure:"max_concurrent_queries"`
	// Settings are ClickHouse settings applied to every engine connection.
	Settings map[string]string `mapstructure:"settings"`
	// Schema configures the migrations applied at start.
	Schema SchemaConfig `mapstructure:"schema"`
}

// SchemaConfig configures the tables created at start.
type SchemaConfig struct {
	// Apply runs the migrations at start; default true.
	Apply bool `mapstructure:"apply"`
	// Database holds the tables; default agentic_otel.
	Database string `mapstructure:"database"`
	// Dims is the vector dimension of the embedding tables; it must match
	// the embedder's (default 384).
	Dims int `mapstructure:"dims"`
	// TTL is how long data is kept; 0 keeps it forever.
	TTL time.Duration `mapstructure:"ttl"`
}

func createDefaultConfig() *Config {
	return &Config{
		DataPath:             "data/chdb",
		Endpoint:             "127.0.0.1:8123",
		Users:                map[string]configopaque.String{"default": ""},
		MaxBodySize:          256 << 20,
		MaxConcurrentQueries: 8,
		Schema:               SchemaConfig{Apply: true, Database: "agentic_otel", Dims: 384},
	}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.DataPath == "" {
		errs = append(errs, errors.New("data_path must be set"))
	}
	host, _, err := net.SplitHostPort(cfg.Endpoint)
	if err != nil {
		errs = append(errs, fmt.Errorf("endpoint %q must be host:port: %w", cfg.Endpoint, err))
	} else if !isLoopback(host) {
		for user, pw := range cfg.Users {
			if pw == "" {
				errs = append(errs, fmt.Errorf("endpoint %q is reachable beyond this machine but user %q has no password: set users.%s to a password, or bind to 127.0.0.1", cfg.Endpoint, user, user))
			}
		}
	}
	if len(cfg.Users) == 0 {
		errs = append(errs, errors.New("users must name at least one user (e.g. users: {default: \"\"})"))
	}
	if cfg.MaxBodySize <= 0 {
		errs = append(errs, errors.New("max_body_size must be positive"))
	}
	if cfg.MaxConcurrentQueries <= 0 {
		errs = append(errs, errors.New("max_concurrent_queries must be positive"))
	}
	if cfg.Schema.Dims <= 0 || cfg.Schema.Dims > 4096 {
		errs = append(errs, fmt.Errorf("schema.dims must be between 1 and 4096, got %d", cfg.Schema.Dims))
	}
	if cfg.Schema.Database == "" {
		errs = append(errs, errors.New("schema.database must be set"))
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
