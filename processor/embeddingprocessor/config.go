package embeddingprocessor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// Config configures the embedding processor.
type Config struct {
	// Embedder is shared with the MCP server: queries and data must be
	// embedded by the same model.
	Embedder embed.Config `mapstructure:"embedder"`
	Logs     LogsConfig   `mapstructure:"logs"`
	Traces   TracesConfig `mapstructure:"traces"`
	// FailureLogInterval limits how often an embedder outage is logged.
	FailureLogInterval time.Duration `mapstructure:"failure_log_interval"`
}

// LogsConfig selects and prepares the log records to embed.
type LogsConfig struct {
	// MinSeverity is the lowest severity embedded: TRACE, DEBUG, INFO, WARN,
	// ERROR or FATAL (default ERROR).
	MinSeverity string `mapstructure:"min_severity"`
	// IncludeExceptions also embeds records of any severity that carry
	// exception.type or exception.message attributes.
	IncludeExceptions bool `mapstructure:"include_exceptions"`
	// MaxBodyBytes truncates bodies before templating.
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
}

// TracesConfig tunes the online anomaly model.
type TracesConfig struct {
	MinSamples       int     `mapstructure:"min_samples"`
	LatencyZ         float64 `mapstructure:"latency_z"`
	SequenceDistance float64 `mapstructure:"sequence_distance"`
	RetryRun         int     `mapstructure:"retry_run"`
	MaxOperations    int     `mapstructure:"max_operations"`
}

func createDefaultConfig() *Config {
	return &Config{
		Embedder:           embed.DefaultConfig(),
		Logs:               LogsConfig{MinSeverity: "ERROR", IncludeExceptions: true, MaxBodyBytes: 8192},
		Traces:             TracesConfig{MinSamples: 20, LatencyZ: 3, SequenceDistance: 0.25, RetryRun: 3, MaxOperations: 10000},
		FailureLogInterval: time.Minute,
	}
}

var severities = map[string]int32{"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "WARNING": 13, "ERROR": 17, "FATAL": 21, "CRITICAL": 21}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if err := cfg.Embedder.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("embedder: %w", err))
	}
	if _, ok := severities[strings.ToUpper(cfg.Logs.MinSeverity)]; !ok {
		errs = append(errs, fmt.Errorf("logs.min_severity %q is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL", cfg.Logs.MinSeverity))
	}
	if cfg.Logs.MaxBodyBytes <= 0 {
		errs = append(errs, errors.New("logs.max_body_bytes must be positive"))
	}
	if cfg.Traces.MinSamples < 0 || cfg.Traces.RetryRun < 0 || cfg.Traces.MaxOperations < 0 {
		errs = append(errs, errors.New("traces.min_samples, retry_run and max_operations must not be negative"))
	}
	if cfg.Traces.LatencyZ < 0 || cfg.Traces.SequenceDistance < 0 || cfg.Traces.SequenceDistance > 2 {
		errs = append(errs, errors.New("traces.latency_z must not be negative and traces.sequence_distance must be within [0, 2]"))
	}
	if cfg.FailureLogInterval <= 0 {
		errs = append(errs, errors.New("failure_log_interval must be positive"))
	}
	return errors.Join(errs...)
}
