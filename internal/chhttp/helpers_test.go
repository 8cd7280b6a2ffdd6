package chhttp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
)

func TestMain(m *testing.M) { os.Exit(chdbtest.Main(m)) }

var tableSeq atomic.Uint64

// tableName returns a table name no other test uses: every test shares the
// one engine of the process.
func tableName(prefix string) string {
	return fmt.Sprintf("%s_%d_%d", prefix, os.Getpid(), tableSeq.Add(1))
}

// openClickHouseGo connects clickhouse-go's HTTP transport to the shared server.
func openClickHouseGo(t testing.TB, method clickhouse.CompressionMethod, settings clickhouse.Settings) driver.Conn {
	t.Helper()
	srv := chdbtest.HTTP(t)
	opts := &clickhouse.Options{
		Addr:     []string{srv.Listener.Addr().String()},
		Protocol: clickhouse.HTTP,
		Settings: settings,
	}
	if method != clickhouse.CompressionNone {
		opts.Compression = &clickhouse.Compression{Method: method}
	}
	conn, err := clickhouse.Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// exec runs statements through the shared server as a curl user would,
// failing the test on any error.
func exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, sql := range stmts {
		res, body := post(t, nil, sql, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", sql, body)
	}
}

// post sends body as a POST with the given URL parameters and headers.
func post(t testing.TB, params url.Values, body string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	return do(t, chdbtest.HTTP(t).URL, http.MethodPost, params, strings.NewReader(body), hdr)
}

// get sends a GET with the given URL parameters.
func get(t testing.TB, params url.Values, hdr http.Header) (*http.Response, string) {
	t.Helper()
	return do(t, chdbtest.HTTP(t).URL, http.MethodGet, params, nil, hdr)
}

func do(t testing.TB, base, method string, params url.Values, body io.Reader, hdr http.Header) (*http.Response, string) {
	t.Helper()
	u := base + "/"
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	// Compression is checked by the tests themselves, on the wire bytes.
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	res, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

// query runs a SELECT and returns its TabSeparated answer.
func query(t testing.TB, sql string) string {
	t.Helper()
	res, body := post(t, nil, sql, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", sql, body)
	return body
}

// requireCHError checks an answer is a ClickHouse error with this code.
func requireCHError(t testing.TB, res *http.Response, body string, code int) {
	t.Helper()
	require.NotEqual(t, http.StatusOK, res.StatusCode, "expected error code %d, got 200: %.300s", code, body)
	assert.Equal(t, strconv.Itoa(code), res.Header.Get("X-ClickHouse-Exception-Code"), body)
	assert.True(t, strings.HasPrefix(body, fmt.Sprintf("Code: %d. DB::Exception: ", code)), "body: %.500s", body)
}

// requireHealthy checks the server still answers, on the pooled connections
// of the given settings: a SELECT 1, and an insert+select round trip.
func requireHealthy(t testing.TB, settings url.Values) {
	t.Helper()
	p := url.Values{}
	for k, v := range settings {
		p[k] = v
	}
	res, body := post(t, p, "SELECT 1", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "1\n", body)

	tbl := tableName("healthy")
	exec(t, "CREATE TABLE "+tbl+" (a UInt32, s String) ENGINE = MergeTree ORDER BY a")
	ins := url.Values{}
	for k, v := range p {
		ins[k] = v
	}
	ins.Set("query", "INSERT INTO "+tbl+" FORMAT CSV")
	res, body = post(t, ins, "1,one\n2,two\n", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = post(t, p, "SELECT a, s FROM "+tbl+" ORDER BY a", nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	require.Equal(t, "1\tone\n2\ttwo\n", body)
	exec(t, "DROP TABLE "+tbl)
}

// eventually polls cond until it holds or the bound passes.
func eventually(t testing.TB, bound time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			require.Fail(t, "condition not reached within "+bound.String(), msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smallServer is a second HTTP interface over the shared engine, with a
// small body limit.
func smallServer(t testing.TB, maxBody int64) *httptest.Server {
	t.Helper()
	s, err := chhttp.New(chdbtest.Engine(t), chhttp.Config{MaxBodyBytes: maxBody, MaxConns: 2})
	require.NoError(t, err)
	srv := httptest.NewServer(s)
	t.Cleanup(func() {
		srv.Close()
		s.Close()
	})
	return srv
}
