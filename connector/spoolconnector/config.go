package spoolconnector

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pipeline"
)

// Config configures a spool.
type Config struct {
	// Directory holds the spool's files, under <directory>/<component
	// id>/<signal>. One collector per directory.
	Directory string `mapstructure:"directory"`
	// MaxBytes bounds the spool on disk; a request that would pass it is
	// refused with RESOURCE_EXHAUSTED (HTTP 429). 0 sizes it at start to a
	// quarter of the free space of the directory's filesystem.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MinFreeBytes refuses requests while the filesystem has less free, so
	// that the store keeps room to drain the spool. 0: 2 % of the
	// filesystem, at least 32 MiB and at most 1 GiB.
	MinFreeBytes int64 `mapstructure:"min_free_bytes"`
	// Fsync acknowledges only what is on stable storage (survives a power
	// loss, not only the death of the process), at the cost of an fdatasync
	// shared by the requests arriving at the same time.
	Fsync bool `mapstructure:"fsync"`
	// RetryAfter is the delay a refusal asks senders to wait.
	RetryAfter time.Duration `mapstructure:"retry_after"`
	// NumConsumers is how many batches may be on their way to the
	// pipelines at once.
	NumConsumers int `mapstructure:"num_consumers"`
	// Batch shapes what the pipelines receive.
	Batch BatchConfig `mapstructure:"batch"`
	// RetryOnFailure paces retries of a batch a pipeline failed to take.
	RetryOnFailure RetryConfig `mapstructure:"retry_on_failure"`
	// GroupByTrace, for traces: the pipelines listed receive whole traces
	// rather than batches as they came.
	GroupByTrace GroupByTraceConfig `mapstructure:"group_by_trace"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BatchConfig shapes batches, in items (log records, spans, data points).
type BatchConfig struct {
	// MinSize: a batch smaller than this waits up to FlushTimeout for more.
	MinSize int `mapstructure:"min_size"`
	// MaxSize: batches are cut at this size (a single larger request goes
	// whole).
	MaxSize int `mapstructure:"max_size"`
	// FlushTimeout is how long the first request of a batch waits for the
	// batch to fill.
	FlushTimeout time.Duration `mapstructure:"flush_timeout"`
}

// RetryConfig paces retries: exponential from InitialInterval to
// MaxInterval, with no end (what was acknowledged is never given up).
type RetryConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
}

// GroupByTraceConfig groups spans into whole traces, as groupbytrace does,
// but from the spool: a trace is released WaitDuration after its first span
// was spooled, and nothing is held only in memory.
type GroupByTraceConfig struct {
	// Pipelines receive whole traces; the connector's other pipelines
	// receive batches.
	Pipelines []pipeline.ID `mapstructure:"pipelines"`
	// WaitDuration is how long a trace's spans are gathered.
	WaitDuration time.Duration `mapstructure:"wait_duration"`
	// MaxTraces and MaxSpans bound what is being gathered; beyond them the
	// oldest traces are released early.
	MaxTraces int `mapstructure:"max_traces"`
	MaxSpans  int `mapstructure:"max_spans"`
}

func createDefaultConfig() *Config {
	return &Config{
		Directory:      "data/spool",
		RetryAfter:     5 * time.Second,
		NumConsumers:   2,
		Batch:          BatchConfig{MinSize: 20000, MaxSize: 50000, FlushTimeout: time.Second},
		RetryOnFailure: RetryConfig{InitialInterval: 500 * time.Millisecond, MaxInterval: 30 * time.Second},
		GroupByTrace:   GroupByTraceConfig{WaitDuration: 5 * time.Second, MaxTraces: 100000, MaxSpans: 250000},
	}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Directory == "" {
		errs = append(errs, errors.New("directory must be set"))
	}
	if cfg.MaxBytes < 0 || cfg.MinFreeBytes < 0 {
		errs = append(errs, errors.New("max_bytes and min_free_bytes must not be negative (0 sizes them from the filesystem)"))
	}
	if cfg.MaxBytes > 0 && cfg.MaxBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("max_bytes %d is below 1 MiB: a spool that small refuses most requests", cfg.MaxBytes))
	}
	if cfg.RetryAfter < time.Second {
		errs = append(errs, errors.New("retry_after must be at least 1s (Retry-After counts whole seconds)"))
	}
	if cfg.NumConsumers <= 0 {
		errs = append(errs, errors.New("num_consumers must be positive"))
	}
	b := cfg.Batch
	if b.MinSize < 0 || b.MaxSize <= 0 || b.MinSize > b.MaxSize {
		errs = append(errs, fmt.Errorf("batch: need 0 <= min_size <= max_size and max_size > 0, got min_size %d, max_size %d", b.MinSize, b.MaxSize))
	}
	if b.FlushTimeout <= 0 {
		errs = append(errs, errors.New("batch.flush_timeout must be positive"))
	}
	r := cfg.RetryOnFailure
	if r.InitialInterval <= 0 || r.MaxInterval < r.InitialInterval {
		errs = append(errs, errors.New("retry_on_failure: initial_interval must be positive and max_interval at least initial_interval"))
	}
	g := cfg.GroupByTrace
	if len(g.Pipelines) > 0 {
		if g.WaitDuration <= 0 {
			errs = append(errs, errors.New("group_by_trace.wait_duration must be positive"))
		}
		if g.MaxTraces <= 0 || g.MaxSpans <= 0 {
			errs = append(errs, errors.New("group_by_trace.max_traces and max_spans must be positive"))
		}
		for _, id := range g.Pipelines {
			if id.Signal() != pipeline.SignalTraces {
				errs = append(errs, fmt.Errorf("group_by_trace.pipelines: %s is not a traces pipeline", id))
			}
		}
	}
	return errors.Join(errs...)
}
