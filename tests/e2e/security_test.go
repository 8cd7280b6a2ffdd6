package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The collector as `make run` starts it (otelcol-config.yaml), attacked as a
// local process and as a web page would attack it: every attack is refused
// with the answer a ClickHouse server gives, and the clients it serves work
// with their users.
func TestCollectorIsSecureByDefault(t *testing.T) {
	dataDir := t.TempDir()
	col := StartCollector(t, dataDir,
		// Small memory caps, so that the oversized queries below stop early on
		// a machine other tests share (the defaults are sized from the machine).
		"extensions::chdb::max_memory_usage=536870912",
		"extensions::chdb::users::agent::limits::max_memory_usage=268435456")

	// Passwords were generated into the data directory, for the collector's
	// user only, and are nowhere in its log.
	st, err := os.Stat(filepath.Join(dataDir, "secrets"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	passwords := map[string]string{}
	for _, u := range []string{"admin", "viewer", "agent"} {
		p := filepath.Join(dataDir, "secrets", "clickhouse-"+u)
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), p)
		passwords[u] = col.As(u).Password
		require.Len(t, passwords[u], 26)
		assert.NotContains(t, col.Log(), passwords[u])
	}

	// The contrib exporter writes as admin.
	PostLogs(t, col.OTLPHTTP, errorBatch(0, 5))
	stored := col.Eventually(t, "SELECT count() FROM otel_logs", func(s string) bool { return s == "6" }) // 5 errors and an INFO

	type answer struct {
		status int
		code   string
		body   string
		acao   string
	}
	send := func(method, user, sql string, params url.Values, hdr http.Header) answer {
		t.Helper()
		p := url.Values{"database": {"agentic_otel"}}
		for k, v := range params {
			p[k] = v
		}
		var body io.Reader
		if method == http.MethodGet {
			p.Set("query", sql)
		} else if method == http.MethodPost {
			body = strings.NewReader(sql)
		}
		req, err := http.NewRequest(method, "http://"+col.ClickHTTP+"/?"+p.Encode(), body)
		require.NoError(t, err)
		for k, v := range hdr {
			req.Header[k] = v
		}
		if user != "" {
			req.SetBasicAuth(user, passwords[user])
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return answer{resp.StatusCode, resp.Header.Get("X-ClickHouse-Exception-Code"), string(b), resp.Header.Get("Access-Control-Allow-Origin")}
	}
	out := filepath.Join(t.TempDir(), "owned")
	for _, tc := range []struct {
		name, method, user, sql string
		params                  url.Values
		hdr                     http.Header
		status                  int
		code, says              string
	}{
		{"no password", http.MethodGet, "", "SELECT 1", nil, nil, 403, "516", "Authentication failed"},
		{"file() as viewer", http.MethodPost, "viewer", "SELECT * FROM file('/etc/passwd', 'LineAsString')", nil, nil, 403, "497", "grant READ ON FILE"},
		{"file() as viewer, GET", http.MethodGet, "viewer", "SELECT * FROM file('/etc/passwd', 'LineAsString')", nil, nil, 403, "497", "grant READ ON FILE"},
		{"file() as admin", http.MethodPost, "admin", "SELECT * FROM file('/etc/passwd', 'LineAsString')", nil, nil, 403, "497", "grant READ ON FILE"},
		{"scalar file() as agent", http.MethodPost, "agent", "SELECT file('/etc/passwd')", nil, nil, 403, "497", "grant READ ON FILE"},
		{"write a file as admin", http.MethodPost, "admin", "INSERT INTO FUNCTION file('" + out + "', 'LineAsString') SELECT 'owned'", nil, nil, 403, "497", "grant WRITE ON FILE"},
		{"INTO OUTFILE as admin", http.MethodPost, "admin", "SELECT 'owned' INTO OUTFILE '" + out + "'", nil, nil, 500, "358", "INTO OUTFILE is not allowed"},
		{"url() as admin", http.MethodPost, "admin", "SELECT * FROM url('http://" + col.Health + "/', 'LineAsString')", nil, nil, 403, "497", "grant READ ON URL"},
		{"executable() as admin", http.MethodPost, "admin", "SELECT * FROM executable('id', 'TSV', 'x String')", nil, nil, 500, "1", "does not exist inside user scripts folder"},
		{"remote() as viewer", http.MethodPost, "viewer", "SELECT * FROM remote('127.0.0.1:9000', system.one)", nil, nil, 403, "497", "grant READ ON REMOTE"},
		{"write as viewer", http.MethodPost, "viewer", "DROP TABLE otel_logs", nil, nil, 500, "164", "readonly mode"},
		{"write as agent", http.MethodPost, "agent", "INSERT INTO otel_logs (Body) VALUES ('x')", nil, nil, 500, "164", "readonly mode"},
		{"readonly reset as agent", http.MethodPost, "agent", "INSERT INTO otel_logs (Body) SETTINGS readonly = DEFAULT VALUES ('x')", nil, nil, 500, "164", "Cannot modify 'readonly' setting"},
		{"KILL QUERY as agent", http.MethodPost, "agent", "KILL QUERY WHERE 1", nil, nil, 403, "497", "grant KILL QUERY"},
		{"10 GB as agent", http.MethodPost, "agent", "SELECT length(groupArray(number)) FROM numbers(1250000000)", nil, nil, 500, "241", "memory limit exceeded"},
		{"10 GB as viewer", http.MethodPost, "viewer", "SELECT length(groupArray(number)) FROM numbers(1250000000)", nil, nil, 500, "241", "memory limit exceeded"},
		{"limit lifted as viewer", http.MethodPost, "viewer", "SELECT 1 SETTINGS max_memory_usage = 0", nil, nil, 500, "452", "shouldn't be less than 1"},
		{"cross-origin POST", http.MethodPost, "", "DROP TABLE otel_logs", nil, http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"text/plain"}}, 403, "497", "is not allowed to call this ClickHouse"},
		{"cross-origin POST with a password", http.MethodPost, "admin", "DROP TABLE otel_logs", nil, http.Header{"Origin": {"http://evil.example"}}, 403, "497", "is not allowed to call this ClickHouse"},
		{"cross-origin preflight", http.MethodOptions, "", "", url.Values{"add_http_cors_header": {"1"}}, http.Header{"Origin": {"http://evil.example"}, "Access-Control-Request-Method": {"POST"}}, 403, "497", "is not allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(tc.method, tc.user, tc.sql, tc.params, tc.hdr)
			assert.Equal(t, tc.status, a.status, a.body)
			assert.Equal(t, tc.code, a.code, a.body)
			assert.True(t, strings.HasPrefix(a.body, "Code: "+tc.code+". DB::Exception: "), a.body)
			assert.Contains(t, a.body, tc.says)
			assert.Empty(t, a.acao)
		})
	}
	_, err = os.Stat(out)
	assert.True(t, os.IsNotExist(err), "no file written")
	n, err := col.As("viewer").Query(context.Background(), "SELECT count() FROM otel_logs", nil)
	require.NoError(t, err)
	assert.Equal(t, stored, n, "the table survived, unchanged")

	// What the clients do, they may.
	for _, origin := range []string{"http://localhost:8089", "http://127.0.0.1:8089"} {
		a := send(http.MethodOptions, "", "", url.Values{"add_http_cors_header": {"1"}}, http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"}})
		assert.Equal(t, http.StatusNoContent, a.status)
		assert.Equal(t, origin, a.acao, "HyperDX's page")
		a = send(http.MethodPost, "viewer", "SELECT count() FROM otel_logs FORMAT JSON", url.Values{"add_http_cors_header": {"1"}}, http.Header{"Origin": {origin}})
		assert.Equal(t, http.StatusOK, a.status, a.body)
		assert.Equal(t, origin, a.acao)
	}
	a := send(http.MethodPost, "agent", "SELECT count() FROM otel_logs", url.Values{"readonly": {"1"}, "max_execution_time": {"30"}, "max_result_rows": {"1001"}, "result_overflow_mode": {"break"}}, nil)
	assert.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, stored+"\n", a.body)
	a = send(http.MethodPost, "admin", "KILL QUERY WHERE query_id = 'none' SYNC", nil, nil)
	assert.Equal(t, http.StatusOK, a.status, a.body)
}
