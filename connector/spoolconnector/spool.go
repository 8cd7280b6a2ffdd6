package spoolconnector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/insertdedup"
	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// spool is one signal's spool: the log, its cursors and the pipelines they
// deliver to.
type spool[T any] struct {
	cfg    *Config
	set    connector.Settings
	codec  codec[T]
	dir    string
	logger *zap.Logger

	batchTargets   []*target[T]
	groupedTargets []*target[T]
	group          func(s *spool[T]) runner // the trace grouping cursor, traces only

	log     *spoollog.Log
	cursors []runner
	stop    chan struct{}
	wg      sync.WaitGroup

	tel       telemetry
	refusalMu sync.Mutex
	lastWarn  time.Time
	refused   int // since lastWarn
}

// runner is a cursor: it reads the log and delivers what it reads.
type runner interface {
	run(stop <-chan struct{})
	// position is the first record the cursor may still need.
	position() uint64
	// behind is how many records it has yet to deliver.
	behind() int64
}

func newSpool[T any](set connector.Settings, cfg *Config, c codec[T]) *spool[T] {
	name := strings.NewReplacer("/", "_", "\\", "_", "..", "_").Replace(set.ID.String())
	return &spool[T]{
		cfg:    cfg,
		set:    set,
		codec:  c,
		dir:    filepath.Join(cfg.Directory, name, c.name),
		logger: set.Logger,
	}
}

func (s *spool[T]) Start(_ context.Context, _ component.Host) error {
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("create the spool directory %s: %w (set directory to a writable path)", s.dir, err)
	}
	maxBytes, minFree, err := s.bounds()
	if err != nil {
		return err
	}
	l, err := spoollog.Open(spoollog.Options{Dir: s.dir, MaxBytes: maxBytes, MinFreeBytes: minFree, Sync: s.cfg.Fsync})
	if err != nil {
		return fmt.Errorf("open the spool in %s: %w", s.dir, err)
	}
	s.log = l
	if err := s.tel.init(s); err != nil {
		_ = l.Close()
		return err
	}
	s.logger.Info("Spool open", zap.String("directory", s.dir), zap.Int64("max_bytes", maxBytes),
		zap.Int64("min_free_bytes", minFree), zap.Int64("bytes_spooled", l.Bytes()), zap.Bool("fsync", s.cfg.Fsync))
	s.stop = make(chan struct{})
	if len(s.batchTargets) > 0 {
		c, err := newBatchCursor(s)
		if err != nil {
			_ = l.Close()
			return err
		}
		s.cursors = append(s.cursors, c)
	}
	if len(s.groupedTargets) > 0 && s.group != nil {
		s.cursors = append(s.cursors, s.group(s))
	}
	for _, c := range s.cursors {
		s.wg.Go(func() { c.run(s.stop) })
	}
	return nil
}

// bounds resolves max_bytes and min_free_bytes, sizing those left at 0
// from the filesystem.
func (s *spool[T]) bounds() (maxBytes, minFree int64, err error) {
	maxBytes, minFree = s.cfg.MaxBytes, s.cfg.MinFreeBytes
	if minFree == 0 {
		capacity, err := spoollog.Capacity(s.dir)
		if err != nil {
			return 0, 0, fmt.Errorf("read the size of the filesystem of %s: %w", s.dir, err)
		}
		minFree = min(max(capacity/50, 32<<20), 1<<30)
	}
	if maxBytes == 0 {
		free, err := spoollog.FreeSpace(s.dir)
		if err != nil {
			return 0, 0, fmt.Errorf("read the free space of %s: %w", s.dir, err)
		}
		maxBytes = max(free/4, 8<<20)
	}
	return maxBytes, minFree, nil
}

func (s *spool[T]) Shutdown(ctx context.Context) error {
	if s.log == nil {
		return nil
	}
	close(s.stop)
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// Deliveries still running are abandoned; their records stay in
		// the spool for the next start.
	}
	s.tel.shutdown()
	err := s.log.Close()
	s.log = nil
	return err
}

// consume appends a request to the log: once it returns nil the request is
// the spool's to deliver.
func (s *spool[T]) consume(ctx context.Context, v T) error {
	if s.codec.items(v) == 0 {
		return nil
	}
	if s.log != nil && s.log.Bytes() >= s.log.MaxBytes() {
		// Full: refused before the work of encoding it.
		full := &spoollog.FullError{Used: s.log.Bytes(), Max: s.log.MaxBytes()}
		s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", "full")))
		s.warnRefused(full)
		return s.exhausted(fmt.Sprintf("the collector's spool cannot take more %s now (%v); retry later", s.codec.name, full))
	}
	if err := s.codec.validate(v); err != nil {
		s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", "invalid")))
		return status.Error(codes.InvalidArgument, err.Error())
	}
	b, err := s.codec.marshal(v)
	if err != nil {
		s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", "invalid")))
		return status.Error(codes.InvalidArgument, fmt.Sprintf("the %s cannot be encoded: %v", s.codec.name, err))
	}
	if s.log == nil {
		return status.Error(codes.Unavailable, "the spool is not open: the collector is starting or stopping")
	}
	_, err = s.log.Append(spoollog.KindData, b)
	if err == nil {
		return nil
	}
	var full *spoollog.FullError
	switch {
	case errors.As(err, &full):
		reason := "full"
		if full.Disk {
			reason = "disk_full"
		}
		s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", reason)))
		s.warnRefused(full)
		return s.exhausted(fmt.Sprintf("the collector's spool cannot take more %s now (%v); retry later", s.codec.name, full))
	case errors.Is(err, spoollog.ErrTooLarge):
		s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", "too_large")))
		return status.Error(codes.InvalidArgument, fmt.Sprintf("the request is larger than the collector's spool can ever hold (%v): send smaller batches", err))
	}
	s.tel.refused.Add(ctx, 1, s.attrs(attribute.String("reason", "write_error")))
	s.logger.Error("Could not write to the spool; refusing data until it can", zap.String("directory", s.dir), zap.Error(err))
	return s.exhausted(fmt.Sprintf("the collector could not write the %s to its spool (%v); retry later", s.codec.name, err))
}

// exhausted is a refusal senders should retry after a while:
// RESOURCE_EXHAUSTED with a RetryInfo, which the OTLP receivers answer as
// HTTP 429 with Retry-After.
func (s *spool[T]) exhausted(msg string) error {
	st, err := status.New(codes.ResourceExhausted, msg).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(s.cfg.RetryAfter)})
	if err != nil {
		return status.Error(codes.ResourceExhausted, msg)
	}
	return st.Err()
}

// warnRefused logs refusals, at most every 10 s, naming the fix.
func (s *spool[T]) warnRefused(full *spoollog.FullError) {
	s.refusalMu.Lock()
	s.refused++
	if time.Since(s.lastWarn) < 10*time.Second {
		s.refusalMu.Unlock()
		return
	}
	n := s.refused
	s.refused, s.lastWarn = 0, time.Now()
	s.refusalMu.Unlock()
	if full.Disk {
		s.logger.Error("The spool's disk is full: refusing data with RESOURCE_EXHAUSTED (HTTP 429) until there is room. Free space on the filesystem of the directory (ClickHouse's data may share it), or move directory (and the chdb extension's data_path) to a larger disk; the collector resumes by itself.",
			zap.String("directory", s.dir), zap.Int("refused_requests", n), zap.Error(full))
		return
	}
	s.logger.Warn("The spool is full: refusing data with RESOURCE_EXHAUSTED (HTTP 429) until the pipelines catch up. If the store is failing, its errors are logged above; otherwise raise max_bytes or give the store more resources. The collector resumes by itself.",
		zap.String("directory", s.dir), zap.Int("refused_requests", n), zap.Error(full))
}

// tokenContext carries the ClickHouse deduplication token of a delivery:
// ClickHouse keeps the tokens of the last inserts into a table and drops an
// insert whose token it has seen, so a batch sent again (after a failed
// attempt, or after a crash between storing it and recording that) is
// stored once.
func tokenContext(ctx context.Context, token string) context.Context {
	return insertdedup.WithToken(ctx, token)
}

// tokenFrom returns the deduplication token a delivery carries.
func tokenFrom(ctx context.Context) string { return insertdedup.Token(ctx) }

// token names a delivery by the log positions it holds.
func (s *spool[T]) token(t *target[T], what string) string {
	return s.set.ID.String() + "/" + t.id + "/" + what
}

// trim deletes what every cursor is done with.
func (s *spool[T]) trim() {
	if len(s.cursors) == 0 {
		return
	}
	pos := s.cursors[0].position()
	for _, c := range s.cursors[1:] {
		pos = min(pos, c.position())
	}
	if err := s.log.Trim(pos); err != nil {
		s.logger.Warn("Could not delete delivered spool segments; will try again", zap.String("directory", s.dir), zap.Error(err))
	}
}

// deadLetter sets a request aside in <dir>/deadletter, as the OTLP
// protobuf request it was, so that it can be looked at and sent again. key
// names it (r<record> for a spooled request, g<record>.<chunk>.<trace id>
// for a trace), pipeline the pipeline that could not take it.
func (s *spool[T]) deadLetter(ctx context.Context, key string, seq uint64, pipeline string, data []byte, reason error) {
	dir := filepath.Join(s.dir, "deadletter")
	path := filepath.Join(dir, fmt.Sprintf("%s.%s.%s.otlp.pb", key, strings.ReplaceAll(pipeline, "/", "_"), s.codec.name))
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		err = os.WriteFile(path, data, 0o600)
	}
	s.tel.deadLetters.Add(ctx, 1, s.attrs(attribute.String("pipeline", pipeline)))
	if err != nil {
		s.logger.Error("A spooled request could not be delivered and could not be set aside either; it is dropped",
			zap.Uint64("record", seq), zap.String("pipeline", pipeline), zap.NamedError("reason", reason), zap.Error(err))
		return
	}
	s.logger.Error("A spooled request could not be delivered while the requests around it were: set aside in the dead-letter directory. Look at the reason; once it is fixed the file can be sent again as it is (OTLP protobuf), e.g. curl --data-binary @FILE -H 'Content-Type: application/x-protobuf' http://<otlp http endpoint>/v1/"+s.codec.name,
		zap.Uint64("record", seq), zap.String("pipeline", pipeline), zap.String("file", path), zap.NamedError("reason", reason))
}

// telemetry is the spool's own metrics.
type telemetry struct {
	refused     metric.Int64Counter
	deadLetters metric.Int64Counter
	failures    metric.Int64Counter
	delivered   metric.Int64Counter
	reg         metric.Registration
}

func (t *telemetry) init(s interface {
	bytes() int64
	maxBytes() int64
	lag() int64
	meter() metric.Meter
	attrs(...attribute.KeyValue) metric.MeasurementOption
},
) error {
	m := s.meter()
	var err error
	if t.refused, err = m.Int64Counter("otelcol_connector_spool_requests_refused",
		metric.WithDescription("Requests refused by the spool, by reason: invalid (400), too_large (400), full, disk_full, write_error (429)."),
		metric.WithUnit("{request}")); err != nil {
		return err
	}
	if t.deadLetters, err = m.Int64Counter("otelcol_connector_spool_dead_letters",
		metric.WithDescription("Spooled requests set aside because a pipeline could not take them while it took the others."),
		metric.WithUnit("{request}")); err != nil {
		return err
	}
	if t.failures, err = m.Int64Counter("otelcol_connector_spool_delivery_failures",
		metric.WithDescription("Failed attempts to deliver a batch to a pipeline (each is retried)."),
		metric.WithUnit("{attempt}")); err != nil {
		return err
	}
	if t.delivered, err = m.Int64Counter("otelcol_connector_spool_items_delivered",
		metric.WithDescription("Items (log records, spans, data points) delivered to a pipeline."),
		metric.WithUnit("{item}")); err != nil {
		return err
	}
	size, err := m.Int64ObservableGauge("otelcol_connector_spool_bytes",
		metric.WithDescription("Bytes the spool holds on disk."), metric.WithUnit("By"))
	if err != nil {
		return err
	}
	limit, err := m.Int64ObservableGauge("otelcol_connector_spool_max_bytes",
		metric.WithDescription("The spool's bound on disk (max_bytes)."), metric.WithUnit("By"))
	if err != nil {
		return err
	}
	lag, err := m.Int64ObservableGauge("otelcol_connector_spool_records_behind",
		metric.WithDescription("Spooled requests not yet delivered to every pipeline."), metric.WithUnit("{request}"))
	if err != nil {
		return err
	}
	t.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		o.ObserveInt64(size, s.bytes(), s.attrs())
		o.ObserveInt64(limit, s.maxBytes(), s.attrs())
		o.ObserveInt64(lag, s.lag(), s.attrs())
		return nil
	}, size, limit, lag)
	return err
}

func (t *telemetry) shutdown() {
	if t.reg != nil {
		_ = t.reg.Unregister()
	}
}

// attrs names the spool (its component id and signal) and adds kv.
func (s *spool[T]) attrs(kv ...attribute.KeyValue) metric.MeasurementOption {
	return metric.WithAttributes(append([]attribute.KeyValue{
		attribute.String("spool", s.set.ID.String()), attribute.String("signal", s.codec.name)}, kv...)...)
}

func (s *spool[T]) bytes() int64        { return s.log.Bytes() }
func (s *spool[T]) maxBytes() int64     { return s.log.MaxBytes() }
func (s *spool[T]) meter() metric.Meter { return s.set.MeterProvider.Meter(metadata.ScopeName) }

func (s *spool[T]) lag() int64 {
	var n int64
	for _, c := range s.cursors {
		n = max(n, c.behind())
	}
	return n
}
