package chdbextension

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
	"github.com/otelcol-agentic/otelcol-agentic/internal/loopback"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// Config configures the embedded engine and its HTTP interface.
type Config struct {
	// DataPath is the engine's persistent data directory.
	DataPath string `mapstructure:"data_path"`
	// LibPath points at libchdb.so; empty searches $CHDB_LIB_PATH and .deps/chdb.
	LibPath string `mapstructure:"lib_path"`
	// Endpoint is where ClickHouse's HTTP interface listens.
	Endpoint string `mapstructure:"endpoint"`
	// Users are the HTTP interface's users: a password and a role each.
	Users map[string]UserConfig `mapstructure:"users"`
	// CORS names the web origins whose pages may call the HTTP interface.
	CORS CORSConfig `mapstructure:"cors"`
	// MaxServerMemoryUsage caps the engine's memory in bytes; the smaller of
	// it and MaxServerMemoryUsageToRAMRatio of the machine applies (0: the
	// share alone).
	MaxServerMemoryUsage uint64 `mapstructure:"max_server_memory_usage"`
	// MaxServerMemoryUsageToRAMRatio is the cap as a share of the machine's
	// memory; default 0.5.
	MaxServerMemoryUsageToRAMRatio float64 `mapstructure:"max_server_memory_usage_to_ram_ratio"`
	// MaxMemoryUsage caps one statement of any user, in bytes; 0 is half
	// the server-wide cap.
	MaxMemoryUsage uint64 `mapstructure:"max_memory_usage"`
	// MaxBodySize bounds a request body in bytes, on the wire and decompressed.
	MaxBodySize int64 `mapstructure:"max_body_size"`
	// MaxConcurrentQueries bounds statements running at once.
	MaxConcurrentQueries int `mapstructure:"max_concurrent_queries"`
	// Settings are ClickHouse settings applied to every engine connection.
	Settings map[string]string `mapstructure:"settings"`
	// Schema configures the migrations applied at start.
	Schema SchemaConfig `mapstructure:"schema"`
}

// UserConfig is a user of the HTTP interface.
type UserConfig struct {
	// Password; empty means none, which only a loopback endpoint allows.
	Password configopaque.String `mapstructure:"password"`
	// Role is admin (reads, writes, DDL: the collector's exporters), viewer
	// (readonly=2: HyperDX, people) or agent (readonly=1 within limits: the
	// MCP server).
	Role string `mapstructure:"role"`
	// Limits are settings the user's statements run with and cannot raise
	// (max_memory_usage, max_execution_time, max_result_rows,
	// max_result_bytes, max_rows_to_read, max_bytes_to_read …). The agent
	// role has defaults for them.
	Limits map[string]float64 `mapstructure:"limits"`
}

// CORSConfig configures cross-origin requests from web pages.
type CORSConfig struct {
	// AllowedOrigins are origins (scheme://host:port) whose pages may call
	// the HTTP interface, such as HyperDX's. Requests naming any other
	// Origin are refused. Empty: no page may.
	AllowedOrigins []string `mapstructure:"allowed_origins"`
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
	// Retention overrides TTL per class of table (raw, vectors, rollups,
	// sessions); templates and error patterns are kept. Applied at every
	// start, to existing tables too.
	Retention schema.Retention `mapstructure:"retention"`
}

func createDefaultConfig() *Config {
	return &Config{
		DataPath:             "data/chdb",
		Endpoint:             "127.0.0.1:8123",
		MaxBodySize:          256 << 20,
		MaxConcurrentQueries: 8,
		Schema:               SchemaConfig{Apply: true, Database: schema.DefaultDatabase, Dims: 384},
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
	} else if !loopback.Host(host) {
		for _, user := range sortedKeys(cfg.Users) {
			if cfg.Users[user].Password == "" {
				errs = append(errs, fmt.Errorf("endpoint %q is reachable beyond this machine but user %q has no password: set users.%s.password, or bind to 127.0.0.1", cfg.Endpoint, user, user))
			}
		}
	}
	if len(cfg.Users) == 0 {
		errs = append(errs, errors.New("users must name at least one user, e.g. users: {admin: {role: admin, password: ${secretfile:data/secrets/clickhouse-admin}}}"))
	}
	for _, name := range sortedKeys(cfg.Users) {
		u := cfg.Users[name]
		if !chhttp.Role(u.Role).Valid() {
			errs = append(errs, fmt.Errorf("users.%s.role must be admin, viewer or agent, got %q", name, u.Role))
		}
		for _, setting := range sortedKeys(u.Limits) {
			if !slices.Contains(chhttp.LimitSettings, setting) {
				errs = append(errs, fmt.Errorf("users.%s.limits.%s is not a limit: use one of %v", name, setting, chhttp.LimitSettings))
			} else if u.Limits[setting] < 1 {
				errs = append(errs, fmt.Errorf("users.%s.limits.%s must be at least 1, got %v (remove it to lift the limit)", name, setting, u.Limits[setting]))
			}
		}
	}
	for _, o := range cfg.CORS.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("cors.allowed_origins: %w", err))
		}
	}
	if r := cfg.MaxServerMemoryUsageToRAMRatio; r < 0 || r > 0.9 {
		errs = append(errs, fmt.Errorf("max_server_memory_usage_to_ram_ratio must be between 0 and 0.9, got %v", r))
	}
	if cfg.MaxServerMemoryUsage > 0 && cfg.MaxMemoryUsage > cfg.MaxServerMemoryUsage {
		errs = append(errs, fmt.Errorf("max_memory_usage (%d) must not exceed max_server_memory_usage (%d)", cfg.MaxMemoryUsage, cfg.MaxServerMemoryUsage))
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
	if cfg.Schema.TTL < 0 {
		errs = append(errs, fmt.Errorf("schema.ttl must not be negative (0 keeps data forever), got %s", cfg.Schema.TTL))
	}
	if err := cfg.Schema.Retention.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("schema.%w", err))
	}
	if cfg.Schema.Database == "" {
		errs = append(errs, errors.New("schema.database must be set"))
	}
	return errors.Join(errs...)
}

// checkOrigin accepts a web origin as browsers send it: scheme, host and
// optional port, nothing else; never "*".
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q is not an origin: write scheme://host[:port], e.g. http://localhost:8089 (\"*\" is never allowed)", o)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
