package mcp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// store is the server's one connection pool to ClickHouse. Every statement
// it sends carries readonly=1 and max_execution_time: ClickHouse itself
// refuses writes, DDL, SYSTEM, setting changes and table functions, and
// stops long queries. Nothing in this package inspects SQL text to decide
// what is allowed.
type store struct {
	conn   driver.Conn
	cfg    ClickHouseConfig
	limits Limits
	// secrets are scrubbed from every message that leaves the server.
	secrets []string
}

func openStore(cfg ClickHouseConfig, limits Limits) (*store, error) {
	opts := &clickhouse.Options{
		Addr:     []string{cfg.Addr()},
		Protocol: clickhouse.HTTP,
		Auth:     clickhouse.Auth{Database: cfg.Database},
		// Credentials go in headers, never in a URL that could end up in an
		// error message.
		HttpHeaders: map[string]string{"X-ClickHouse-User": cfg.User, "X-ClickHouse-Key": cfg.Password},
		Settings: clickhouse.Settings{
			"readonly":           1,
			"max_execution_time": int(limits.MaxExecutionTime.Seconds()),
		},
		Compression:     &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		DialTimeout:     cfg.ConnectTimeout,
		ReadTimeout:     limits.MaxExecutionTime + 30*time.Second,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: 10 * time.Minute,
	}
	if cfg.Secure {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: !cfg.Verify} //nolint:gosec // CLICKHOUSE_VERIFY=false is the user's explicit choice
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse at %s: %w", cfg.Addr(), err)
	}
	s := &store{conn: conn, cfg: cfg, limits: limits}
	if cfg.Password != "" {
		s.secrets = append(s.secrets, cfg.Password)
	}
	return s, nil
}

func (s *store) close() error { return s.conn.Close() }

// params are ClickHouse query parameters ({name:Type} placeholders), bound
// by the server: values are data, never SQL.
type params map[string]string

func (p params) str(name, v string) params {
	p[name] = paramEscaper.Replace(v)
	return p
}

func (p params) time(name string, t time.Time) params {
	p[name] = timeParam(t)
	return p
}

func (p params) int(name string, v int) params {
	p[name] = strconv.Itoa(v)
	return p
}

func (p params) float(name string, v float64) params {
	p[name] = strconv.FormatFloat(v, 'g', -1, 64)
	return p
}

func (p params) vector(name string, v []float32) params {
	p[name] = vectorParam(v)
	return p
}

func (p params) strings(name string, vs []string) params {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteArrayString(v))
	}
	b.WriteByte(']')
	p[name] = paramEscaper.Replace(b.String())
	return p
}

// paramEscaper escapes a parameter value the way ClickHouse reads it (the
// escaped text format): a backslash, tab or newline in a value stays data.
var paramEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

func quoteArrayString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// timeParam is a Unix timestamp with nanoseconds: DateTime64 parameters
// read it the same whatever the server's time zone.
func timeParam(t time.Time) string {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < 0 {
		sec, nsec = 0, 0
	}
	return fmt.Sprintf("%d.%09d", sec, nsec)
}

func vectorParam(v []float32) string {
	b := make([]byte, 0, len(v)*10+2)
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return string(append(b, ']'))
}

func (s *store) ctx(ctx context.Context, p params, settings clickhouse.Settings) context.Context {
	var opts []clickhouse.QueryOption
	if len(p) > 0 {
		opts = append(opts, clickhouse.WithParameters(clickhouse.Parameters(p)))
	}
	if len(settings) > 0 {
		opts = append(opts, clickhouse.WithSettings(settings))
	}
	return clickhouse.Context(ctx, opts...)
}

// selectInto runs a query and scans every row into dest, a pointer to a
// slice of structs with `ch` tags.
func (s *store) selectInto(ctx context.Context, dest any, sql string, p params) error {
	if err := s.conn.Select(s.ctx(ctx, p, nil), dest, sql); err != nil {
		return s.explain(err)
	}
	return nil
}

// query runs a query whose rows the caller reads.
func (s *store) query(ctx context.Context, sql string, p params, settings clickhouse.Settings) (driver.Rows, error) {
	rows, err := s.conn.Query(s.ctx(ctx, p, settings), sql)
	if err != nil {
		return nil, s.explain(err)
	}
	return rows, nil
}

// tableExists reports whether the configured database holds table.
func (s *store) tableExists(ctx context.Context, table string) (bool, error) {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	err := s.selectInto(ctx, &rows, "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = {t:String}",
		params{}.str("db", s.cfg.Database).str("t", table))
	if err != nil {
		return false, err
	}
	return len(rows) == 1 && rows[0].N > 0, nil
}

// toolError is an error written for the model: what went wrong and what to
// do next.
type toolError struct {
	msg  string
	code int // ClickHouse's error code, when it answered with one
}

func (e *toolError) Error() string { return e.msg }

func userErrorf(format string, args ...any) *toolError {
	return &toolError{msg: fmt.Sprintf(format, args...)}
}

var (
	exceptionRe = regexp.MustCompile(`code: (\d+), message: ([\s\S]*)`)
	userinfoRe  = regexp.MustCompile(`(?i)([a-z][a-z0-9+.-]*://)[^/@\s]*@`)
	versionRe   = regexp.MustCompile(`\s*\(version [0-9.]+[^)]*\)\s*$`)
)

// ClickHouse error codes the server turns into advice.
const (
	codeUnknownIdentifier = 47
	codeUnknownTable      = 60
	codeSyntaxError       = 62
	codeUnknownDatabase   = 81
	codeTimeoutExceeded   = 159
	codeTooSlow           = 160
	codeReadonly          = 164
	codeMemoryLimit       = 241
	codeTooManyRows       = 158
	codeTooManyBytes      = 307
	codeTooManyRowsBytes  = 396
	codeAccessDenied      = 497
	codeAuthFailed        = 516
)

// explain turns a driver error into a toolError a model can act on, with
// credentials scrubbed.
func (s *store) explain(err error) error {
	if err == nil {
		return nil
	}
	var te *toolError
	if errors.As(err, &te) {
		return err
	}
	limit := s.limits.MaxExecutionTime
	if errors.Is(err, context.DeadlineExceeded) {
		return userErrorf("the query did not finish within the time limit (%s) and was cancelled: narrow the time window, filter on Timestamp and ServiceName, add a LIMIT, or check the cost first with estimate_query", limit)
	}
	if errors.Is(err, context.Canceled) {
		return userErrorf("the request was cancelled before ClickHouse answered")
	}
	msg := s.scrub(err.Error())
	if m := exceptionRe.FindStringSubmatch(msg); m != nil {
		code, _ := strconv.Atoi(m[1])
		text := strings.TrimSpace(versionRe.ReplaceAllString(strings.TrimSpace(m[2]), ""))
		err := s.explainCode(code, text)
		err.code = code
		return err
	}
	var nerr net.Error
	if errors.As(err, &nerr) || strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such host") {
		return userErrorf("cannot reach ClickHouse at %s: is the collector with the chdb extension (make run) or the ClickHouse server running? Check CLICKHOUSE_HOST, CLICKHOUSE_PORT and CLICKHOUSE_SECURE", s.cfg.Addr())
	}
	return userErrorf("query failed: %s", msg)
}

func (s *store) explainCode(code int, text string) *toolError {
	limit := s.limits.MaxExecutionTime
	switch code {
	case codeTimeoutExceeded, codeTooSlow:
		return userErrorf("ClickHouse stopped the query at the time limit (max_execution_time=%s): %s. Narrow the time window (WHERE Timestamp >= now() - INTERVAL 15 MINUTE), filter on the sorting key (ServiceName, Timestamp), aggregate instead of listing rows, add a LIMIT, or check the cost first with estimate_query", limit, text)
	case codeReadonly:
		return userErrorf("refused by ClickHouse: this server is read-only (readonly=1) — only SELECT, WITH, SHOW, DESCRIBE, EXPLAIN and EXISTS run, settings cannot be changed, and table functions that reach files, URLs or programs are refused. ClickHouse said: %s", text)
	case codeSyntaxError:
		return userErrorf("ClickHouse could not parse the SQL: %s. Send exactly one statement per call, without a trailing semicolon list", text)
	case codeUnknownTable, codeUnknownDatabase:
		return userErrorf("%s. Call list_tables to see the tables of database %s (the default database of every query)", text, s.cfg.Database)
	case codeUnknownIdentifier:
		return userErrorf("%s. Call describe_table to see the table's columns", text)
	case codeMemoryLimit:
		return userErrorf("ClickHouse ran out of memory for this query: %s. Aggregate over a narrower time window, group by fewer keys, or add a LIMIT", text)
	case codeTooManyRows, codeTooManyBytes, codeTooManyRowsBytes:
		return userErrorf("the query touches more data than allowed: %s. Narrow the time window or add filters", text)
	case codeAuthFailed:
		return userErrorf("ClickHouse refused the configured credentials: check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD of this MCP server")
	case codeAccessDenied:
		return userErrorf("ClickHouse denied access: %s. The configured user lacks a grant; query another table or ask the operator", text)
	default:
		return userErrorf("ClickHouse error %d: %s", code, text)
	}
}

func (s *store) scrub(msg string) string {
	for _, sec := range s.secrets {
		msg = strings.ReplaceAll(msg, sec, "***")
	}
	return userinfoRe.ReplaceAllString(msg, "$1")
}
