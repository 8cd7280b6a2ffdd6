package clickhousevectorexporter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Per-template occurrence counts (log_template_stats) are aggregated here
// rather than by a materialized view over logs_with_embeddings: a view runs a
// GROUP BY and writes a stats part on every insert of occurrences, while the
// exporter already holds each batch's rows and, flushing every few seconds,
// writes one small insert for many batches.

const (
	maxStatKeys       = 100_000 // pending (template, service, severity, minute) rows
	maxExampleTraces  = 5
	statsFlushTimeout = 30 * time.Second
)

type statKey struct {
	hash              uint64
	service, severity string
	minute            int64 // unix seconds, start of the minute
}

type statAgg struct {
	count       uint64
	first, last time.Time
	traces      []string
}

type templateStats struct {
	mu      sync.Mutex
	pending map[statKey]*statAgg
	dropped int64 // keys not kept because pending was full (logged at flush)
}

func newTemplateStats() *templateStats {
	return &templateStats{pending: map[statKey]*statAgg{}}
}

// add counts a batch's stored occurrences.
func (s *templateStats) add(occ []occurrence) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range occ {
		o := &occ[i]
		k := statKey{hash: o.Hash, service: o.Service, severity: o.Severity, minute: o.TS.Truncate(time.Minute).Unix()}
		a := s.pending[k]
		if a == nil {
			if len(s.pending) >= maxStatKeys {
				s.dropped++
				continue
			}
			a = &statAgg{first: o.TS, last: o.TS}
			s.pending[k] = a
		}
		a.count++
		if o.TS.Before(a.first) {
			a.first = o.TS
		}
		if o.TS.After(a.last) {
			a.last = o.TS
		}
		if o.TraceID != "" && len(a.traces) < maxExampleTraces && !contains(a.traces, o.TraceID) {
			a.traces = append(a.traces, o.TraceID)
		}
	}
}

// take hands over what is pending.
func (s *templateStats) take() (map[statKey]*statAgg, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, d := s.pending, s.dropped
	s.pending, s.dropped = map[statKey]*statAgg{}, 0
	return p, d
}

// putBack returns rows whose write failed, to go with the next flush.
func (s *templateStats) putBack(p map[statKey]*statAgg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, a := range p {
		b := s.pending[k]
		if b == nil {
			if len(s.pending) >= maxStatKeys {
				s.dropped++
				continue
			}
			s.pending[k] = a
			continue
		}
		b.count += a.count
		if a.first.Before(b.first) {
			b.first = a.first
		}
		if a.last.After(b.last) {
			b.last = a.last
		}
		for _, t := range a.traces {
			if len(b.traces) < maxExampleTraces && !contains(b.traces, t) {
				b.traces = append(b.traces, t)
			}
		}
	}
}

// flushCounts writes the pending template statistics and pattern counts;
// what fails to be written stays pending.
func (w *writer) flushCounts(ctx context.Context) error {
	return errors.Join(w.flushStats(ctx), w.flushPatterns(ctx))
}

// flushStats writes the pending counts; on failure they stay pending.
func (w *writer) flushStats(ctx context.Context) error {
	p, dropped := w.stats.take()
	if dropped > 0 {
		w.logger.Warn("Template statistics overflowed; some occurrence counts were not kept", zap.Int64("dropped", dropped), zap.Int("max_pending", maxStatKeys))
	}
	if len(p) == 0 {
		return nil
	}
	if err := w.insertStats(ctx, p); err != nil {
		w.stats.putBack(p)
		return err
	}
	return nil
}

func (w *writer) insertStats(ctx context.Context, p map[statKey]*statAgg) error {
	batch, err := w.conn.PrepareBatch(ctx, `INSERT INTO log_template_stats_in (template_hash, service_name, severity_text, minute,
		occurrences, first_seen, last_seen, example_trace_ids)`)
	if err != nil {
		return fmt.Errorf("prepare template statistics insert: %w", err)
	}
	for k, a := range p {
		traces := a.traces
		if traces == nil {
			traces = []string{}
		}
		if err := batch.Append(k.hash, k.service, k.severity, time.Unix(k.minute, 0).UTC(), a.count, a.first, a.last, traces); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("template statistics row: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d template statistics rows: %w", len(p), err)
	}
	return nil
}

// runStatsFlusher flushes every interval until stop is closed.
func (w *writer) runStatsFlusher(interval time.Duration, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), statsFlushTimeout)
			err := w.flushCounts(ctx)
			cancel()
			switch {
			case err != nil && err.Error() != lastErr:
				w.logger.Warn("Could not write template statistics or pattern counts; will retry", zap.Error(err))
				lastErr = err.Error()
			case err == nil:
				lastErr = ""
			}
		}
	}
}
