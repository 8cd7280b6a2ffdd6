package chhttp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The answers the issue reported wrong: a result of two blocks (one per
// UNION ALL branch) came back as two results glued together.
func TestOneResultForTwoBlocks(t *testing.T) {
	t.Parallel()
	const union = "SELECT number FROM numbers(3) UNION ALL SELECT number FROM numbers(2)"
	const one = " SETTINGS max_threads = 1"
	cases := map[string]string{
		"JSONCompactEachRowWithNamesAndTypes": "[\"number\"]\n[\"UInt64\"]\n[0]\n[1]\n[2]\n[0]\n[1]\n",
		"CSVWithNames":                        "\"number\"\n0\n1\n2\n0\n1\n",
		"Values":                              "(0),(1),(2),(0),(1)",
		"TSVWithNamesAndTypes":                "number\nUInt64\n0\n1\n2\n0\n1\n",
		"Markdown":                            "| number |\n|-:|\n| 0 |\n| 1 |\n| 2 |\n| 0 |\n| 1 |\n",
	}
	for format, want := range cases {
		res, body := post(t, nil, union+" FORMAT "+format+one, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		assert.Equal(t, want, body, format)
	}
	for _, format := range []string{"JSON", "JSONCompact", "JSONStrings"} {
		res, body := post(t, nil, union+" FORMAT "+format+one, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var doc struct {
			Data       []json.RawMessage
			Rows       int
			Statistics struct {
				RowsRead int `json:"rows_read"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(body), &doc), "%s is not one JSON document: %s", format, body)
		assert.Len(t, doc.Data, 5, format)
		assert.Equal(t, 5, doc.Rows, format)
		assert.Equal(t, 5, doc.Statistics.RowsRead, format)
	}
	res, body := post(t, nil, union+" FORMAT XML"+one, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, 1, strings.Count(body, "<?xml"), body)
	assert.Equal(t, 5, strings.Count(body, "<row>"), body)
}

// A client's INTO OUTFILE would write files on the collector's machine:
// ClickHouse's HTTP interface refuses it, and so does this one. So does a
// second statement after the first.
func TestIntoOutfileAndMultiStatementsRefused(t *testing.T) {
	t.Parallel()
	target := filepath.Join(t.TempDir(), "out.tsv")
	for _, sql := range []string{
		"SELECT 1 INTO OUTFILE '" + target + "'",
		"SELECT 1 INTO OUTFILE '" + target + "' FORMAT CSV",
		"select 1 into outfile '" + target + "' truncate",
	} {
		res, body := post(t, nil, sql, nil)
		requireCHError(t, res, body, 358)
		assert.Contains(t, body, "INTO OUTFILE is not allowed")
	}
	res, body := get(t, url.Values{"query": {"SELECT 1 INTO OUTFILE '" + target + "'"}}, nil)
	requireCHError(t, res, body, 358)
	_, err := os.Stat(target)
	assert.True(t, os.IsNotExist(err), "a file was written: %v", err)

	for _, sql := range []string{"SELECT 1; SELECT 2", "SELECT 1;\nINSERT INTO nowhere VALUES (1)", "SELECT 1; SELECT 2 INTO OUTFILE '" + target + "'"} {
		res, body := post(t, nil, sql, nil)
		requireCHError(t, res, body, 62)
		assert.Contains(t, body, "Multi-statements are not allowed")
	}
	_, err = os.Stat(target)
	assert.True(t, os.IsNotExist(err), "a file was written: %v", err)

	// A string, a comment or an identifier naming OUTFILE is no clause, and a
	// trailing semicolon or comment is no second statement.
	for sql, want := range map[string]string{
		"SELECT 'INTO OUTFILE' AS s":              "INTO OUTFILE\n",
		"SELECT 1 AS outfile /* INTO OUTFILE */;": "1\n",
		"SELECT 2; -- the end":                    "2\n",
		"SELECT 3 ;; /* c */ ;":                   "3\n",
	} {
		assert.Equal(t, want, query(t, sql), sql)
	}
}

// Statements end in every way ClickHouse's grammar allows; the answer is the
// engine's own, whatever the clause the interface adds.
func TestStatementEndings(t *testing.T) {
	t.Parallel()
	for _, sql := range []string{
		"SELECT 1 -- a comment without a newline",
		"SELECT 1 # another",
		"SELECT 1 /* block */",
		"SELECT 1 FORMAT JSONEachRow -- c",
		"SELECT 1 AS x SETTINGS max_threads = 1",
		"SELECT 1 AS x FORMAT JSONEachRow SETTINGS max_threads = 1",
		"SELECT 1 AS x SETTINGS max_threads = 1 FORMAT CSV",
		"(SELECT 1) UNION ALL (SELECT 2) SETTINGS max_threads = 1 FORMAT TSV",
		"WITH 5 AS five SELECT five",
		"FROM numbers(2) SELECT number",
		"SHOW DATABASES LIKE 'system'",
		"DESCRIBE TABLE system.one",
		"EXISTS TABLE system.one",
		"EXPLAIN SELECT 1",
		"SELECT 'a\tb' AS `FORMAT` FORMAT TSV",
	} {
		want := engineAnswer(t, sql)
		got := httpAnswer(t, sql)
		require.True(t, want.ok(), "%s: %v", sql, want)
		require.True(t, got.ok(), "%s: %v", sql, got)
		assert.Equal(t, want.body, got.body, sql)
	}
}

// An error found before the statement ran is the engine's error about the
// client's own text: nothing of the clause the interface adds shows.
func TestErrorsQuoteTheClientsStatement(t *testing.T) {
	t.Parallel()
	for _, sql := range []string{
		"SELECT foo bar baz FORMAT JSON",
		"SELECT 1 FORMAT NoSuchFormat",
		"SELECT 1 FORMAT JSON SETTINGS no_such_setting = 1",
		"SELECT * FROM no_such_table_anywhere",
		"SELECT (1",
		// Failing after the FORMAT clause, behind the clause the interface adds.
		"SELECT 1 AS x FORMAT JSON SETTINGS max_threads =",
		"SELECT 1 AS x FORMAT JSON SETTINGS max_threads = 1 and more",
	} {
		want := engineAnswer(t, sql)
		got := httpAnswer(t, sql)
		require.False(t, want.ok(), sql)
		require.False(t, got.ok(), "%s: %v", sql, got)
		assert.Equal(t, want.code, got.code, sql)
		assert.Equal(t, exceptionText(want.body), exceptionText(got.body), sql)
		assert.NotContains(t, got.body, "/proc/self/fd", sql)
	}
}

// X-ClickHouse-Summary and the statistics of JSON formats tell what the
// statement read, returned and wrote.
func TestSummaryAndStatistics(t *testing.T) {
	t.Parallel()
	tbl := tableName("summary")
	exec(t, "CREATE TABLE "+tbl+" (k UInt64, s String) ENGINE = MergeTree ORDER BY k",
		"INSERT INTO "+tbl+" SELECT number, toString(number) FROM numbers(600)",
		"INSERT INTO "+tbl+" SELECT number + 600, toString(number) FROM numbers(400)")

	summary := func(res *http.Response) map[string]string {
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(res.Header.Get("X-ClickHouse-Summary")), &m), res.Header.Get("X-ClickHouse-Summary"))
		return m
	}
	for _, settings := range []string{"", " SETTINGS max_block_size = 1, max_threads = 4"} {
		res, body := post(t, nil, "SELECT sum(k) AS total, count() AS n FROM "+tbl+" WHERE s != '' FORMAT JSON"+settings, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		var doc struct {
			Rows       int
			Statistics struct {
				RowsRead  int `json:"rows_read"`
				BytesRead int `json:"bytes_read"`
			}
		}
		require.NoError(t, json.Unmarshal([]byte(body), &doc), body)
		assert.Equal(t, 1000, doc.Statistics.RowsRead, settings)
		assert.Positive(t, doc.Statistics.BytesRead, settings)
		s := summary(res)
		assert.Equal(t, "1000", s["read_rows"], settings)
		assert.Equal(t, strconv.Itoa(doc.Statistics.BytesRead), s["read_bytes"], settings)
		assert.Equal(t, "1", s["result_rows"], settings)
		assert.Equal(t, "0", s["written_rows"], settings)
	}

	ins := url.Values{"query": {"INSERT INTO " + tbl + " FORMAT CSV"}}
	res, body := post(t, ins, "2000,a\n2001,b\n2002,c\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	s := summary(res)
	assert.Equal(t, "3", s["written_rows"])
	assert.Equal(t, "3", s["result_rows"])
	assert.NotEqual(t, "0", s["written_bytes"])
}

// send_progress_in_http_headers=1: progress records while the statement
// runs, as X-ClickHouse-Progress headers, and none otherwise.
func TestProgressHeaders(t *testing.T) {
	t.Parallel()
	const slow = "SELECT sleepEachRow(0.02), number FROM numbers(40) SETTINGS max_block_size = 1, max_threads = 1"
	res, body := post(t, url.Values{"send_progress_in_http_headers": {"1"}, "http_headers_progress_interval_ms": {"50"}}, slow, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	records := res.Header.Values("X-ClickHouse-Progress")
	require.NotEmpty(t, records, "no progress headers for a statement that ran %s", res.Header.Get("X-ClickHouse-Summary"))
	last := 0
	for _, r := range records {
		var p map[string]string
		require.NoError(t, json.Unmarshal([]byte(r), &p), r)
		n, err := strconv.Atoi(p["read_rows"])
		require.NoError(t, err, r)
		assert.GreaterOrEqual(t, n, last, "progress went back: %v", records)
		assert.LessOrEqual(t, n, 40)
		last = n
		for _, k := range []string{"read_bytes", "written_rows", "written_bytes", "total_rows_to_read", "result_rows", "result_bytes", "elapsed_ns"} {
			assert.Contains(t, p, k, r)
		}
	}
	assert.Positive(t, last)
	assert.Contains(t, res.Header.Get("X-ClickHouse-Summary"), `"read_rows":"40"`)

	res, body = post(t, nil, slow, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Empty(t, res.Header.Values("X-ClickHouse-Progress"))
}
