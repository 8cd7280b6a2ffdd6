package chhttp_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

func TestClickHouseGoQuick(t *testing.T) {
	srv := chdbtest.HTTP(t)
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{srv.Listener.Addr().String()},
		Protocol:    clickhouse.HTTP,
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, conn.Ping(ctx))
	v, err := conn.ServerVersion()
	require.NoError(t, err)
	t.Log(v)
	require.NoError(t, conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS q1 (ts DateTime64(9), s String, lc LowCardinality(String), m Map(LowCardinality(String), String), v Array(Float32), n UInt64) ENGINE=MergeTree ORDER BY ts`))
	b, err := conn.PrepareBatch(ctx, "INSERT INTO q1")
	require.NoError(t, err)
	for i := 0; i < 1000; i++ {
		require.NoError(t, b.Append(time.Unix(0, int64(i)), "s", "lc", map[string]string{"a": "b"}, []float32{1, 2}, uint64(i)))
	}
	require.NoError(t, b.Send())
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM q1").Scan(&n))
	require.Equal(t, uint64(1000), n)
}
