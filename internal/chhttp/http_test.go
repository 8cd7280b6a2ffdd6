package chhttp_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
)

// Requests as HyperDX (@clickhouse/client-web) and curl make them.

func TestHTTPPingAndRoot(t *testing.T) {
	t.Parallel()
	srv := chdbtest.HTTP(t)
	for _, path := range []string{"/ping", "/"} {
		res, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode, path)
		assert.Equal(t, "Ok.\n", string(b), path)
	}
	res, body := get(t, url.Values{"query": {"SELECT 1"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "1\n", body)
	assert.Equal(t, "TabSeparated", res.Header.Get("X-ClickHouse-Format"))
}

func TestHTTPFormats(t *testing.T) {
	t.Parallel()
	tbl := tableName("formats")
	exec(t,
		"CREATE TABLE "+tbl+" (id UInt64, name String, lc LowCardinality(String), m Map(String, String), ts DateTime64(9)) ENGINE = MergeTree ORDER BY id",
		"INSERT INTO "+tbl+` VALUES (1, 'a''b "c"', 'x', {'k':'v'}, '2025-01-02 03:04:05.123456789'), (2, 'tab\there', 'y', {}, '2025-01-02 03:04:06')`,
	)
	sel := "SELECT id, name, lc, m, ts FROM " + tbl + " ORDER BY id"

	t.Run("JSON", func(t *testing.T) {
		// HyperDX's settings: 64-bit integers quoted, ISO date-times.
		res, body := post(t, url.Values{"output_format_json_quote_64bit_integers": {"1"}, "date_time_output_format": {"iso"}},
			sel+" FORMAT JSON", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		assert.Equal(t, "JSON", res.Header.Get("X-ClickHouse-Format"))
		assert.Contains(t, res.Header.Get("Content-Type"), "application/json")
		var doc struct {
			Meta []struct{ Name, Type string }
			Data []map[string]any
			Rows int
		}
		require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
		require.Equal(t, 2, doc.Rows)
		require.Len(t, doc.Meta, 5)
		assert.Equal(t, "id", doc.Meta[0].Name)
		assert.Equal(t, "UInt64", doc.Meta[0].Type)
		assert.Equal(t, "LowCardinality(String)", doc.Meta[2].Type)
		assert.Equal(t, "1", doc.Data[0]["id"])
		assert.Equal(t, `a'b "c"`, doc.Data[0]["name"])
		assert.Equal(t, map[string]any{"k": "v"}, doc.Data[0]["m"])
		assert.Equal(t, "2025-01-02T03:04:05.123456789Z", doc.Data[0]["ts"])
		assert.Equal(t, "tab\there", doc.Data[1]["name"])
	})
	t.Run("JSONEachRow", func(t *testing.T) {
		res, body := post(t, nil, sel+" FORMAT JSONEachRow", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var rows []map[string]any
		sc := bufio.NewScanner(strings.NewReader(body))
		for sc.Scan() {
			var r map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r), sc.Text())
			rows = append(rows, r)
		}
		require.Len(t, rows, 2)
		assert.Equal(t, float64(2), rows[1]["id"])
		assert.Equal(t, "y", rows[1]["lc"])
	})
	t.Run("TabSeparated", func(t *testing.T) {
		// The format named by default_format, as clickhouse-connect sends it.
		res, body := post(t, url.Values{"default_format": {"TabSeparated"}}, sel, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
		require.Len(t, lines, 2)
		assert.Equal(t, []string{"1", `a\'b "c"`, "x", "{'k':'v'}", "2025-01-02 03:04:05.123456789"}, strings.Split(lines[0], "\t"))
		assert.Equal(t, `tab\there`, strings.Split(lines[1], "\t")[1])
	})
	t.Run("JSONCompactEachRowWithNamesAndTypes", func(t *testing.T) {
		res, body := post(t, nil, sel+" FORMAT JSONCompactEachRowWithNamesAndTypes", nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		dec := json.NewDecoder(strings.NewReader(body))
		var names, types []string
		require.NoError(t, dec.Decode(&names))
		require.NoError(t, dec.Decode(&types))
		assert.Equal(t, []string{"id", "name", "lc", "m", "ts"}, names)
		assert.Equal(t, "Map(String, String)", types[3])
		var n int
		for dec.More() {
			var r []any
			require.NoError(t, dec.Decode(&r))
			assert.Len(t, r, 5)
			n++
		}
		assert.Equal(t, 2, n)
	})
	t.Run("X-ClickHouse-Format header", func(t *testing.T) {
		res, body := post(t, nil, "SELECT 1 AS x", http.Header{"X-Clickhouse-Format": {"JSONEachRow"}})
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		assert.Equal(t, "{\"x\":1}\n", body)
	})
}

func TestHTTPQueryParameters(t *testing.T) {
	t.Parallel()
	tbl := tableName("params")
	exec(t, "CREATE TABLE "+tbl+" (k String, v UInt32) ENGINE = MergeTree ORDER BY k",
		"INSERT INTO "+tbl+" VALUES ('it''s \"q\" ✓', 1), ('plain', 2)")
	p := url.Values{
		"param_HYPERDX_PARAM_1": {tbl},
		"param_s":               {`it's "q" ✓`},
		"param_n":               {"1"},
	}
	res, body := post(t, p, "SELECT v FROM {HYPERDX_PARAM_1:Identifier} WHERE k = {s:String} AND v >= {n:Int64} FORMAT JSON", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var doc struct{ Data []struct{ V uint32 } }
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	require.Len(t, doc.Data, 1)
	assert.Equal(t, uint32(1), doc.Data[0].V)

	// Parameter values are read in TabSeparated escaping, as in ClickHouse.
	res, body = post(t, url.Values{"param_s": {`a\tb\\c`}}, "SELECT {s:String} AS s FORMAT JSONEachRow", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "{\"s\":\"a\\tb\\\\c\"}\n", body)

	// A parameter the query needs but the request lacks.
	res, body = post(t, nil, "SELECT {missing:String}", nil)
	requireCHError(t, res, body, 456)
}

// @clickhouse/client sends the query and its parameters as form fields when
// they are too long for a URL.
func TestHTTPMultipart(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	require.NoError(t, mw.WriteField("query", "SELECT {a:UInt32} + {b:UInt32} AS s, {t:String} AS t FORMAT JSONEachRow"))
	require.NoError(t, mw.WriteField("param_a", "40"))
	require.NoError(t, mw.WriteField("param_b", "2"))
	require.NoError(t, mw.WriteField("param_t", strings.Repeat("long ", 5000)))
	require.NoError(t, mw.Close())
	res, body := post(t, nil, buf.String(), http.Header{"Content-Type": {mw.FormDataContentType()}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var r struct {
		S int
		T string
	}
	require.NoError(t, json.Unmarshal([]byte(body), &r), body)
	assert.Equal(t, 42, r.S)
	assert.Equal(t, strings.Repeat("long ", 5000), r.T)
}

func TestHTTPAuthentication(t *testing.T) {
	t.Parallel()
	whoami := "SELECT currentUser()"
	cases := []struct {
		name   string
		params url.Values
		hdr    http.Header
	}{
		{"basic auth", nil, http.Header{"Authorization": {basic("alice", "secret")}}},
		{"X-ClickHouse headers", nil, http.Header{"X-Clickhouse-User": {"alice"}, "X-Clickhouse-Key": {"secret"}}},
		{"URL parameters", url.Values{"user": {"alice"}, "password": {"secret"}}, nil},
	}
	for _, c := range cases {
		res, body := post(t, c.params, whoami, c.hdr)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", c.name, body)
		// The engine runs every statement as its own user; the HTTP user
		// only gates access.
		assert.NotEmpty(t, body, c.name)
	}
	for _, c := range []struct {
		name   string
		params url.Values
		hdr    http.Header
	}{
		{"wrong password", url.Values{"user": {"alice"}, "password": {"wrong"}}, nil},
		{"wrong basic auth", nil, http.Header{"Authorization": {basic("alice", "nope")}}},
		{"unknown user", nil, http.Header{"X-Clickhouse-User": {"mallory"}}},
		{"no password", url.Values{"user": {"alice"}}, nil},
	} {
		res, body := post(t, c.params, whoami, c.hdr)
		// ClickHouse answers a failed authentication with 403 (since 22.x).
		assert.Equal(t, http.StatusForbidden, res.StatusCode, c.name)
		requireCHError(t, res, body, 516)
		assert.Contains(t, body, "Authentication failed", c.name)
	}
}

func basic(user, password string) string {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header.Get("Authorization")
}

func TestHTTPReadonly(t *testing.T) {
	t.Parallel()
	tbl := tableName("ro")
	exec(t, "CREATE TABLE "+tbl+" (a UInt32) ENGINE = MergeTree ORDER BY a")

	// GET may not modify data, and may not lift that either.
	res, body := get(t, url.Values{"query": {"INSERT INTO " + tbl + " VALUES (1)"}}, nil)
	requireCHError(t, res, body, 164)
	res, body = get(t, url.Values{"query": {"INSERT INTO " + tbl + " VALUES (1)"}, "readonly": {"0"}}, nil)
	requireCHError(t, res, body, 164)
	res, body = get(t, url.Values{"query": {"SELECT count() FROM " + tbl}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "0\n", body)

	// readonly=1 on a POST refuses writes, allows reads.
	ro := url.Values{"readonly": {"1"}}
	res, body = post(t, ro, "INSERT INTO "+tbl+" VALUES (1)", nil)
	requireCHError(t, res, body, 164)
	res, body = post(t, ro, "SELECT count() FROM "+tbl, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "0\n", body)
	// A readonly=1 request cannot change settings in its query either.
	res, body = post(t, ro, "SELECT 1 SETTINGS max_threads = 1", nil)
	requireCHError(t, res, body, 164)

	// Result limits as settings.
	lim := url.Values{"max_result_rows": {"10"}, "result_overflow_mode": {"throw"}}
	res, body = post(t, lim, "SELECT number FROM numbers(100)", nil)
	requireCHError(t, res, body, 396)
	res, body = post(t, lim, "SELECT number FROM numbers(5)", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "0\n1\n2\n3\n4\n", body)

	// Writes still work on POST without readonly.
	exec(t, "INSERT INTO "+tbl+" VALUES (1)")
	assert.Equal(t, "1\n", query(t, "SELECT count() FROM "+tbl))
}

func TestHTTPInsert(t *testing.T) {
	t.Parallel()
	tbl := tableName("ins")
	exec(t, "CREATE TABLE "+tbl+" (id UInt32, name String, m Map(String, String)) ENGINE = MergeTree ORDER BY id")

	// Query in the URL, data in the body.
	res, body := post(t, url.Values{"query": {"INSERT INTO " + tbl + " FORMAT JSONEachRow"}},
		`{"id":1,"name":"one","m":{"a":"b"}}`+"\n"+`{"id":2,"name":"two ✓","m":{}}`+"\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var sum struct {
		WrittenRows string `json:"written_rows"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.Header.Get("X-ClickHouse-Summary")), &sum), res.Header.Get("X-ClickHouse-Summary"))
	assert.Equal(t, "2", sum.WrittenRows)

	// Statement and data both in the body.
	res, body = post(t, nil, "INSERT INTO "+tbl+" (id, name) FORMAT CSV\n3,\"three, with comma\"\n4,four\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.NoError(t, json.Unmarshal([]byte(res.Header.Get("X-ClickHouse-Summary")), &sum))
	assert.Equal(t, "2", sum.WrittenRows)

	// Data starting on the statement's line, and VALUES.
	exec(t, "INSERT INTO "+tbl+` FORMAT JSONEachRow {"id":5,"name":"five"}`)
	exec(t, "INSERT INTO "+tbl+" (id, name) VALUES (6, 'six')")

	// Part in the query parameter, the rest in the body.
	res, body = post(t, url.Values{"query": {"INSERT INTO " + tbl + " (id, name)"}}, "FORMAT TSV\n7\tseven\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)

	// async_insert is accepted; the insert is synchronous and visible at once.
	res, body = post(t, url.Values{"async_insert": {"1"}, "wait_for_async_insert": {"1"},
		"query": {"INSERT INTO " + tbl + " (id, name) FORMAT CSV"}}, "8,eight\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)

	// A gzip-encoded body.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("9,nine\n10,ten\n"))
	require.NoError(t, zw.Close())
	res, body = do(t, chdbtest.HTTP(t).URL, http.MethodPost, url.Values{"query": {"INSERT INTO " + tbl + " (id, name) FORMAT CSV"}},
		&gz, http.Header{"Content-Encoding": {"gzip"}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)

	// The other encodings clients use.
	for i, enc := range []string{"deflate", "br", "zstd"} {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch enc {
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		case "zstd":
			w, _ = zstd.NewWriter(&buf)
		}
		_, _ = fmt.Fprintf(w, "%d,%s\n", 11+i, enc)
		require.NoError(t, w.Close())
		res, body = do(t, chdbtest.HTTP(t).URL, http.MethodPost, url.Values{"query": {"INSERT INTO " + tbl + " (id, name) FORMAT CSV"}},
			&buf, http.Header{"Content-Encoding": {enc}})
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", enc, body)
	}

	assert.Equal(t, "1\tone\t{'a':'b'}\n2\ttwo ✓\t{}\n3\tthree, with comma\t{}\n4\tfour\t{}\n5\tfive\t{}\n6\tsix\t{}\n7\tseven\t{}\n8\teight\t{}\n9\tnine\t{}\n10\tten\t{}\n11\tdeflate\t{}\n12\tbr\t{}\n13\tzstd\t{}\n",
		query(t, "SELECT id, name, m FROM "+tbl+" ORDER BY id"))
}

func TestHTTPHeaders(t *testing.T) {
	t.Parallel()
	res, body := post(t, url.Values{"query_id": {"my-query-42"}}, "SELECT number FROM numbers(3) FORMAT JSONEachRow", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "my-query-42", res.Header.Get("X-ClickHouse-Query-Id"))
	assert.Equal(t, "JSONEachRow", res.Header.Get("X-ClickHouse-Format"))
	assert.NotEmpty(t, res.Header.Get("X-ClickHouse-Timezone"))
	assert.Equal(t, strings.TrimSpace(query(t, "SELECT timezone()")), res.Header.Get("X-ClickHouse-Timezone"))
	var sum map[string]string
	require.NoError(t, json.Unmarshal([]byte(res.Header.Get("X-ClickHouse-Summary")), &sum))
	for _, k := range []string{"read_rows", "read_bytes", "written_rows", "written_bytes", "result_rows", "elapsed_ns"} {
		_, err := strconv.ParseUint(sum[k], 10, 64)
		assert.NoError(t, err, "summary field %s: %q", k, sum[k])
	}
	assert.Equal(t, "3", sum["read_rows"])

	// Without query_id a fresh one is made; errors carry it too.
	res, body = post(t, nil, "SELECT 1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Len(t, res.Header.Get("X-ClickHouse-Query-Id"), 36)
	res, body = post(t, url.Values{"query_id": {"failing-1"}}, "SELEC 1", nil)
	requireCHError(t, res, body, 62)
	assert.Equal(t, "failing-1", res.Header.Get("X-ClickHouse-Query-Id"))
	assert.Empty(t, res.Header.Get("X-ClickHouse-Format"))
}

func TestHTTPCORS(t *testing.T) {
	t.Parallel()
	srv := chdbtest.HTTP(t)
	req, err := http.NewRequest(http.MethodOptions, srv.URL+"/?add_http_cors_header=1", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", chdbtest.AllowedOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Less(t, res.StatusCode, 300)
	assert.Equal(t, chdbtest.AllowedOrigin, res.Header.Get("Access-Control-Allow-Origin"), "the allowed origin, never *")
	assert.Contains(t, strings.ToLower(res.Header.Get("Access-Control-Allow-Headers")), "authorization")
	assert.Contains(t, res.Header.Get("Access-Control-Allow-Methods"), "POST")

	res, body := post(t, url.Values{"add_http_cors_header": {"1"}}, "SELECT 1", http.Header{"Origin": {chdbtest.AllowedOrigin}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, chdbtest.AllowedOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, res.Header.Get("Access-Control-Expose-Headers"), "X-ClickHouse-Summary")
	// Errors must be readable from the page too.
	res, body = post(t, url.Values{"add_http_cors_header": {"1"}}, "SELEC 1", http.Header{"Origin": {chdbtest.AllowedOrigin}})
	requireCHError(t, res, body, 62)
	assert.Equal(t, chdbtest.AllowedOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	// Without an Origin (not a browser) no CORS header is needed.
	res, body = post(t, url.Values{"add_http_cors_header": {"1"}}, "SELECT 1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
}

func TestHTTPCompressionOfAnswers(t *testing.T) {
	t.Parallel()
	sql := "SELECT number, toString(number) FROM numbers(20000)"
	want := query(t, sql)
	res, body := post(t, url.Values{"enable_http_compression": {"1"}}, sql, http.Header{"Accept-Encoding": {"gzip"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "gzip", res.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(body))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
	assert.Less(t, len(body), len(want))

	// Without enable_http_compression the answer is plain, as in ClickHouse.
	res, body = post(t, nil, sql, http.Header{"Accept-Encoding": {"gzip"}})
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Empty(t, res.Header.Get("Content-Encoding"))
	assert.Equal(t, want, body)
}

func TestHTTPDatabase(t *testing.T) {
	t.Parallel()
	db := tableName("db")
	exec(t, "CREATE DATABASE "+db, "CREATE TABLE "+db+".t (a UInt8) ENGINE = MergeTree ORDER BY a", "INSERT INTO "+db+".t VALUES (7)")
	res, body := post(t, url.Values{"database": {db}}, "SELECT a, currentDatabase() FROM t", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "7\t"+db+"\n", body)
	// The next request on the same pooled connection is back in default.
	assert.Equal(t, "default\n", query(t, "SELECT currentDatabase()"))
	res, body = post(t, url.Values{"database": {"no_such_db_" + db}}, "SELECT 1", nil)
	requireCHError(t, res, body, 81)
	exec(t, "DROP DATABASE "+db)
}

func TestHTTPUnknownSetting(t *testing.T) {
	t.Parallel()
	res, body := post(t, url.Values{"no_such_setting_xyz": {"1"}}, "SELECT 1", nil)
	requireCHError(t, res, body, 115)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
	res, body = post(t, url.Values{"max_threads": {"many"}}, "SELECT 1", nil)
	require.NotEqual(t, http.StatusOK, res.StatusCode, body)
	assert.NotEmpty(t, res.Header.Get("X-ClickHouse-Exception-Code"))
	requireHealthy(t, nil)
}

// Statements that change session state must not leak into later requests
// served by the same pooled connection: in ClickHouse they last for their
// own request only.
func TestHTTPSessionStateDoesNotLeak(t *testing.T) {
	t.Parallel()
	// A settings key of its own, so the following requests share its connections.
	p := url.Values{"max_block_size": {"4242"}}
	for _, stmt := range []string{"SET max_result_rows = 1", "USE system", "CREATE TEMPORARY TABLE tmp_leak (a UInt8)"} {
		res, body := post(t, p, stmt, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", stmt, body)
		for i := 0; i < 3; i++ {
			res, body = post(t, p, "SELECT getSetting('max_result_rows'), currentDatabase(), count() FROM system.tables WHERE is_temporary", nil)
			require.Equal(t, http.StatusOK, res.StatusCode, body)
			assert.Equal(t, "0\tdefault\t0\n", body, "after %s", stmt)
		}
	}
}

// The statement lexer on the shapes clients send.
func TestHTTPStatementShapes(t *testing.T) {
	t.Parallel()
	tbl := tableName("shapes")
	exec(t, "CREATE TABLE "+tbl+" (format String, `FORMAT` UInt8) ENGINE = MergeTree ORDER BY format",
		"INSERT INTO "+tbl+" VALUES ('a', 1)")
	for _, c := range []struct{ sql, want string }{
		{"SELECT format FROM " + tbl, "a\n"},
		{"SELECT format FROM " + tbl + " FORMAT JSONEachRow", "{\"format\":\"a\"}\n"},
		{"SELECT 'FORMAT JSON' AS x", "FORMAT JSON\n"},
		{"SELECT 1 AS format", "1\n"},
		{"SELECT format('{}-{}', 'a', 'b')", "a-b\n"},
		{"SELECT /* FORMAT JSON */ 1 -- FORMAT JSON", "1\n"},
		{"SELECT /* nested /* FORMAT JSON */ */ 2", "2\n"},
		{"SELECT $$FORMAT JSON$$", "FORMAT JSON\n"},
		{"SELECT 3 FORMAT CSV;", "3\n"},
		{"SELECT 4 FORMAT TSV SETTINGS max_threads = 1", "4\n"},
		{"SELECT 5 FORMAT JSONEachRow -- trailing comment", "{\"5\":5}\n"},
		{"# comment\nSELECT 6", "6\n"},
		{"WITH 1 AS format SELECT format FORMAT CSV", "1\n"},
	} {
		res, body := post(t, nil, c.sql, nil)
		if assert.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", c.sql, body) {
			assert.Equal(t, c.want, body, c.sql)
		}
	}
	// An INSERT into a table named like the keyword.
	ftbl := "format_" + tbl
	exec(t, "CREATE TABLE `"+ftbl+"` (a UInt8) ENGINE = Memory")
	exec(t, "INSERT INTO `"+ftbl+"` FORMAT CSV\n1\n2\n")
	assert.Equal(t, "3\n", query(t, "SELECT sum(a) FROM `"+ftbl+"`"))
	exec(t, "DROP TABLE `"+ftbl+"`")
}

func TestHTTPWaitEndOfQuery(t *testing.T) {
	t.Parallel()
	// With wait_end_of_query an error anywhere is an HTTP error.
	res, body := post(t, url.Values{"wait_end_of_query": {"1"}},
		"SELECT number, throwIf(number = 900000, 'late boom') FROM numbers(1000000) SETTINGS max_block_size = 1000", nil)
	requireCHError(t, res, body, 395)
	assert.Contains(t, body, "late boom")

	// 27 MB: more than is held in memory, the rest waits in a file.
	res, body = post(t, url.Values{"wait_end_of_query": {"1"}}, "SELECT number, repeat('x', 20) FROM numbers(1000000)", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Equal(t, 1000000, strings.Count(body, "\n"))
	assert.True(t, strings.HasPrefix(body, "0\txxxxxxxxxxxxxxxxxxxx\n1\t"))
	assert.True(t, strings.HasSuffix(body, "\n999999\txxxxxxxxxxxxxxxxxxxx\n"))
	var sum map[string]string
	require.NoError(t, json.Unmarshal([]byte(res.Header.Get("X-ClickHouse-Summary")), &sum))
	assert.Equal(t, "1000000", sum["read_rows"])
}

func TestHTTPEmptyAndDDL(t *testing.T) {
	t.Parallel()
	res, body := post(t, nil, "", nil)
	requireCHError(t, res, body, 62)
	res, body = post(t, nil, "  \n ", nil)
	requireCHError(t, res, body, 62)
	tbl := tableName("ddl")
	res, body = post(t, nil, "CREATE TABLE "+tbl+" (a UInt8) ENGINE = Memory", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Empty(t, body)
	res, body = post(t, nil, "SELECT a FROM "+tbl+" FORMAT JSONEachRow", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Empty(t, body)
	res, body = post(t, nil, "SHOW TABLES LIKE "+fmt.Sprintf("'%s'", tbl), nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, tbl+"\n", body)
	exec(t, "DROP TABLE "+tbl)
}

// More settings combinations than pooled connections, in parallel: the pool
// evicts and reopens connections, and every answer carries its own settings.
func TestHTTPConcurrentSettings(t *testing.T) {
	t.Parallel()
	srv := chdbtest.HTTP(t)
	var wg sync.WaitGroup
	errs := make(chan error, 128)
	for g := 0; g < 12; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mbs := strconv.Itoa(80000 + g)
			for i := 0; i < 8; i++ {
				p := url.Values{"max_block_size": {mbs}, "param_i": {strconv.Itoa(i)}}
				if i%2 == 1 {
					p.Set("database", "system")
				}
				// Not post(): require must not stop the test from another goroutine.
				res, err := http.Post(srv.URL+"/?"+p.Encode(), "text/plain",
					strings.NewReader("SELECT getSetting('max_block_size'), currentDatabase(), {i:UInt8}"))
				if err != nil {
					errs <- err
					return
				}
				body, err := io.ReadAll(res.Body)
				_ = res.Body.Close()
				db := "default"
				if i%2 == 1 {
					db = "system"
				}
				if want := fmt.Sprintf("%s\t%s\t%d\n", mbs, db, i); err != nil || res.StatusCode != http.StatusOK || string(body) != want {
					errs <- fmt.Errorf("goroutine %d query %d: %d %q %v, want %q", g, i, res.StatusCode, body, err, want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}
