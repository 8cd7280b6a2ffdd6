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

func TestTemplateStatsAggregate(t *testing.T) {
	s := newTemplateStats()
	t0 := time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)
	occ := []occurrence{
		{TS: t0, Hash: 1, Service: "cart", Severity: "ERROR", TraceID: "a"},
		{TS: t0.Add(-4 * time.Second), Hash: 1, Service: "cart", Severity: "ERROR", TraceID: "a"},
		{TS: t0.Add(time.Minute), Hash: 1, Service: "cart", Severity: "ERROR", TraceID: "b"},
		{TS: t0.Add(time.Second), Hash: 1, Service: "payment", Severity: "ERROR"},
	}
	for i := range 8 {
		occ = append(occ, occurrence{TS: t0.Add(time.Duration(i) * time.Second), Hash: 2, Service: "cart", Severity: "ERROR", TraceID: string(rune('c' + i))})
	}
	s.add(occ)
	p, dropped := s.take()
	assert.Zero(t, dropped)
	require.Len(t, p, 4)
	a := p[statKey{hash: 1, service: "cart", severity: "ERROR", minute: t0.Truncate(time.Minute).Unix()}]
	require.NotNil(t, a)
	assert.Equal(t, uint64(2), a.count)
	assert.Equal(t, t0.Add(-4*time.Second), a.first)
	assert.Equal(t, t0, a.last)
	assert.Equal(t, []string{"a"}, a.traces)
	b := p[statKey{hash: 2, service: "cart", severity: "ERROR", minute: t0.Truncate(time.Minute).Unix()}]
	assert.Equal(t, uint64(8), b.count)
	assert.Len(t, b.traces, maxExampleTraces)

	// A failed write goes back and merges with what arrived meanwhile.
	s.add(occ[:1])
	s.putBack(p)
	p2, _ := s.take()
	assert.Len(t, p2, 4)
	assert.Equal(t, uint64(3), p2[statKey{hash: 1, service: "cart", severity: "ERROR", minute: t0.Truncate(time.Minute).Unix()}].count)
	empty, _ := s.take()
	assert.Empty(t, empty)
}

// With a flush interval, counts are written by the flusher and whatever is
// pending at shutdown is written then.
func TestTemplateStatsFlushPeriodicallyAndAtShutdown(t *testing.T) {
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
			if tc.interval < time.Second {
				assert.Eventually(t, func() bool { return count() == 40 && poolErrors() == 10 }, 10*time.Second, 20*time.Millisecond)
			} else {
				assert.Zero(t, count(), "nothing is written before the interval")
				assert.Zero(t, poolErrors(), "pattern counts neither")
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
