package store

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestSummarize(t *testing.T) {
	t.Parallel()
	for q, want := range map[string][2]string{
		"SELECT p.id FROM products p JOIN stock s ON s.sku = p.sku": {"SELECT", "products"},
		"insert or ignore into carts (id) values (?)":               {"INSERT", "carts"},
		"UPDATE stock SET reserved = reserved + 1":                  {"UPDATE", "stock"},
		"DELETE FROM captures WHERE id = ?":                         {"DELETE", "captures"},
		"BEGIN IMMEDIATE":                                           {"BEGIN", ""},
		"":                                                          {"", ""},
	} {
		v, tbl := Summarize(q)
		assert.Equal(t, want, [2]string{v, tbl}, q)
	}
}

func open(t *testing.T, tp *trace.TracerProvider) *DB {
	t.Helper()
	d, err := Open(context.Background(), Options{
		Service: "svc", Name: "test", Path: filepath.Join(t.TempDir(), "t.db"), MaxOpenConns: 2,
		AcquireTimeout: 100 * time.Millisecond, QueryTimeout: time.Second,
		Tracer: tp.Tracer("test"), Meter: metricnoop.NewMeterProvider().Meter("test"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	return d
}

func TestPoolTimeoutIsReal(t *testing.T) {
	t.Parallel()
	rec := tracetest.NewSpanRecorder()
	d := open(t, trace.NewTracerProvider(trace.WithSpanProcessor(rec)))
	ctx := context.Background()
	require.NoError(t, d.Do(ctx, "setup", func(ctx context.Context, c *Conn) error {
		_, err := c.Exec(ctx, "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)")
		return err
	}))

	release := d.Pin(2)
	require.Eventually(t, func() bool { st, _ := d.Stats(); return st.InUse == 2 }, 5*time.Second, 5*time.Millisecond)
	err := d.Do(ctx, "read", func(ctx context.Context, c *Conn) error { return nil })
	var pe *PoolTimeoutError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 2, pe.InUse)
	assert.Equal(t, 2, pe.Max)
	assert.Contains(t, err.Error(), "timed out acquiring connection from pool after")
	release()

	var v string
	err = d.Do(ctx, "read", func(ctx context.Context, c *Conn) error {
		return c.QueryRow(ctx, "SELECT v FROM kv WHERE k = ?", []any{"missing"}, &v)
	})
	assert.True(t, errors.Is(err, sql.ErrNoRows))
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	assert.Contains(t, names, "SELECT kv")
	assert.Contains(t, names, "CREATE")
}

// A wait the caller cut short (its deadline before the pool's) is told as
// what it was, not as pool exhaustion, and is not counted as a pool
// timeout: a slow dependency upstream must not look like a full pool here.
func TestCallerCanceledWaitIsNotAPoolTimeout(t *testing.T) {
	t.Parallel()
	reader := sdkmetric.NewManualReader()
	d, err := Open(context.Background(), Options{
		Service: "svc", Name: "test", Path: filepath.Join(t.TempDir(), "t.db"), MaxOpenConns: 1,
		AcquireTimeout: 5 * time.Second, QueryTimeout: time.Second,
		Tracer: trace.NewTracerProvider().Tracer("test"), Meter: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)).Meter("test"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, d.Close()) })
	release := d.Pin(1)
	require.Eventually(t, func() bool { st, _ := d.Stats(); return st.InUse == 1 }, 5*time.Second, 5*time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = d.Do(ctx, "read", func(ctx context.Context, c *Conn) error { return nil })
	var ce *AcquireCanceledError
	require.ErrorAs(t, err, &ce)
	var pe *PoolTimeoutError
	assert.False(t, errors.As(err, &pe))
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "pool")
	assert.Contains(t, err.Error(), "caller canceled")

	release()
	var rm metricdata.ResourceMetrics
	require.NoError(t, reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != "db.client.connection.timeouts" {
				continue
			}
			for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
				assert.Zero(t, dp.Value, "not a pool timeout")
			}
		}
	}
}

func TestQueryTimeout(t *testing.T) {
	t.Parallel()
	d := open(t, trace.NewTracerProvider())
	d.opts.QueryTimeout = 50 * time.Millisecond
	err := d.Do(context.Background(), "slow", func(ctx context.Context, c *Conn) error {
		var n int
		return c.QueryRow(ctx, `WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r`, nil, &n)
	})
	var qe *QueryTimeoutError
	require.ErrorAs(t, err, &qe)
	assert.Contains(t, err.Error(), "query timed out after 50ms")
}
