package schema

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Retention is how long each class of table keeps its rows. Zero takes
// Options.TTL (zero there too keeps the rows for ever). Templates, their
// aliases and the known error patterns have no TTL: they are small, and an
// error seen last month must still be recognised.
//
// The tables that expire are partitioned by day and drop whole parts
// (ttl_only_drop_parts), so that expiry costs no rewrite: a day's partition
// goes when its newest row is older than the retention.
type Retention struct {
	// Raw is the retention of the telemetry as received: otel_logs,
	// otel_traces and its trace-id index, hyperdx_sessions,
	// session_replay_events and the otel_metrics_* tables.
	Raw time.Duration `mapstructure:"raw"`
	// Vectors is the retention of the embedded occurrences:
	// logs_with_embeddings and traces_with_embeddings.
	Vectors time.Duration `mapstructure:"vectors"`
	// Rollups is the retention of the per-minute and per-15-minute
	// aggregates: log_template_stats and HyperDX's *_rollup_15m tables.
	Rollups time.Duration `mapstructure:"rollups"`
	// Sessions is the retention of otel_sessions (one row per browser
	// session); zero takes Raw's.
	Sessions time.Duration `mapstructure:"sessions"`
}

// Validate refuses negative retentions.
func (r Retention) Validate() error {
	for _, c := range []struct {
		name string
		d    time.Duration
	}{{"raw", r.Raw}, {"vectors", r.Vectors}, {"rollups", r.Rollups}, {"sessions", r.Sessions}} {
		if c.d < 0 {
			return fmt.Errorf("retention.%s must not be negative (0 takes ttl, which 0 keeps for ever), got %s", c.name, c.d)
		}
	}
	return nil
}

// retentionClass names the classes of Retention.
type retentionClass int

const (
	classRaw retentionClass = iota
	classVectors
	classRollups
	classSessions
)

// expiringTable is a table with a TTL: its class and the DateTime
// expression its rows expire by.
type expiringTable struct {
	name  string
	class retentionClass
	expr  string
}

// expiringTables lists every table that expires. A table the migrations
// create and that is not listed here keeps its rows for ever (log_templates,
// log_template_aliases, error_patterns, schema_migrations).
var expiringTables = []expiringTable{
	{"otel_logs", classRaw, "toDateTime(Timestamp)"},
	{"otel_traces", classRaw, "toDateTime(Timestamp)"},
	{"otel_traces_trace_id_ts", classRaw, "Start"},
	{"hyperdx_sessions", classRaw, "TimestampTime"},
	{"session_replay_events", classRaw, "toDateTime(Timestamp)"},
	{"otel_metrics_gauge", classRaw, "TimeUnix"},
	{"otel_metrics_sum", classRaw, "TimeUnix"},
	{"otel_metrics_histogram", classRaw, "TimeUnix"},
	{"otel_metrics_exponential_histogram", classRaw, "TimeUnix"},
	{"otel_metrics_summary", classRaw, "TimeUnix"},
	{"logs_with_embeddings", classVectors, "toDateTime(Timestamp)"},
	{"traces_with_embeddings", classVectors, "toDateTime(Timestamp)"},
	{"log_template_stats", classRollups, "minute"},
	{"otel_logs_kv_rollup_15m", classRollups, "Timestamp"},
	{"otel_logs_key_rollup_15m", classRollups, "Timestamp"},
	{"otel_traces_kv_rollup_15m", classRollups, "Timestamp"},
	{"otel_traces_key_rollup_15m", classRollups, "Timestamp"},
	{"otel_sessions", classSessions, "toDateTime(EndTime)"},
}

// of returns a class's retention, with the fallbacks applied.
func (r Retention) of(c retentionClass, fallback time.Duration) time.Duration {
	var d time.Duration
	switch c {
	case classRaw:
		d = r.Raw
	case classVectors:
		d = r.Vectors
	case classRollups:
		d = r.Rollups
	case classSessions:
		d = r.Sessions
		if d == 0 {
			d = r.Raw
		}
	}
	if d == 0 {
		d = fallback
	}
	return d
}

// ttlExpr renders the TTL expression of a retention over a DateTime
// expression in the form ClickHouse shows it in system.tables, or "" for
// none.
func ttlExpr(expr string, ttl time.Duration) string {
	switch {
	case ttl <= 0:
		return ""
	case ttl%(24*time.Hour) == 0:
		return fmt.Sprintf("%s + toIntervalDay(%d)", expr, ttl/(24*time.Hour))
	case ttl%time.Hour == 0:
		return fmt.Sprintf("%s + toIntervalHour(%d)", expr, ttl/time.Hour)
	default:
		return fmt.Sprintf("%s + toIntervalMinute(%d)", expr, max(1, ttl/time.Minute))
	}
}

// TableTTL is one table's wanted TTL expression ("" for none).
type TableTTL struct {
	Table string
	TTL   string
}

// TTLs lists the TTL every expiring table should have under opts.
func TTLs(opts Options) []TableTTL {
	out := make([]TableTTL, 0, len(expiringTables))
	for _, t := range expiringTables {
		out = append(out, TableTTL{Table: t.name, TTL: ttlExpr(t.expr, opts.Retention.of(t.class, opts.TTL))})
	}
	return out
}

// retentionStatement renders the ALTER that gives a table its TTL.
func retentionStatement(d templateData, t TableTTL) string {
	table := d.DB() + "." + d.storageName(t.Table)
	if t.TTL == "" {
		return fmt.Sprintf("ALTER TABLE %s %s REMOVE TTL", table, d.OnCluster())
	}
	return fmt.Sprintf("ALTER TABLE %s %s MODIFY TTL %s", table, d.OnCluster(), t.TTL)
}

// ApplyRetention gives every expiring table the TTL opts ask for, altering
// only the tables whose TTL differs (as system.tables shows it), and returns
// the tables it altered. Tables that do not exist are left alone. Existing
// parts are re-evaluated against the new TTL: with ttl_only_drop_parts, a
// day whose rows have all expired is dropped at the next merge check.
func ApplyRetention(ctx context.Context, ex Executor, opts Options) ([]string, error) {
	opts = opts.withDefaults()
	if err := opts.Retention.Validate(); err != nil {
		return nil, err
	}
	d := templateData{opts}
	rows, err := ex.QueryStrings(ctx, fmt.Sprintf(
		"SELECT concat(name, '\t', replaceRegexpAll(engine_full, '[\\n\\t]', ' ')) FROM system.tables WHERE database = %s",
		quoteString(opts.Database)))
	if err != nil {
		return nil, fmt.Errorf("read the tables' TTLs: %w", err)
	}
	current := map[string]string{}
	for _, r := range rows {
		name, engine, _ := strings.Cut(r, "\t")
		current[name] = currentTTL(engine)
	}
	var altered []string
	for _, t := range TTLs(opts) {
		have, ok := current[d.storageName(t.Table)]
		if !ok || have == t.TTL {
			continue
		}
		if err := ex.Exec(ctx, retentionStatement(d, t)); err != nil {
			return altered, fmt.Errorf("set the retention of %s.%s to %q: %w", opts.Database, t.Table, t.TTL, err)
		}
		altered = append(altered, t.Table)
	}
	return altered, nil
}

// currentTTL extracts the TTL expression from system.tables' engine_full
// ("MergeTree PARTITION BY … ORDER BY … TTL <expr> SETTINGS …").
func currentTTL(engineFull string) string {
	_, rest, ok := strings.Cut(engineFull, " TTL ")
	if !ok {
		return ""
	}
	if i := strings.Index(rest, " SETTINGS "); i >= 0 {
		rest = rest[:i]
	}
	return strings.TrimSpace(rest)
}
