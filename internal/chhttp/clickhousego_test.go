package chhttp_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/chcol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// compressions are the ways clickhouse-go can talk to the server: ClickHouse
// block compression (compress=1/decompress=1), none, and HTTP Content-Encoding.
var compressions = []struct {
	name     string
	method   clickhouse.CompressionMethod
	settings clickhouse.Settings
}{
	{"lz4", clickhouse.CompressionLZ4, nil},
	{"zstd", clickhouse.CompressionZSTD, nil},
	{"none", clickhouse.CompressionNone, nil},
	// Answers are only gzip-encoded when the request enables it, as in ClickHouse.
	{"gzip", clickhouse.CompressionGZIP, clickhouse.Settings{"enable_http_compression": 1}},
}

// row is one row of the round-trip table, with the column types the
// OpenTelemetry exporter's tables use.
type row struct {
	TS      time.Time
	S       string
	LC      string
	M       map[string]string
	V       []float32
	N       uint64
	EvTS    []time.Time
	EvName  []string
	EvAttrs []map[string]string
}

func makeRows(n int) []row {
	rows := make([]row, n)
	base := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	for i := range rows {
		r := row{
			TS: base.Add(time.Duration(i) * 1_000_001),
			S:  fmt.Sprintf("s%d 'quoted' \"dq\" \\ tab\t nl\n ünïcødé ✓ %d", i, i*i),
			LC: []string{"info", "warn", "error"}[i%3],
			M:  map[string]string{"service.name": fmt.Sprintf("svc-%d", i%5), "k": ""},
			V:  []float32{float32(i) / 3, -1.5e-7, 3.4028235e38},
			N:  uint64(1)<<63 + uint64(i),
		}
		if i%4 == 0 {
			r.M = map[string]string{}
			r.V = []float32{}
		}
		for j := 0; j < i%3; j++ {
			r.EvTS = append(r.EvTS, r.TS.Add(time.Duration(j+1)))
			r.EvName = append(r.EvName, fmt.Sprintf("event %d", j))
			r.EvAttrs = append(r.EvAttrs, map[string]string{"exception.type": "E" + fmt.Sprint(j)})
		}
		if r.EvTS == nil {
			r.EvTS, r.EvName, r.EvAttrs = []time.Time{}, []string{}, []map[string]string{}
		}
		rows[i] = r
	}
	return rows
}

func TestClickHouseGoRoundTrip(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := openClickHouseGo(t, c.method, c.settings)
			ctx := context.Background()
			require.NoError(t, conn.Ping(ctx))
			v, err := conn.ServerVersion()
			require.NoError(t, err)
			require.NotNil(t, v.Timezone)
			_, offset := time.Now().In(v.Timezone).Zone()
			assert.Zero(t, offset, "the test engine runs in UTC")
			assert.NotZero(t, v.Version.Major)
			assert.NotZero(t, v.Revision)

			tbl := tableName("rt_" + c.name)
			require.NoError(t, conn.Exec(ctx, `CREATE TABLE `+tbl+` (
				TS DateTime64(9), S String, LC LowCardinality(String),
				M Map(LowCardinality(String), String), V Array(Float32), N UInt64,
				Events Nested(Timestamp DateTime64(9), Name LowCardinality(String), Attributes Map(LowCardinality(String), String))
			) ENGINE = MergeTree ORDER BY (LC, TS)`))

			want := makeRows(2500)
			batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+tbl)
			require.NoError(t, err)
			for _, r := range want {
				require.NoError(t, batch.Append(r.TS, r.S, r.LC, r.M, r.V, r.N, r.EvTS, r.EvName, r.EvAttrs))
			}
			require.NoError(t, batch.Send())

			rows, err := conn.Query(ctx, `SELECT TS, S, LC, M, V, N, Events.Timestamp, Events.Name, Events.Attributes FROM `+tbl+` ORDER BY N`)
			require.NoError(t, err)
			var got []row
			for rows.Next() {
				var r row
				require.NoError(t, rows.Scan(&r.TS, &r.S, &r.LC, &r.M, &r.V, &r.N, &r.EvTS, &r.EvName, &r.EvAttrs))
				got = append(got, r)
			}
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			require.Len(t, got, len(want))
			for i := range want {
				w, g := want[i], got[i]
				require.True(t, w.TS.Equal(g.TS), "row %d: TS %v != %v", i, g.TS, w.TS)
				require.Equal(t, w.S, g.S, "row %d", i)
				require.Equal(t, w.LC, g.LC, "row %d", i)
				require.Equal(t, w.M, g.M, "row %d", i)
				require.Equal(t, w.V, g.V, "row %d", i)
				require.Equal(t, w.N, g.N, "row %d", i)
				require.Len(t, g.EvTS, len(w.EvTS), "row %d", i)
				for j := range w.EvTS {
					require.True(t, w.EvTS[j].Equal(g.EvTS[j]), "row %d event %d", i, j)
				}
				require.Equal(t, w.EvName, g.EvName, "row %d", i)
				require.Equal(t, w.EvAttrs, g.EvAttrs, "row %d", i)
			}

			// Server-side parameters, both as Named arguments and as context
			// parameters; strings carry the characters that need escaping.
			tricky := "it's \"x\" \\ \t\n ✓"
			var s string
			var n uint64
			require.NoError(t, conn.QueryRow(ctx, `SELECT {s:String}, {n:UInt64}`,
				clickhouse.Named("s", tricky), clickhouse.Named("n", uint64(42))).Scan(&s, &n))
			assert.Equal(t, tricky, s)
			assert.Equal(t, uint64(42), n)
			pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"lc": "warn"}))
			var cnt uint64
			require.NoError(t, conn.QueryRow(pctx, `SELECT count() FROM `+tbl+` WHERE LC = {lc:String}`).Scan(&cnt))
			assert.Equal(t, uint64(len(want)/3), cnt)
			var m map[string]string
			require.NoError(t, conn.QueryRow(ctx, `SELECT M FROM `+tbl+` WHERE N = {n:UInt64}`,
				clickhouse.Named("n", want[7].N)).Scan(&m))
			assert.Equal(t, want[7].M, m)

			// An empty result and a DDL statement answer without blocks.
			rows, err = conn.Query(ctx, `SELECT N FROM `+tbl+` WHERE N = 0`)
			require.NoError(t, err)
			assert.False(t, rows.Next())
			require.NoError(t, rows.Err())
			require.NoError(t, rows.Close())
			require.NoError(t, conn.Exec(ctx, "DROP TABLE "+tbl))
		})
	}
}

// A large result spans many Native blocks, so the re-encoding for the client's
// protocol revision and block compression run over block boundaries.
func TestClickHouseGoLargeResult(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := openClickHouseGo(t, c.method, c.settings)
			rows, err := conn.Query(context.Background(),
				`SELECT number, toString(number), toLowCardinality(toString(number % 7)) FROM numbers(300000)`)
			require.NoError(t, err)
			var i uint64
			for rows.Next() {
				var (
					n     uint64
					s, lc string
				)
				require.NoError(t, rows.Scan(&n, &s, &lc))
				require.Equal(t, i, n)
				require.Equal(t, fmt.Sprint(i), s)
				require.Equal(t, fmt.Sprint(i%7), lc)
				i++
			}
			require.NoError(t, rows.Err())
			assert.Equal(t, uint64(300000), i)
		})
	}
}

func TestClickHouseGoMidStreamError(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := openClickHouseGo(t, c.method, c.settings)
			// The error comes after more than the first megabyte of output,
			// so the status is already sent and it arrives in the stream.
			rows, err := conn.Query(context.Background(),
				`SELECT number, throwIf(number = 500000, 'boom') FROM numbers(1000000) SETTINGS max_block_size = 1000`)
			require.NoError(t, err)
			seen := 0
			for rows.Next() {
				seen++
			}
			err = rows.Err()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "boom")
			var ex *clickhouse.Exception
			if assert.True(t, errors.As(err, &ex), "want a *clickhouse.Exception, got %T: %v", err, err) {
				assert.Equal(t, int32(395), ex.Code)
			}
			assert.LessOrEqual(t, seen, 500000)
			_ = rows.Close()

			// An error before the first megabyte is a plain HTTP error.
			err = conn.QueryRow(context.Background(), `SELECT throwIf(number = 3, 'early boom') FROM numbers(10)`).Scan(new(uint8))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "early boom")
			require.True(t, errors.As(err, &ex), "%T: %v", err, err)
			assert.Equal(t, int32(395), ex.Code)

			// The connection keeps working.
			require.NoError(t, conn.Ping(context.Background()))
		})
	}
}

func TestClickHouseGoErrors(t *testing.T) {
	conn := openClickHouseGo(t, clickhouse.CompressionLZ4, nil)
	ctx := context.Background()
	err := conn.Exec(ctx, "SELECT * FROM no_such_table_anywhere")
	var ex *clickhouse.Exception
	require.True(t, errors.As(err, &ex), "%T: %v", err, err)
	assert.Equal(t, int32(60), ex.Code)
	var he *clickhouse.HTTPError
	require.True(t, errors.As(err, &he))
	assert.Equal(t, 404, he.StatusCode)

	_, err = conn.PrepareBatch(ctx, "INSERT INTO no_such_table_anywhere")
	require.Error(t, err)
	require.NoError(t, conn.Ping(ctx))
}

// The vector index is what the agent's semantic search relies on: the plan
// must use it, with the reference vector as a query parameter, and its
// answer must be the exact nearest neighbours on a table this small.
func TestClickHouseGoVectorIndex(t *testing.T) {
	t.Parallel()
	conn := openClickHouseGo(t, clickhouse.CompressionLZ4, nil)
	ctx := context.Background()
	tbl := tableName("vec")
	require.NoError(t, conn.Exec(ctx, `CREATE TABLE `+tbl+` (
		id UInt64, v Array(Float32),
		INDEX vi v TYPE vector_similarity('hnsw', 'cosineDistance', 8)
	) ENGINE = MergeTree ORDER BY id`))
	rng := rand.New(rand.NewPCG(1, 2))
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+tbl)
	require.NoError(t, err)
	vec := func() []float32 {
		v := make([]float32, 8)
		for i := range v {
			v[i] = rng.Float32()*2 - 1
		}
		return v
	}
	for i := 0; i < 400; i++ {
		require.NoError(t, batch.Append(uint64(i), vec()))
	}
	require.NoError(t, batch.Send())

	q := vec()
	search := `SELECT id FROM ` + tbl + ` ORDER BY cosineDistance(v, {q:Array(Float32)}) LIMIT 5`
	rows, err := conn.Query(ctx, `EXPLAIN indexes = 1 `+search, clickhouse.Named("q", q))
	require.NoError(t, err)
	var plan strings.Builder
	for rows.Next() {
		var line string
		require.NoError(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	require.NoError(t, rows.Err())
	assert.Contains(t, plan.String(), "vector_similarity", plan.String())
	assert.Contains(t, plan.String(), "Name: vi", plan.String())

	ids := func(ctx context.Context, sql string) []uint64 {
		rows, err := conn.Query(ctx, sql, clickhouse.Named("q", q))
		require.NoError(t, err)
		var out []uint64
		for rows.Next() {
			var id uint64
			require.NoError(t, rows.Scan(&id))
			out = append(out, id)
		}
		require.NoError(t, rows.Err())
		return out
	}
	withIndex := ids(ctx, search)
	bruteCtx := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"use_skip_indexes": 0}))
	brute := ids(bruteCtx, search)
	require.Len(t, withIndex, 5)
	assert.Equal(t, brute, withIndex)
}

func TestClickHouseGoDatabaseSQL(t *testing.T) {
	t.Parallel()
	db := clickhouse.OpenDB(&clickhouse.Options{
		Addr:        []string{chdbtest.HTTP(t).Listener.Addr().String()},
		Protocol:    clickhouse.HTTP,
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	})
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, db.Ping())
	tbl := tableName("stdsql")
	_, err := db.Exec(`CREATE TABLE ` + tbl + ` (id UInt32, name String) ENGINE = MergeTree ORDER BY id`)
	require.NoError(t, err)
	tx, err := db.Begin()
	require.NoError(t, err)
	stmt, err := tx.Prepare(`INSERT INTO ` + tbl)
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		_, err := stmt.Exec(uint32(i), fmt.Sprintf("name-%d", i))
		require.NoError(t, err)
	}
	require.NoError(t, tx.Commit())
	var name string
	require.NoError(t, db.QueryRow(`SELECT name FROM `+tbl+` WHERE id = {id:UInt32}`, clickhouse.Named("id", uint32(7))).Scan(&name))
	assert.Equal(t, "name-7", name)
	var count uint64
	require.NoError(t, db.QueryRow(`SELECT count() FROM `+tbl).Scan(&count))
	assert.Equal(t, uint64(10), count)
	err = db.QueryRow(`SELECT nope FROM ` + tbl).Scan(&name)
	require.Error(t, err)
	assert.NotErrorIs(t, err, sql.ErrNoRows)
	_, err = db.Exec(`DROP TABLE ` + tbl)
	require.NoError(t, err)
}

// clickhouse-go's raw format API reads and writes the server's own
// encodings, with its in-band exception scan on reads.
func TestClickHouseGoFormats(t *testing.T) {
	for _, c := range compressions {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			conn := openClickHouseGo(t, c.method, c.settings)
			ctx := context.Background()
			tbl := tableName("fmt_" + c.name)
			require.NoError(t, conn.Exec(ctx, `CREATE TABLE `+tbl+` (a UInt32, s String) ENGINE = MergeTree ORDER BY a`))
			require.NoError(t, conn.InsertFormat(ctx, "CSV", `INSERT INTO `+tbl, strings.NewReader("1,\"x,y\"\n2,z\n")))
			r, err := conn.QueryFormat(ctx, "TabSeparated", `SELECT a, s FROM `+tbl+` ORDER BY a`)
			require.NoError(t, err)
			b, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			assert.Equal(t, "1\tx,y\n2\tz\n", string(b))

			r, err = conn.QueryFormat(ctx, "CSV", `SELECT number, throwIf(number = 400000, 'format boom') FROM numbers(500000) SETTINGS max_block_size = 1000`)
			require.NoError(t, err)
			_, err = io.ReadAll(r)
			_ = r.Close()
			require.Error(t, err)
			assert.Contains(t, err.Error(), "format boom")
		})
	}
}

// The Native answer is rewritten for the client's protocol revision; column
// data must come through untouched for every type, including those
// clickhouse-go can read but not write.
func TestClickHouseGoTypes(t *testing.T) {
	t.Parallel()
	conn := openClickHouseGo(t, clickhouse.CompressionLZ4, nil)
	ctx := context.Background()
	var (
		interval string
		tuple    map[string]any
		nullable []*uint8
		enum     string
		fixed    string
		ip       string
		dec      string
		big      string
		ok       bool
		lcn      *string
	)
	require.NoError(t, conn.QueryRow(ctx, `SELECT INTERVAL 3 DAY, CAST((1, 'a') AS Tuple(a UInt8, b String)),
		[1, NULL, 3]::Array(Nullable(UInt8)), CAST('b' AS Enum8('a' = 1, 'b' = 2)), toFixedString('xy', 2),
		toString(toIPv6('::1')), toString(toDecimal128('1.25', 10)), toString(toInt256('-57896044618658097711785492504343953926634992332820282019728792003956564819968')),
		true, CAST(NULL AS LowCardinality(Nullable(String)))`).
		Scan(&interval, &tuple, &nullable, &enum, &fixed, &ip, &dec, &big, &ok, &lcn))
	assert.Equal(t, "3 Days", interval)
	assert.Equal(t, map[string]any{"a": uint8(1), "b": "a"}, tuple)
	require.Len(t, nullable, 3)
	assert.Nil(t, nullable[1])
	assert.Equal(t, uint8(3), *nullable[2])
	assert.Equal(t, "b", enum)
	assert.Equal(t, "xy", fixed)
	assert.Equal(t, "::1", ip)
	assert.Equal(t, "1.25", dec)
	assert.Equal(t, "-57896044618658097711785492504343953926634992332820282019728792003956564819968", big)
	assert.True(t, ok)
	assert.Nil(t, lcn)

	js := map[string]any{}
	var dyn chcol.Dynamic
	require.NoError(t, conn.QueryRow(ctx, `SELECT '{"a":{"b":42}}'::JSON, 7::UInt16::Dynamic`).Scan(&js, &dyn))
	assert.Equal(t, map[string]any{"a": map[string]any{"b": int64(42)}}, js)
	assert.Equal(t, uint16(7), dyn.Any())

	// A type the re-encoding cannot read is an error, not a short answer.
	rows, err := conn.Query(ctx, `SELECT number, sumState(number) FROM numbers(10) GROUP BY number`)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		_ = rows.Close()
	}
	require.Error(t, err)
	require.NoError(t, conn.Ping(ctx))
}
