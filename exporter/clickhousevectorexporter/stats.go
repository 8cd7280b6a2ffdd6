package clickhousevectorexporter

import (
	"context"
	"time"

	"go.uber.org/zap"
)

// The known error patterns' occurrence counts (error_patterns) are counted
// here and written every stats_flush_interval: a pattern row carries its
// vector, and a row version per batch would cost an insert (and an index
// build) per batch for a handful of counters. The per-template statistics
// (log_template_stats) are not counted here: a materialized view over
// logs_with_embeddings_in counts the occurrences as they are stored, in the
// same insert, so that they match logs_with_embeddings whatever happens to
// the collector.

const statsFlushTimeout = 30 * time.Second

// flushCounts writes the pending pattern counts; what fails to be written
// stays pending.
func (w *writer) flushCounts(ctx context.Context) error {
	return w.flushPatterns(ctx)
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
				w.logger.Warn("Could not write the known error patterns' counts; will retry", zap.Error(err))
				lastErr = err.Error()
			case err == nil:
				lastErr = ""
			}
		}
	}
}
