package clickhousevectorexporter

import (
	"context"
	"go.uber.org/zap"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
)

// The per-template statistics are counted by ClickHouse as the occurrences
// are stored, so they are there as soon as the batch is; the known
// patterns' counts are written by the flusher, and whatever is pending at
// shutdown then.
func TestTemplateStatsWithTheOccurrencesAndPatternCountsFlushed(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		interval time.Duration
	}{{"ticker", 50 * time.Millisecond}, {"shutdown", time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			db := "stats_flush_" + tc.name
			cfg := testConfig(t, db)
			cfg.StatsFlushInterval = tc.interval
			exp, err := NewFactory().CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
			require.NoError(t, err)
			require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
			require.NoError(t, exp.ConsumeLogs(ctx, embedLogs(t, errorLogs(40))))
			conn := openConn(t, cfg)
			count := func() uint64 {
				var n uint64
				require.NoError(t, conn.QueryRow(ctx, "SELECT sum(occurrences) FROM log_template_stats").Scan(&n))
				return n
			}
			poolErrors := func() uint32 {
				var n uint32
				require.NoError(t, conn.QueryRow(ctx, "SELECT occurrence_count FROM error_patterns FINAL WHERE error_signature = 'inventory_db_pool_exhausted'").Scan(&n))
				return n
			}
			assert.Equal(t, uint64(40), count(), "stored with the occurrences")
			if tc.interval < time.Second {
				assert.Eventually(t, func() bool { return poolErrors() == 10 }, 10*time.Second, 20*time.Millisecond)
			} else {
				assert.Zero(t, poolErrors(), "pattern counts are not written before the interval")
			}
			require.NoError(t, exp.Shutdown(ctx))
			assert.Equal(t, uint64(40), count())
			assert.Equal(t, uint32(10), poolErrors())
		})
	}
}

// A failed write of the pattern counts keeps them for the next one, added
// to what arrived meanwhile.
func TestPatternCountsSurviveAFailedWrite(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "pattern_retry")
	cfg.StatsFlushInterval = time.Hour
	w := newWriter(cfg, zap.NewNop())
	w.logs = true
	require.NoError(t, w.start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() { _ = w.shutdown(ctx) })
	push := func(n int) {
		r, err := w.logsRequestFrom(ctx, embedLogs(t, errorLogs(n)))
		require.NoError(t, err)
		require.NoError(t, w.pushLogsRequest(ctx, r))
	}
	push(40)
	failed, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, w.flushPatterns(failed))
	push(8)
	require.NoError(t, w.flushPatterns(ctx))
	var n uint32
	var related []string
	require.NoError(t, openConn(t, cfg).QueryRow(ctx, "SELECT occurrence_count, related_trace_ids FROM error_patterns FINAL WHERE error_signature = 'inventory_db_pool_exhausted'").Scan(&n, &related))
	assert.Equal(t, uint32(12), n, "10 of the first batch, 2 of the second")
	assert.Len(t, related, 10, "the second batch's traces repeat the first's")
}
