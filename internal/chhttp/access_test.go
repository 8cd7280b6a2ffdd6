package chhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chhttp"
)

// The HTTP interface as the collector configures it: an admin, a viewer and
// an agent with passwords, no "default" user, one allowed web origin.
const hyperdxOrigin = "http://localhost:8089"

var (
	admin  = chdbtest.Admin
	viewer = chdbtest.Viewer
	agent  = chdbtest.Agent
	nobody = chdbtest.Credentials{}
	// reader is a viewer without limits of its own: the engine's cap bounds it.
	reader = chdbtest.Credentials{User: "reader", Password: "reader-secret"}
)

var securedSrv *httptest.Server

func secured(t testing.TB) *httptest.Server {
	t.Helper()
	if securedSrv != nil {
		return securedSrv
	}
	s, err := chhttp.New(chdbtest.Engine(t), chhttp.Config{
		Users: map[string]chhttp.User{
			admin.User:  {Password: admin.Password, Role: chhttp.RoleAdmin},
			viewer.User: {Password: viewer.Password, Role: chhttp.RoleViewer, Limits: chdbtest.ViewerLimits},
			agent.User:  {Password: agent.Password, Role: chhttp.RoleAgent, Limits: chdbtest.AgentLimits},
			reader.User: {Password: reader.Password, Role: chhttp.RoleViewer},
		},
		AllowedOrigins: []string{hyperdxOrigin},
		MaxConns:       4,
	})
	require.NoError(t, err)
	securedSrv = httptest.NewServer(s)
	return securedSrv
}

// as sends sql as user (POST unless method says otherwise), with extra URL
// parameters and headers.
func as(t testing.TB, who chdbtest.Credentials, method, sql string, params url.Values, hdr http.Header) (*http.Response, string) {
	t.Helper()
	p := url.Values{}
	for k, v := range params {
		p[k] = v
	}
	if hdr == nil {
		hdr = http.Header{}
	}
	if who.User != "" {
		hdr.Set("X-ClickHouse-User", who.User)
		hdr.Set("X-ClickHouse-Key", who.Password)
	}
	var body *strings.Reader
	if method == http.MethodGet {
		p.Set("query", sql)
		body = strings.NewReader("")
	} else {
		body = strings.NewReader(sql)
	}
	return do(t, secured(t).URL, method, p, body, hdr)
}

// refusal is what ClickHouse answers: an exception code and words of its
// message.
type refusal struct {
	code int
	says string
}

func (r refusal) String() string { return fmt.Sprintf("%d %q", r.code, r.says) }

func checkRefused(t *testing.T, res *http.Response, body string, want refusal) {
	t.Helper()
	require.NotEqual(t, http.StatusOK, res.StatusCode, "expected %s, got 200: %.300s", want, body)
	assert.Equal(t, strconv.Itoa(want.code), res.Header.Get("X-ClickHouse-Exception-Code"), body)
	assert.True(t, strings.HasPrefix(body, fmt.Sprintf("Code: %d. DB::Exception: ", want.code)), "body: %.500s", body)
	assert.Contains(t, body, want.says)
	assert.Equal(t, statusOf(want.code), res.StatusCode, "HTTP status for code %d", want.code)
}

// statusOf is ClickHouse's HTTP status for the codes below
// (exceptionCodeToHTTPStatus).
func statusOf(code int) int {
	switch code {
	case 497, 516:
		return http.StatusForbidden
	case 62:
		return http.StatusBadRequest
	case 78, 46, 60:
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

var (
	readonlyMode = refusal{164, "Cannot execute query in readonly mode"}
	notAllowed   = func(grant string) refusal {
		return refusal{497, "Not enough privileges. To execute this query, it's necessary to have the grant " + grant}
	}
)

// Every table function that reaches files, URLs, other servers or programs,
// as each user, answered as a ClickHouse server answers a user without the
// grant.
func TestAttackTableFunctions(t *testing.T) {
	out := filepath.Join(t.TempDir(), "owned")
	for _, tc := range []struct {
		sql                 string
		admin, viewer, agnt refusal
	}{
		{"SELECT * FROM file('/etc/passwd', 'LineAsString')", notAllowed("READ ON FILE"), notAllowed("READ ON FILE"), notAllowed("READ ON FILE")},
		{"SELECT * FROM file('passwd', 'LineAsString')", notAllowed("READ ON FILE"), notAllowed("READ ON FILE"), notAllowed("READ ON FILE")},
		{"SELECT * FROM fileCluster('default', '/etc/passwd', 'LineAsString')", refusal{701, "Requested cluster 'default' not found"}, refusal{701, "Requested cluster 'default' not found"}, refusal{701, "Requested cluster 'default' not found"}},
		{"SELECT * FROM url('http://127.0.0.1:13133/', 'LineAsString')", notAllowed("READ ON URL"), notAllowed("READ ON URL"), notAllowed("READ ON URL")},
		{"SELECT * FROM remote('127.0.0.1:9000', system.one)", notAllowed("READ ON REMOTE"), notAllowed("READ ON REMOTE"), notAllowed("READ ON REMOTE")},
		{"SELECT * FROM remoteSecure('127.0.0.1:9440', system.one)", notAllowed("READ ON REMOTE"), notAllowed("READ ON REMOTE"), notAllowed("READ ON REMOTE")},
		{"SELECT * FROM s3('http://127.0.0.1:9000/bucket/key', 'LineAsString')", notAllowed("READ ON S3"), notAllowed("READ ON S3"), notAllowed("READ ON S3")},
		{"SELECT * FROM gcs('http://127.0.0.1:9000/bucket/key', 'LineAsString')", notAllowed("READ ON S3"), notAllowed("READ ON S3"), notAllowed("READ ON S3")},
		{"SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'LineAsString')", notAllowed("READ ON HDFS"), notAllowed("READ ON HDFS"), notAllowed("READ ON HDFS")},
		{"SELECT * FROM azureBlobStorage('http://127.0.0.1:1/', 'c', 'b', 'LineAsString')", notAllowed("READ ON AZURE"), notAllowed("READ ON AZURE"), notAllowed("READ ON AZURE")},
		{"SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')", notAllowed("READ ON MYSQL"), notAllowed("READ ON MYSQL"), notAllowed("READ ON MYSQL")},
		{"SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')", notAllowed("READ ON POSTGRES"), notAllowed("READ ON POSTGRES"), notAllowed("READ ON POSTGRES")},
		{"SELECT * FROM sqlite('/etc/passwd', 't')", notAllowed("READ ON SQLITE"), notAllowed("READ ON SQLITE"), notAllowed("READ ON SQLITE")},
		{"SELECT * FROM mongodb('127.0.0.1:27017', 'd', 'c', 'u', 'p', 'x String')", notAllowed("READ ON MONGO"), notAllowed("READ ON MONGO"), notAllowed("READ ON MONGO")},
		{"SELECT * FROM redis('127.0.0.1:6379', 'k', 'k String')", notAllowed("READ ON REDIS"), notAllowed("READ ON REDIS"), notAllowed("READ ON REDIS")},
		{"SELECT * FROM jdbc('x', 'y')", notAllowed("READ ON JDBC"), notAllowed("READ ON JDBC"), notAllowed("READ ON JDBC")},
		{"SELECT * FROM odbc('x', 'y')", notAllowed("READ ON ODBC"), notAllowed("READ ON ODBC"), notAllowed("READ ON ODBC")},
		{"SELECT * FROM executable('id', 'TSV', 'x String')", refusal{1, "does not exist inside user scripts folder"}, refusal{1, "does not exist inside user scripts folder"}, readonlyMode},
		// The Filesystem overlay of clickhouse-local's default database.
		{"SELECT * FROM default.`/etc/passwd`", notAllowed("READ ON FILE"), notAllowed("READ ON FILE"), notAllowed("READ ON FILE")},
		// The scalar file() function, which clickhouse-local does not confine.
		{"SELECT file('/etc/passwd')", notAllowed("READ ON FILE"), notAllowed("READ ON FILE"), notAllowed("READ ON FILE")},
		{"SELECT arrayMap(p -> `file`(p), ['/etc/passwd']) /* file */", notAllowed("READ ON FILE"), notAllowed("READ ON FILE"), notAllowed("READ ON FILE")},
		{"INSERT INTO FUNCTION file('" + out + "', 'LineAsString') SELECT 'owned'", notAllowed("WRITE ON FILE"), notAllowed("WRITE ON FILE"), notAllowed("WRITE ON FILE")},
		{"SELECT 'owned' INTO OUTFILE '" + out + "'", refusal{358, "INTO OUTFILE is not allowed"}, refusal{358, "INTO OUTFILE is not allowed"}, refusal{358, "INTO OUTFILE is not allowed"}},
	} {
		t.Run(tc.sql, func(t *testing.T) {
			for _, u := range []struct {
				who  chdbtest.Credentials
				want refusal
			}{{admin, tc.admin}, {viewer, tc.viewer}, {agent, tc.agnt}} {
				res, body := as(t, u.who, http.MethodPost, tc.sql, nil, nil)
				checkRefused(t, res, body, u.want)
				if u.want.code == 497 {
					assert.Contains(t, body, "DB::Exception: "+u.who.User+": ", "the message names the user who asked")
				}
			}
		})
	}
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err), "nothing was written to %s", out)
}

// Statements that change data, as the viewer and the agent: refused by the
// engine in readonly mode. The admin may run them.
func TestAttackWrites(t *testing.T) {
	tbl := tableName("attack_writes")
	res, body := as(t, admin, http.MethodPost, "CREATE TABLE "+tbl+" (a UInt32) ENGINE = MergeTree ORDER BY a", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	for _, sql := range []string{
		"INSERT INTO " + tbl + " VALUES (1)",
		"ALTER TABLE " + tbl + " DELETE WHERE 1",
		"ALTER TABLE " + tbl + " ADD COLUMN b String",
		"TRUNCATE TABLE " + tbl,
		"DROP TABLE " + tbl,
		"CREATE TABLE " + tbl + "_x (a UInt32) ENGINE = Memory",
		"RENAME TABLE " + tbl + " TO " + tbl + "_y",
		"OPTIMIZE TABLE " + tbl + " FINAL",
		"CREATE DATABASE owned",
	} {
		t.Run(sql, func(t *testing.T) {
			for _, who := range []chdbtest.Credentials{viewer, agent} {
				res, body := as(t, who, http.MethodPost, sql, nil, nil)
				checkRefused(t, res, body, readonlyMode)
				res, body = as(t, who, http.MethodGet, sql, nil, nil)
				checkRefused(t, res, body, readonlyMode)
			}
		})
	}
	// A write hidden behind a first statement is not run either.
	for _, who := range []chdbtest.Credentials{admin, viewer, agent} {
		res, body := as(t, who, http.MethodPost, "SELECT 1; DROP TABLE "+tbl, nil, nil)
		checkRefused(t, res, body, refusal{62, "Multi-statements are not allowed"})
		res, body = as(t, who, http.MethodPost, "CREATE TEMPORARY TABLE x (a UInt8); DROP TABLE "+tbl, nil, nil)
		checkRefused(t, res, body, refusal{62, "Multi-statements are not allowed"})
	}

	// The admin writes; a server allows it.
	for _, sql := range []string{
		"INSERT INTO " + tbl + " VALUES (1)",
		"ALTER TABLE " + tbl + " ADD COLUMN b String",
		"OPTIMIZE TABLE " + tbl + " FINAL",
		"TRUNCATE TABLE " + tbl,
		"DROP TABLE " + tbl,
	} {
		res, body := as(t, admin, http.MethodPost, sql, nil, nil)
		assert.Equal(t, http.StatusOK, res.StatusCode, "%s: %s", sql, body)
	}
	// The engine's own state is no user's to change.
	for _, who := range []chdbtest.Credentials{admin, viewer, agent} {
		res, body = as(t, who, http.MethodPost, "SYSTEM DROP MARK CACHE", nil, nil)
		checkRefused(t, res, body, notAllowed("SYSTEM DROP MARK CACHE ON *.*"))
	}
	res, body = as(t, admin, http.MethodPost, "CREATE TABLE "+tbl+"_f (s String) ENGINE = File(LineAsString, '/etc/passwd')", nil, nil)
	checkRefused(t, res, body, notAllowed("TABLE ENGINE ON File"))
	res, body = as(t, admin, http.MethodPost, "CREATE DATABASE fs ENGINE = Filesystem('/etc')", nil, nil)
	checkRefused(t, res, body, notAllowed("TABLE ENGINE ON Filesystem"))
	res, body = as(t, admin, http.MethodPost, "INSERT INTO "+tbl+" FROM INFILE '/etc/passwd' FORMAT LineAsString", nil, nil)
	checkRefused(t, res, body, refusal{78, "Query has infile and was send directly to server"})
	res, body = as(t, admin, http.MethodPost, "CREATE TABLE "+tbl+"_d (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS disk = disk(type = web, endpoint = 'http://127.0.0.1:13133/')", nil, nil)
	checkRefused(t, res, body, notAllowed("SOURCES ON *.*"))
}

// KILL QUERY: every statement runs as the engine's one user, so only the
// admin may kill.
func TestAttackKillQuery(t *testing.T) {
	for _, who := range []chdbtest.Credentials{viewer, agent} {
		for _, sql := range []string{"KILL QUERY WHERE 1", "KILL QUERY WHERE user = 'default' SYNC", "/* x */ kill query where 1 async"} {
			res, body := as(t, who, http.MethodPost, sql, nil, nil)
			checkRefused(t, res, body, notAllowed("KILL QUERY ON *.*"))
		}
	}
	res, body := as(t, admin, http.MethodPost, "KILL QUERY WHERE query_id = 'none' SYNC", nil, nil)
	assert.Equal(t, http.StatusOK, res.StatusCode, body)
}

// A query that would need 10 GB: refused by the per-user memory limit, as
// a server refuses it (MEMORY_LIMIT_EXCEEDED), and the limit cannot be
// raised, unset or reset by the user.
func TestAttackMemory(t *testing.T) {
	huge := "SELECT length(groupArray(number)) FROM numbers(1250000000)" // 10 GB of UInt64
	for _, who := range []chdbtest.Credentials{viewer, agent} {
		res, body := as(t, who, http.MethodPost, huge, nil, nil)
		checkRefused(t, res, body, refusal{241, "memory limit exceeded"})
		res, body = as(t, who, http.MethodGet, huge, nil, nil)
		checkRefused(t, res, body, refusal{241, "memory limit exceeded"})
	}
	limit := strconv.Itoa(int(chdbtest.ViewerLimits["max_memory_usage"]))
	for _, tc := range []struct {
		who    chdbtest.Credentials
		sql    string
		params url.Values
		want   refusal
	}{
		{viewer, huge, url.Values{"max_memory_usage": {"0"}}, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{viewer, huge, url.Values{"max_memory_usage": {"10000000000"}}, refusal{452, "Setting max_memory_usage shouldn't be greater than " + limit}},
		{viewer, huge + " SETTINGS max_memory_usage = 0", nil, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{viewer, huge + " SETTINGS max_memory_usage = 10000000000", nil, refusal{452, "Setting max_memory_usage shouldn't be greater than " + limit}},
		{viewer, huge + " SETTINGS max_memory_usage = DEFAULT", nil, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{viewer, huge + " SETTINGS max_threads = 1, max_memory_usage=default", nil, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{viewer, "SET max_memory_usage = DEFAULT", url.Values{"session_id": {"viewer-s"}}, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{viewer, "SET max_memory_usage = 0", url.Values{"session_id": {"viewer-s"}}, refusal{452, "Setting max_memory_usage shouldn't be less than 1"}},
		{agent, huge, url.Values{"max_memory_usage": {"10000000000"}}, refusal{452, "Setting max_memory_usage shouldn't be greater than"}},
		{agent, huge + " SETTINGS max_memory_usage = 10000000000", nil, refusal{164, "Cannot modify 'max_memory_usage' setting in readonly mode"}},
		{agent, huge + " SETTINGS max_memory_usage = DEFAULT", nil, refusal{164, "Cannot modify 'max_memory_usage' setting in readonly mode"}},
		{agent, "SET max_memory_usage = 0", nil, refusal{164, "Cannot modify 'max_memory_usage' setting in readonly mode"}},
		{agent, huge, url.Values{"max_untracked_memory": {"100000000000"}}, refusal{164, "Cannot modify 'max_untracked_memory' setting in readonly mode"}},
		{agent, "SELECT 1", url.Values{"max_execution_time": {"100000"}}, refusal{452, "Setting max_execution_time shouldn't be greater than 60"}},
		{agent, "SELECT 1", url.Values{"max_rows_to_read": {"0"}}, refusal{452, "Setting max_rows_to_read shouldn't be less than 1"}},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tc.who.User, tc.sql, tc.params), func(t *testing.T) {
			res, body := as(t, tc.who, http.MethodPost, tc.sql, tc.params, nil)
			checkRefused(t, res, body, tc.want)
		})
	}
	// Lowering a limit is the user's to do.
	res, body := as(t, agent, http.MethodPost, "SELECT getSetting('max_memory_usage'), getSetting('readonly')", url.Values{"max_memory_usage": {"1000000"}, "readonly": {"1"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "1000000\t1\n", body)
	res, body = as(t, viewer, http.MethodPost, "SELECT getSetting('max_memory_usage') SETTINGS max_memory_usage = 1000000", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "1000000\n", body)
	// The session kept its limit.
	res, body = as(t, viewer, http.MethodPost, "SELECT getSetting('max_memory_usage')", url.Values{"session_id": {"viewer-s"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, limit+"\n", body)
}

// Regression: a session reset the settings of its previous request with
// SET … = DEFAULT, which made max_memory_usage 0 (unlimited) for a viewer
// whose first request had lowered it.
func TestSessionKeepsTheMemoryCap(t *testing.T) {
	capBytes := strconv.FormatUint(chdbtest.Memory.MaxMemoryUsage, 10)
	p := url.Values{"session_id": {"reader-cap"}}
	res, body := as(t, reader, http.MethodPost, "SELECT getSetting('max_memory_usage')", url.Values{"session_id": {"reader-cap"}, "max_memory_usage": {"1000000"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "1000000\n", body)
	res, body = as(t, reader, http.MethodPost, "SELECT getSetting('max_memory_usage')", p, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, capBytes+"\n", body, "back to the engine's cap, not to 0")
	res, body = as(t, reader, http.MethodPost, "SELECT length(groupArray(number)) FROM numbers(1250000000)", p, nil)
	checkRefused(t, res, body, refusal{241, "memory limit exceeded"})
}

// A user may ask for more read-only than its role: settings after readonly
// in name order are still its to set.
func TestStricterReadonlyRequested(t *testing.T) {
	for _, who := range []chdbtest.Credentials{admin, viewer} {
		res, body := as(t, who, http.MethodPost, "SELECT getSetting('readonly'), getSetting('result_overflow_mode')",
			url.Values{"readonly": {"1"}, "result_overflow_mode": {"break"}, "use_query_cache": {"0"}}, nil)
		require.Equal(t, http.StatusOK, res.StatusCode, body)
		assert.Equal(t, "1\tbreak\n", body)
	}
}

// Settings that name files, URLs or the SQL dialect, and the readonly
// level, cannot be changed.
func TestAttackSettings(t *testing.T) {
	for _, tc := range []struct {
		who    chdbtest.Credentials
		sql    string
		params url.Values
		want   refusal
	}{
		{viewer, "SELECT 1", url.Values{"readonly": {"0"}}, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{viewer, "SELECT 1 SETTINGS readonly = 0", nil, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{agent, "SELECT 1", url.Values{"readonly": {"2"}}, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{agent, "SELECT 1", url.Values{"readonly": {"0"}}, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{admin, "SELECT 1", url.Values{"format_template_resultset": {"/etc/passwd"}}, refusal{452, "Setting format_template_resultset should not be changed"}},
		{viewer, "SELECT 1 FORMAT Template SETTINGS format_template_resultset = '/etc/passwd'", nil, refusal{452, "Setting format_template_resultset should not be changed"}},
		{admin, "SELECT 1", url.Values{"output_format_schema": {"/tmp/owned.proto"}}, refusal{452, "Setting output_format_schema should not be changed"}},
		{admin, "SELECT 1", url.Values{"dialect": {"prql"}}, refusal{452, "Setting dialect should not be changed"}},
		{viewer, "SET dialect = 'kusto'", nil, refusal{452, "Setting dialect should not be changed"}},
		// The engine applies `= DEFAULT` without checking readonly: a
		// reset would lift it.
		{viewer, "SELECT getSetting('readonly') SETTINGS readonly = DEFAULT", nil, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{viewer, "SET readonly = DEFAULT", url.Values{"session_id": {"viewer-ro"}}, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{agent, "SELECT 1 SETTINGS readonly = DEFAULT", nil, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{agent, "SELECT 1 SETTINGS max_threads = 2, readonly = default", nil, refusal{164, "Cannot modify 'readonly' setting in readonly mode"}},
		{agent, "SELECT 1 SETTINGS max_execution_time = DEFAULT", nil, refusal{164, "Cannot modify 'max_execution_time' setting in readonly mode"}},
		{admin, "SELECT 1", url.Values{"format_schema": {"/etc/passwd:X"}}, refusal{452, "Setting format_schema should not be changed"}},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tc.who.User, tc.sql, tc.params), func(t *testing.T) {
			res, body := as(t, tc.who, http.MethodPost, tc.sql, tc.params, nil)
			checkRefused(t, res, body, tc.want)
		})
	}
}

// Users and sessions: no user without a password, nobody else's session.
func TestAttackAuthentication(t *testing.T) {
	for _, who := range []chdbtest.Credentials{nobody, {User: "default"}, {User: admin.User, Password: "guess"}, {User: "root", Password: ""}} {
		res, body := as(t, who, http.MethodGet, "SELECT 1", nil, nil)
		checkRefused(t, res, body, refusal{516, "Authentication failed: password is incorrect, or there is no user with such name"})
	}
	res, body := as(t, admin, http.MethodPost, "CREATE TEMPORARY TABLE mine (a UInt8)", url.Values{"session_id": {"shared-id"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = as(t, viewer, http.MethodPost, "SELECT * FROM mine", url.Values{"session_id": {"shared-id"}}, nil)
	checkRefused(t, res, body, refusal{60, "mine"})
	res, body = as(t, admin, http.MethodPost, "SELECT count() FROM mine", url.Values{"session_id": {"shared-id"}}, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
}

// Web pages: only the configured origin may call, never with "*".
func TestAttackCrossOrigin(t *testing.T) {
	tbl := tableName("attack_cors")
	res, body := as(t, admin, http.MethodPost, "CREATE TABLE "+tbl+" (a UInt32) ENGINE = Memory", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	evil := http.Header{"Origin": {"http://evil.example"}, "Content-Type": {"text/plain"}}
	for _, who := range []chdbtest.Credentials{nobody, admin, viewer} {
		// A form or a text/plain fetch from another origin needs no preflight.
		res, body := as(t, who, http.MethodPost, "DROP TABLE "+tbl, nil, evil.Clone())
		checkRefused(t, res, body, refusal{497, `Origin "http://evil.example" is not allowed`})
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"))
		res, body = as(t, who, http.MethodGet, "SELECT * FROM file('/etc/passwd', 'LineAsString')", url.Values{"add_http_cors_header": {"1"}}, evil.Clone())
		checkRefused(t, res, body, refusal{497, `Origin "http://evil.example" is not allowed`})
	}
	for _, origin := range []string{"http://evil.example", "null", "http://localhost:8089.evil.example", "http://localhost:80890"} {
		req, err := http.NewRequest(http.MethodOptions, secured(t).URL+"/?add_http_cors_header=1", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode, origin)
		assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), origin)
	}
	res, body = as(t, admin, http.MethodPost, "EXISTS TABLE "+tbl, nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "1\n", body, "the table survived")

	// HyperDX's origin: preflight, then the POST it makes.
	req, err := http.NewRequest(http.MethodOptions, secured(t).URL+"/?add_http_cors_header=1", nil)
	require.NoError(t, err)
	req.Header.Set("Origin", hyperdxOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	res, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, hyperdxOrigin, res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "Origin", res.Header.Get("Vary"))
	res, body = as(t, viewer, http.MethodPost, "SELECT count() FROM "+tbl+" FORMAT JSON", url.Values{"add_http_cors_header": {"1"}}, http.Header{"Origin": {hyperdxOrigin}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, hyperdxOrigin, res.Header.Get("Access-Control-Allow-Origin"))
}

// clickhouse-go, as the contrib exporter and the MCP server use it, works
// with each user: the admin creates and inserts (Native, LZ4), the viewer
// and the agent read what it wrote and are refused its writes.
func TestClickHouseGoAsEachUser(t *testing.T) {
	open := func(who chdbtest.Credentials, settings clickhouse.Settings) driver.Conn {
		conn, err := clickhouse.Open(&clickhouse.Options{
			Addr:        []string{secured(t).Listener.Addr().String()},
			Protocol:    clickhouse.HTTP,
			Auth:        clickhouse.Auth{Username: who.User, Password: who.Password},
			Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
			Settings:    settings,
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		return conn
	}
	ctx := context.Background()
	tbl := tableName("chgo_users")
	w := open(admin, nil)
	require.NoError(t, w.Ping(ctx))
	require.NoError(t, w.Exec(ctx, "CREATE TABLE "+tbl+" (id UInt32, name String) ENGINE = MergeTree ORDER BY id"))
	batch, err := w.PrepareBatch(ctx, "INSERT INTO "+tbl)
	require.NoError(t, err)
	for i := range 100 {
		require.NoError(t, batch.Append(uint32(i), fmt.Sprintf("n%d", i)))
	}
	require.NoError(t, batch.Send())

	// The MCP server's settings: readonly=1 and a time limit below the agent's.
	for _, r := range []driver.Conn{open(viewer, nil), open(agent, clickhouse.Settings{"readonly": 1, "max_execution_time": 30})} {
		require.NoError(t, r.Ping(ctx))
		var n uint64
		require.NoError(t, r.QueryRow(ctx, "SELECT count() FROM "+tbl+" WHERE id < {n:UInt32}", clickhouse.Named("n", uint32(10))).Scan(&n))
		assert.Equal(t, uint64(10), n)
		b, err := r.PrepareBatch(ctx, "INSERT INTO "+tbl)
		if err == nil {
			require.NoError(t, b.Append(uint32(1000), "x"))
			err = b.Send()
		}
		var ex *clickhouse.Exception
		require.ErrorAs(t, err, &ex)
		assert.Equal(t, int32(164), ex.Code, ex.Message)
		ex = nil
		require.ErrorAs(t, r.Exec(ctx, "DROP TABLE "+tbl), &ex)
		assert.Equal(t, int32(164), ex.Code, ex.Message)
	}
	var n uint64
	require.NoError(t, w.QueryRow(ctx, "SELECT count() FROM "+tbl).Scan(&n))
	assert.Equal(t, uint64(100), n, "nothing but the admin's rows")
	require.NoError(t, w.Exec(ctx, "DROP TABLE "+tbl))
}

// FuzzGuardAgreesWithEngineParser: whatever the SQL, when the engine's own
// parser finds a call of file() in it (EXPLAIN AST of its canonical text),
// the HTTP interface does not run it; and nothing the viewer runs answers
// with the content of a file outside the database.
func FuzzGuardAgreesWithEngineParser(f *testing.F) {
	canary := filepath.Join(f.TempDir(), "canary")
	const canaryText = "canary-7f3a9c-not-for-your-eyes"
	require.NoError(f, os.WriteFile(canary, []byte(canaryText), 0o600))
	for _, s := range []string{
		"SELECT file('CANARY')", "SELECT `file`('CANARY')", `SELECT "file"('CANARY')`, "SELECT/**/file/**/('CANARY')",
		"SELECT file ('CANARY')", "WITH file('CANARY') AS f SELECT f", "SELECT arrayMap(x -> file(x), ['CANARY'])",
		"SELECT * FROM view(SELECT file('CANARY') AS c)", "SELECT 1 WHERE file('CANARY') != ''", "SELECT file($$CANARY$$)",
		"SELECT file('CANARY') -- c", "SELECT 'file(' || 'x'", "SELECT arrayMap(file -> file, [1])", "SELECT FILE('CANARY')",
		"SELECT * FROM file('CANARY', 'LineAsString')", "SELECT file('CANARY', 'fallback')", "SELECT file(concat('CAN', 'ARY'))",
		"SELECT * FROM (SELECT file('CANARY')) SETTINGS max_threads = 1", "SELECT file('CANARY') FORMAT JSON",
		"EXPLAIN SYNTAX SELECT file('CANARY')", "DESCRIBE (SELECT file('CANARY'))", "SELECT 1 UNION ALL SELECT length(file('CANARY'))",
	} {
		f.Add(s)
	}
	eng := chdbtest.Engine(f)
	f.Fuzz(func(t *testing.T, sql string) {
		sql = strings.ReplaceAll(sql, "CANARY", canary)
		c, err := eng.NewConn(nil)
		require.NoError(t, err)
		defer c.Close()
		res, err := c.Query("SELECT formatQuerySingleLine({q:String})", "TabSeparatedRaw",
			chdb.Param{Name: "q", Value: strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`).Replace(sql)})
		hasFile := false
		if err == nil {
			canon := strings.TrimSuffix(string(res.Data), "\n")
			if ast, err := c.Query("EXPLAIN AST "+canon, "TabSeparatedRaw"); err == nil {
				for _, line := range strings.Split(string(ast.Data), "\n") {
					line = strings.TrimSpace(line)
					if line == "Function file" || strings.HasPrefix(line, "Function file ") {
						hasFile = true
					}
				}
			}
		}
		resp, body := as(t, viewer, http.MethodPost, sql, nil, nil)
		if hasFile {
			assert.NotEqual(t, http.StatusOK, resp.StatusCode, "the engine's parser sees file() in %q, and it ran: %.300s", sql, body)
		}
		assert.NotContains(t, body, canaryText, "%q read a file", sql)
	})
}

// The check renders the statement, not its data: an INSERT … VALUES with
// more data than max_query_size passes it as it passes the engine.
func TestLargeValuesInsertPassesTheCheck(t *testing.T) {
	tbl := tableName("vet_values")
	res, body := as(t, admin, http.MethodPost, "CREATE TABLE "+tbl+" (s String) ENGINE = Memory", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	var sb strings.Builder
	sb.WriteString("INSERT INTO " + tbl + " VALUES ")
	for i := range 20000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "('row %d file(x) INTO OUTFILE %d')", i, i)
	}
	require.Greater(t, sb.Len(), 512<<10)
	res, body = as(t, admin, http.MethodPost, sb.String(), nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	res, body = as(t, admin, http.MethodPost, "SELECT count() FROM "+tbl, nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Equal(t, "20000\n", body)
}
