package embeddingprocessor

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/tracesummary"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
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
	// MaxBodyBytes truncates bodies (on a UTF-8 boundary) before
	// templating; the miner then keeps at most 1 KiB of the masked text.
	MaxBodyBytes int `mapstructure:"max_body_bytes"`
	// KeepAttributes passes the selected records on with all their
	// attributes. When false, only their exception.* attributes go with
	// them (the others are counted as dropped): copying attributes that no
	// consumer downstream reads is most of the cost of copying a record.
	KeepAttributes bool `mapstructure:"keep_attributes"`
	// Templates tunes the online template miner and where its state lives.
	Templates TemplatesConfig `mapstructure:"templates"`
}

// TemplatesConfig tunes the online template miner (logtemplate.Miner).
type TemplatesConfig struct {
	// MaxTemplates bounds the templates held in memory; the least recently
	// matched is evicted to make room.
	MaxTemplates int `mapstructure:"max_templates"`
	// MaxValues is how many distinct words a position of a template may
	// take before it becomes <*>.
	MaxValues int `mapstructure:"max_values"`
	// Similarity is the least share of a template's words a line must
	// share to join it.
	Similarity float64 `mapstructure:"similarity"`
	// NewTemplates is the budget of new templates: a line that matches no
	// template spends one, and every RefillEvery lines that match one earn
	// one back. With it spent, a line like no other is stored under
	// logtemplate.OverflowTemplate until one like it comes again.
	NewTemplates int `mapstructure:"new_templates"`
	RefillEvery  int `mapstructure:"refill_every"`
	// Store keeps the miner's state in ClickHouse; without an endpoint
	// templates live in memory only and generalised templates are not
	// re-pointed for readers.
	Store TemplateStoreConfig `mapstructure:"store"`
}

// TemplateStoreConfig locates the database of the clickhouse_vector
// exporter, whose log_templates the miner learns from at start and every
// sync_interval, and into whose log_template_aliases it writes.
type TemplateStoreConfig struct {
	Endpoint     string              `mapstructure:"endpoint"`
	Username     string              `mapstructure:"username"`
	Password     configopaque.String `mapstructure:"password"`
	Database     string              `mapstructure:"database"`
	SyncInterval time.Duration       `mapstructure:"sync_interval"`
}

// TracesConfig tunes the online anomaly model (its keys are
// tracesummary.ModelConfig's, which says what each knob does) and the merging
// of traces that arrive in parts.
type TracesConfig struct {
	tracesummary.ModelConfig `mapstructure:",squash"`
	// LateSpanWindow: spans of a trace released less than this long ago
	// are summarised with the rest of it (0 disables); at most
	// LateSpanMaxSpans spans are remembered.
	LateSpanWindow   time.Duration `mapstructure:"late_span_window"`
	LateSpanMaxSpans int           `mapstructure:"late_span_max_spans"`
	// SessionAttribute names the attribute (of the entry span, else of its
	// resource) that says which client session a trace belongs to; empty
	// disables judging traces within their session (max_sessions is then
	// ignored).
	SessionAttribute string `mapstructure:"session_attribute"`
}

func createDefaultConfig() *Config {
	return &Config{
		Embedder: embed.DefaultConfig(),
		Logs: LogsConfig{MinSeverity: "ERROR", IncludeExceptions: true, MaxBodyBytes: 8192, KeepAttributes: true,
			Templates: TemplatesConfig{MaxTemplates: 10000, MaxValues: 3, Similarity: 0.5, NewTemplates: 1000, RefillEvery: 100,
				Store: TemplateStoreConfig{Username: "default", Database: schema.DefaultDatabase, SyncInterval: 30 * time.Second}}},
		Traces: TracesConfig{
			ModelConfig: tracesummary.ModelConfig{MinSamples: 20, LatencyTail: 0.001, LatencyZ: 3, RetryRun: 3, MaxOperations: 10000,
				ShortWindow: 30 * time.Second, LongWindow: 15 * time.Minute, MaxPaths: 16384,
				MaxSessions: 100000, SessionRare: 0.05},
			LateSpanWindow: time.Minute, LateSpanMaxSpans: 100000, SessionAttribute: "session.id"},
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
	if tc := cfg.Logs.Templates; tc.MaxTemplates <= 0 || tc.MaxValues <= 0 || tc.Similarity <= 0 || tc.Similarity > 1 || tc.NewTemplates <= 0 || tc.RefillEvery <= 0 {
		errs = append(errs, errors.New("logs.templates: max_templates, max_values, new_templates and refill_every must be positive and similarity within (0, 1]"))
	}
	if st := cfg.Logs.Templates.Store; st.Endpoint != "" {
		if u, err := url.Parse(st.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("logs.templates.store.endpoint %q must be an http:// or https:// URL of ClickHouse's HTTP interface (or empty to keep templates in memory only)", st.Endpoint))
		}
		if st.Database == "" || st.SyncInterval <= 0 {
			errs = append(errs, errors.New("logs.templates.store: database must be set and sync_interval positive"))
		}
	}
	t := cfg.Traces
	if t.MinSamples < 0 || t.RetryRun < 0 || t.MaxOperations < 0 || t.MaxPaths < 0 || t.LateSpanMaxSpans < 0 || t.MaxSessions < 0 {
		errs = append(errs, errors.New("traces.min_samples, retry_run, max_operations, max_paths, late_span_max_spans and max_sessions must not be negative"))
	}
	if t.SessionRare < 0 || t.SessionRare >= 1 {
		errs = append(errs, errors.New("traces.session_rare must be within [0, 1)"))
	}
	if t.LatencyZ < 0 || t.SequenceDistance < 0 || t.SequenceDistance > 2 {
		errs = append(errs, errors.New("traces.latency_z must not be negative and traces.sequence_distance must be within [0, 2]"))
	}
	if t.LatencyTail < 0 || t.LatencyTail >= 1 {
		errs = append(errs, errors.New("traces.latency_tail must be within [0, 1)"))
	}
	if t.ShortWindow < 0 || t.LongWindow < 0 || t.LateSpanWindow < 0 {
		errs = append(errs, errors.New("traces.short_window, long_window and late_span_window must not be negative"))
	}
	if t.ShortWindow > 0 && t.LongWindow > 0 && t.LongWindow < 2*t.ShortWindow {
		errs = append(errs, errors.New("traces.long_window must be at least twice traces.short_window"))
	}
	if cfg.FailureLogInterval <= 0 {
		errs = append(errs, errors.New("failure_log_interval must be positive"))
	}
	return errors.Join(errs...)
}
