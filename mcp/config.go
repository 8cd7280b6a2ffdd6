package mcp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// Config configures the MCP server.
type Config struct {
	ClickHouse ClickHouseConfig
	// Embedder must be the collector's embedding.embedder block: queries are
	// embedded by the same model as the data they are compared with.
	Embedder embed.Config
	Limits   Limits
}

// ClickHouseConfig says how to reach ClickHouse's HTTP interface. The
// environment variables are the ones mcp-clickhouse reads.
type ClickHouseConfig struct {
	Host     string // CLICKHOUSE_HOST, default 127.0.0.1
	Port     int    // CLICKHOUSE_PORT, default 8123 (8443 when Secure)
	User     string // CLICKHOUSE_USER, default "agent" (the embedded engine's user for this server)
	Password string // CLICKHOUSE_PASSWORD, or the content of CLICKHOUSE_PASSWORD_FILE
	Secure   bool   // CLICKHOUSE_SECURE: https
	Verify   bool   // CLICKHOUSE_VERIFY: check the server certificate (default true)
	Database string // CLICKHOUSE_DATABASE, default agentic_otel
	// ConnectTimeout bounds dialing (CLICKHOUSE_CONNECT_TIMEOUT, seconds).
	ConnectTimeout time.Duration
}

// Limits bound what one tool call may cost. They are ClickHouse settings
// applied to every query the server runs, plus a cap on the answer size.
type Limits struct {
	// MaxRows is the default and largest number of rows run_select_query
	// returns (max_result_rows with result_overflow_mode='break').
	MaxRows int
	// MaxResultBytes is max_result_bytes (also 'break').
	MaxResultBytes int64
	// MaxExecutionTime is max_execution_time: ClickHouse stops a query
	// running longer.
	MaxExecutionTime time.Duration
	// MaxOutputBytes caps the JSON text of one tool answer; rows beyond it
	// are dropped with a notice, so one call cannot flood the model's context.
	MaxOutputBytes int
}

// DefaultConfig is the embedded engine of the default collector config.
func DefaultConfig() Config {
	return Config{
		ClickHouse: ClickHouseConfig{
			Host:           "127.0.0.1",
			Port:           8123,
			User:           "agent",
			Verify:         true,
			Database:       schema.DefaultDatabase,
			ConnectTimeout: 10 * time.Second,
		},
		Embedder: embed.DefaultConfig(),
		Limits: Limits{
			MaxRows:          1000,
			MaxResultBytes:   64 << 20,
			MaxExecutionTime: 30 * time.Second,
			MaxOutputBytes:   512 << 10,
		},
	}
}

// ApplyEnv reads mcp-clickhouse's environment variables over c; pass
// os.LookupEnv.
func (c *Config) ApplyEnv(lookupEnv func(string) (string, bool)) error {
	getenv := func(name string) string {
		v, _ := lookupEnv(name)
		return v
	}
	var errs []error
	ch := &c.ClickHouse
	if v := getenv("CLICKHOUSE_HOST"); v != "" {
		ch.Host = v
	}
	if v := getenv("CLICKHOUSE_USER"); v != "" {
		ch.User = v
	}
	if v, ok := lookupEnv("CLICKHOUSE_PASSWORD"); ok {
		ch.Password = v
	} else if path := getenv("CLICKHOUSE_PASSWORD_FILE"); path != "" {
		// The collector generates the agent's password into its data
		// directory (data/secrets/clickhouse-agent).
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("CLICKHOUSE_PASSWORD_FILE: %w (the collector writes it at its first start: run it once, or set CLICKHOUSE_PASSWORD)", err))
		}
		ch.Password = strings.TrimRight(string(b), "\r\n")
	}
	if v := getenv("CLICKHOUSE_DATABASE"); v != "" {
		ch.Database = v
	}
	if v := getenv("CLICKHOUSE_SECURE"); v != "" {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CLICKHOUSE_SECURE: %w", err))
		}
		ch.Secure = b
		if b && getenv("CLICKHOUSE_PORT") == "" {
			ch.Port = 8443
		}
	}
	if v := getenv("CLICKHOUSE_VERIFY"); v != "" {
		b, err := parseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CLICKHOUSE_VERIFY: %w", err))
		}
		ch.Verify = b
	}
	if v := getenv("CLICKHOUSE_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p <= 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("CLICKHOUSE_PORT must be a port number, got %q", v))
		}
		ch.Port = p
	}
	if v := getenv("CLICKHOUSE_CONNECT_TIMEOUT"); v != "" {
		d, err := parseSeconds(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("CLICKHOUSE_CONNECT_TIMEOUT: %w", err))
		}
		ch.ConnectTimeout = d
	}
	return errors.Join(errs...)
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", s)
}

// parseSeconds accepts "30" (seconds, as mcp-clickhouse does) or "30s".
func parseSeconds(s string) (time.Duration, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("want seconds such as 30 or a duration such as 30s, got %q", s)
	}
	return d, nil
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	ch := c.ClickHouse
	if strings.TrimSpace(ch.Host) == "" {
		errs = append(errs, errors.New("ClickHouse host is empty: set CLICKHOUSE_HOST or --clickhouse-host"))
	}
	if strings.ContainsAny(ch.Host, "/@?# ") {
		errs = append(errs, errors.New("ClickHouse host must be a host name or address without scheme, path or credentials (CLICKHOUSE_HOST=example.clickhouse.cloud)"))
	}
	if ch.Port <= 0 || ch.Port > 65535 {
		errs = append(errs, fmt.Errorf("ClickHouse port %d is not a port number", ch.Port))
	}
	if ch.Database == "" {
		errs = append(errs, errors.New("database is empty: set CLICKHOUSE_DATABASE (the collector writes agentic_otel)"))
	}
	if ch.ConnectTimeout <= 0 {
		errs = append(errs, errors.New("connect timeout must be positive"))
	}
	if err := c.Embedder.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("embedder: %w", err))
	}
	l := c.Limits
	if l.MaxRows <= 0 {
		errs = append(errs, fmt.Errorf("max rows must be positive, got %d", l.MaxRows))
	}
	if l.MaxResultBytes <= 0 {
		errs = append(errs, fmt.Errorf("max result bytes must be positive, got %d", l.MaxResultBytes))
	}
	if l.MaxExecutionTime < time.Second {
		errs = append(errs, fmt.Errorf("max execution time must be at least 1s, got %s", l.MaxExecutionTime))
	}
	if l.MaxOutputBytes < 4096 {
		errs = append(errs, fmt.Errorf("max output bytes must be at least 4096, got %d", l.MaxOutputBytes))
	}
	return errors.Join(errs...)
}

// Addr is host:port.
func (ch ClickHouseConfig) Addr() string {
	return net.JoinHostPort(ch.Host, strconv.Itoa(ch.Port))
}

// EmbedderFromTables returns base with the embedder facts the collector
// recorded in the tables: the dimension of log_templates' vector index, and
// the model most of its templates were embedded with (provider hash for the
// hash model, openai for any other; base's provider and model while the table
// is still empty). The collector's config is the one place a human sets them;
// how to reach an OpenAI-compatible API (base_url, api_key_env) stays the
// server's own setting.
func EmbedderFromTables(ctx context.Context, cfg Config) (embed.Config, error) {
	base := cfg.Embedder
	db, err := openStore(cfg.ClickHouse, cfg.Limits)
	if err != nil {
		return base, err
	}
	defer func() { _ = db.close() }()
	dims, err := schema.VectorDims(ctx, executor(db), cfg.ClickHouse.Database, "log_templates")
	if err != nil {
		return base, fmt.Errorf("read the vector dimension of %s.log_templates: %w", cfg.ClickHouse.Database, err)
	}
	models, err := db.recordedModels(ctx)
	if err != nil {
		return base, err
	}
	out := base
	out.Dims = dims
	if len(models) > 0 {
		if embed.IsHashModel(models[0].Model) {
			out.Provider, out.Model = embed.ProviderHash, ""
		} else {
			out.Provider, out.Model = embed.ProviderOpenAI, models[0].Model
		}
	}
	return out, nil
}
