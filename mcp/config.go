package mcp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
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
			Database:       "agentic_otel",
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

// LoadCollectorEmbedder reads processors.embedding.embedder (or the first
// embedding/<name> processor's) from a collector configuration file, over
// base. ${env:NAME} and ${env:NAME:-default} references are expanded as the
// collector expands them.
func LoadCollectorEmbedder(path string, base embed.Config) (embed.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return base, fmt.Errorf("read the collector config: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return base, fmt.Errorf("parse the collector config %s: %w", path, err)
	}
	processors, _ := doc["processors"].(map[string]any)
	var block map[string]any
	var names []string
	for name := range processors {
		names = append(names, name)
	}
	// The plain "embedding" processor wins over named ones; among named
	// ones the first in name order, so the choice is stable.
	slices.Sort(names)
	for _, name := range names {
		if name != "embedding" && !strings.HasPrefix(name, "embedding/") {
			continue
		}
		p, _ := processors[name].(map[string]any)
		e, ok := p["embedder"].(map[string]any)
		if !ok {
			e = map[string]any{} // the processor's defaults
		}
		if name == "embedding" || block == nil {
			block = e
		}
		if name == "embedding" {
			break
		}
	}
	if block == nil {
		return base, fmt.Errorf("%s has no embedding processor (processors.embedding.embedder): pass the collector's otelcol-config.yaml, or set the embedder with --embedder-* flags", path)
	}
	expanded, err := expandEnv(block)
	if err != nil {
		return base, fmt.Errorf("%s: processors.embedding.embedder: %w", path, err)
	}
	cfg := base
	if err := confmap.NewFromStringMap(expanded.(map[string]any)).Unmarshal(&cfg); err != nil {
		return base, fmt.Errorf("%s: processors.embedding.embedder: %w", path, err)
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

func expandEnv(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ev, err := expandEnv(e)
			if err != nil {
				return nil, err
			}
			out[k] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ev, err := expandEnv(e)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	case string:
		return envRef.ReplaceAllStringFunc(x, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := os.LookupEnv(m[1]); ok && v != "" {
				return v
			}
			return m[2]
		}), nil
	default:
		return v, nil
	}
}
