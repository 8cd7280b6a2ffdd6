package chhttp_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// BenchmarkVet is what checking a statement costs: the engine's rendering
// of it (one round trip on the statement's connection), beside the point
// query it checks; and a point query over HTTP whose text is new every time
// (checked every time) beside one whose text repeats (checked once).
func BenchmarkVet(b *testing.B) {
	e := chdbtest.Engine(b)
	tbl := tableName("vet_bench")
	ctx := context.Background()
	require.NoError(b, e.Exec(ctx, "CREATE TABLE "+tbl+" (key String, value String) ENGINE = MergeTree ORDER BY key"))
	b.Cleanup(func() { _ = e.Exec(ctx, "DROP TABLE "+tbl) })
	require.NoError(b, e.Exec(ctx, "INSERT INTO "+tbl+" SELECT concat('key-', toString(number)), repeat('v', 100) FROM numbers(200000)"))
	sql := "SELECT value FROM " + tbl + " WHERE key = {k:String} FORMAT JSON"
	per := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(time.Since(start).Microseconds())/float64(b.N), "µs/op")
	}
	conn, err := e.NewConn(nil)
	require.NoError(b, err)
	b.Cleanup(conn.Close)

	b.Run("render", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			_, err := conn.Query("SELECT formatQuerySingleLine({q:String})", "TabSeparatedRaw", chdb.Param{Name: "q", Value: sql})
			require.NoError(b, err)
		}
		per(b, start)
	})
	b.Run("point_query", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			_, err := conn.Query(sql, "JSON", chdb.Param{Name: "k", Value: fmt.Sprintf("key-%d", i%200000)})
			require.NoError(b, err)
		}
		per(b, start)
	})
	srv := chdbtest.HTTP(b)
	client := &http.Client{}
	post := func(b *testing.B, text string, p url.Values) {
		res, err := client.Post(srv.URL+"/?"+p.Encode(), "text/plain", strings.NewReader(text))
		require.NoError(b, err)
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		require.Equal(b, http.StatusOK, res.StatusCode, string(body))
	}
	b.Run("http_same_text", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			post(b, sql, url.Values{"param_k": {fmt.Sprintf("key-%d", i%200000)}})
		}
		per(b, start)
	})
	b.Run("http_new_text", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			post(b, strings.Replace(sql, "{k:String}", fmt.Sprintf("'key-%d' /* %d */", i%200000, i), 1), nil)
		}
		per(b, start)
	})
}
