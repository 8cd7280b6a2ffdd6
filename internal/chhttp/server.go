// Package chhttp serves ClickHouse's HTTP interface over the embedded engine,
// so that unmodified ClickHouse clients (clickhouse-go's HTTP transport,
// @clickhouse/client(-web) as HyperDX uses it, clickhouse-connect, curl)
// work against it as against a ClickHouse server.
package chhttp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// Config configures the HTTP interface.
type Config struct {
	// Users are the users and their roles (see access.go). Empty means one
	// admin "default" with an empty password, as a fresh ClickHouse server has.
	Users map[string]User
	// AllowedOrigins are the web origins whose pages may call the interface
	// (CORS); a request from any other origin is refused.
	AllowedOrigins []string
	// MaxBodyBytes bounds a request body, on the wire and decompressed.
	MaxBodyBytes int64
	// MaxConns bounds statements running at once (each on its own engine
	// connection).
	MaxConns int
	// DefaultDatabase is used when a request names none.
	DefaultDatabase string
}

// Server is an http.Handler speaking ClickHouse's HTTP protocol.
type Server struct {
	cfg         Config
	engine      *chdb.Engine
	pool        *connPool
	sessions    sessionTable
	timezone    string
	version     string
	displayName string
	queries     atomic.Uint64
	failures    atomic.Uint64
	vetted      vetCache
	memoryCap   string // the engine's per-query max_memory_usage

	killMu   sync.Mutex
	killConn *chdb.Conn // runs KILL QUERY for requests whose client went away
}

// defaultResponseBuffer is how much output ClickHouse buffers before it
// sends the status (DBMS_DEFAULT_BUFFER_SIZE); buffer_size or
// http_response_buffer_size change it.
const defaultResponseBuffer = 1 << 20

// maxQueryHead is how much of a body is read to find the statement in it
// before the rest is streamed as INSERT data.
const maxQueryHead = 1 << 20

// New creates a server over an open engine.
func New(e *chdb.Engine, cfg Config) (*Server, error) {
	if len(cfg.Users) == 0 {
		cfg.Users = map[string]User{"default": {Role: RoleAdmin}}
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 256 << 20
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	if cfg.DefaultDatabase == "" {
		cfg.DefaultDatabase = "default"
	}
	s := &Server{cfg: cfg, engine: e, pool: newConnPool(e, cfg.MaxConns)}
	r, err := e.Query(context.Background(), "SELECT timezone(), version(), displayName()", "TabSeparated")
	if err != nil {
		return nil, fmt.Errorf("read engine identity: %w", err)
	}
	parts := strings.Split(strings.TrimRight(string(r.Data), "\n"), "\t")
	if len(parts) == 3 {
		s.timezone, s.version, s.displayName = parts[0], parts[1], parts[2]
	}
	if r, err := e.Query(context.Background(), "SELECT getSetting('max_memory_usage')", "TabSeparatedRaw"); err == nil {
		if v := strings.TrimSpace(string(r.Data)); v != "0" {
			s.memoryCap = v
		}
	}
	return s, nil
}

// Close releases the engine connections the server holds.
func (s *Server) Close() {
	s.pool.close()
	s.sessions.closeAll()
	s.killMu.Lock()
	defer s.killMu.Unlock()
	if s.killConn != nil {
		s.killConn.Close()
		s.killConn = nil
	}
}

// Stats returns how many queries were served and how many failed.
func (s *Server) Stats() (queries, failures uint64) { return s.queries.Load(), s.failures.Load() }

// httpError is an error answered before any output was sent.
type httpError struct {
	status int
	code   int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func newHTTPError(code int, format string, args ...any) *httpError {
	return &httpError{status: statusForCode(code), code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements http.Handler. After an exception in the middle of a
// started answer it panics with http.ErrAbortHandler, so that net/http
// closes the connection without ending the body: middleware around it must
// let that panic through.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.allowOrigin(w, r) {
		return
	}
	switch r.URL.Path {
	case "/ping", "/replicas_status":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
			_, _ = io.WriteString(w, "Ok.\n")
			return
		}
	case "/":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			if !r.URL.Query().Has("query") {
				w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
				_, _ = io.WriteString(w, "Ok.\n")
				return
			}
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost && r.Method != http.MethodHead {
		s.writeError(w, nil, newHTTPError(chdb.CodeBadArguments, "HTTP method %s is not supported: use GET or POST", r.Method))
		return
	}
	s.queries.Add(1)
	err := s.serveQuery(w, r)
	switch {
	case err == nil:
	case errors.Is(err, errAbortResponse):
		// Closes the connection without ending the chunked body, as
		// ClickHouse does after a mid-stream exception.
		panic(http.ErrAbortHandler)
	default:
		s.failures.Add(1)
		s.writeError(w, r, err)
	}
}

// request is a parsed query request.
type request struct {
	user, password string
	role           Role
	database       string
	queryParam     string
	queryID        string
	defaultFormat  string
	settings       []setting
	params         []chdb.Param
	compress       bool // compress=1: answer in ClickHouse's compressed block framing
	decompress     bool // decompress=1: the body is in that framing
	httpCompress   bool // enable_http_compression=1: Content-Encoding on the answer
	waitEnd        bool
	bufferSize     int // output held back before the status is sent
	protocolRev    uint64
	networkMethod  string
	acceptEncoding string
	body           io.Reader
	sessionID      string
	sessionTimeout time.Duration
	sessionCheck   bool
	// send_progress_in_http_headers=1: X-ClickHouse-Progress headers, at
	// most one per progressInterval.
	sendProgress     bool
	progressInterval time.Duration
}

// paramsNotSettings are URL parameters the HTTP layer consumes itself.
var paramsNotSettings = map[string]bool{
	"query": true, "database": true, "default_format": true, "query_id": true, "user": true, "password": true,
	"compress": true, "decompress": true, "session_id": true, "session_timeout": true, "session_check": true,
	"client_protocol_version": true, "quota_key": true, "buffer_size": true, "wait_end_of_query": true,
	"stacktrace": true, "role": true, "default_database": true, "query_kind": true,
}

// settingsHandledHere are settings the HTTP layer applies itself, and
// settings that cannot work in-process (asynchronous inserts need a server's
// background flush; inserts here are synchronous and durable on return).
var settingsHandledHere = map[string]bool{
	"enable_http_compression": true, "http_zlib_compression_level": true, "send_progress_in_http_headers": true,
	"http_headers_progress_interval_ms": true, "add_http_cors_header": true, "network_compression_method": true,
	"network_zstd_compression_level": true, "http_response_buffer_size": true, "http_wait_end_of_query": true,
	"async_insert": true, "wait_for_async_insert": true, "wait_for_async_insert_timeout": true,
	"async_insert_deduplicate": true, "async_insert_busy_timeout_ms": true, "async_insert_max_data_size": true,
	"async_insert_use_adaptive_busy_timeout": true, "async_insert_busy_timeout_max_ms": true,
	"async_insert_busy_timeout_min_ms": true, "async_insert_max_query_number": true,
	"http_max_field_value_size": true, "http_max_field_name_size": true, "http_max_fields": true,
	"http_max_uri_size": true, "http_max_request_param_data_size": true, "http_receive_timeout": true,
	"http_send_timeout": true, "http_connection_timeout": true, "http_native_compression_disable_checksumming_on_decompress": true,
	"cancel_http_readonly_queries_on_client_close": true, "http_make_head_request": true,
}

func (s *Server) parseRequest(w http.ResponseWriter, r *http.Request) (*request, error) {
	q := r.URL.Query()
	req := &request{database: s.cfg.DefaultDatabase, bufferSize: defaultResponseBuffer}
	body := io.Reader(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))

	// A multipart body carries the query and parameters as form fields
	// (@clickhouse/client does this when they are too long for a URL).
	if ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err == nil && strings.HasPrefix(ct, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, bodyError(err, "read multipart body")
			}
			name := part.FormName()
			v, err := io.ReadAll(part)
			if err != nil {
				return nil, bodyError(err, "read multipart field "+name)
			}
			if part.FileName() != "" {
				return nil, newHTTPError(chdb.CodeNotImplemented, "external tables (multipart file %q) are not supported by the embedded engine's HTTP interface", part.FileName())
			}
			q.Add(name, string(v))
		}
		body = strings.NewReader("")
	}

	for name, values := range q {
		v := values[len(values)-1]
		switch {
		case name == "query":
			req.queryParam = v
		case name == "database":
			if v != "" {
				req.database = v
			}
		case name == "default_format":
			req.defaultFormat = v
		case name == "query_id":
			req.queryID = v
		case name == "user":
			req.user = v
		case name == "password":
			req.password = v
		case name == "compress":
			req.compress = v == "1"
		case name == "decompress":
			req.decompress = v == "1"
		case name == "wait_end_of_query":
			req.waitEnd = v == "1"
		case name == "buffer_size", name == "http_response_buffer_size":
			if n, err := strconv.ParseUint(v, 10, 31); err == nil {
				req.bufferSize = int(n)
			}
		case name == "client_protocol_version":
			rev, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, newHTTPError(chdb.CodeBadArguments, "client_protocol_version must be a number, got %q", v)
			}
			req.protocolRev = rev
		case name == "session_id", name == "session_timeout", name == "session_check":
			if err := sessionParams(req, name, v); err != nil {
				return nil, err
			}
		case strings.HasPrefix(name, "param_"):
			req.params = append(req.params, chdb.Param{Name: strings.TrimPrefix(name, "param_"), Value: v})
		case paramsNotSettings[name]:
		case name == "enable_http_compression":
			req.httpCompress = v == "1"
		case name == "send_progress_in_http_headers":
			req.sendProgress = v == "1"
		case name == "http_headers_progress_interval_ms":
			if n, err := strconv.ParseUint(v, 10, 31); err == nil {
				req.progressInterval = time.Duration(n) * time.Millisecond
			}
		case name == "network_compression_method":
			req.networkMethod = strings.ToUpper(v)
		case settingsHandledHere[name]:
		case strings.HasSuffix(name, "_structure"):
			// <table>_structure describes an external table.
			return nil, newHTTPError(chdb.CodeNotImplemented, "external tables (%s) are not supported by the embedded engine's HTTP interface", name)
		default:
			req.settings = append(req.settings, setting{name, v})
		}
	}
	if r.Method != http.MethodPost {
		// As ClickHouse does: only POST may modify data. readonly=2 is set
		// first, and then a request asking for readonly=0 changes a setting
		// that readonly=2 protects.
		i := slices.IndexFunc(req.settings, func(s setting) bool { return s.name == "readonly" })
		switch {
		case i < 0:
			req.settings = append(req.settings, setting{"readonly", "2"})
		case strings.TrimSpace(req.settings[i].value) == "0":
			return nil, newHTTPError(chdb.CodeReadonly, "Cannot modify 'readonly' setting in readonly mode")
		}
	}
	sortSettings(req.settings)

	// Credentials: basic auth, then ClickHouse's headers, then URL params.
	if u, p, ok := r.BasicAuth(); ok {
		req.user, req.password = u, p
	}
	if u := r.Header.Get("X-ClickHouse-User"); u != "" {
		req.user = u
		req.password = r.Header.Get("X-ClickHouse-Key")
	}
	if req.user == "" {
		req.user = "default"
	}
	if db := r.Header.Get("X-ClickHouse-Database"); db != "" && !q.Has("database") {
		req.database = db
	}
	req.acceptEncoding = r.Header.Get("Accept-Encoding")
	if f := r.Header.Get("X-ClickHouse-Format"); f != "" && req.defaultFormat == "" {
		req.defaultFormat = f
	}

	body, err := decodeContentEncoding(r.Header.Get("Content-Encoding"), body)
	if err != nil {
		return nil, err
	}
	if req.decompress {
		body = newBlockReader(body, s.cfg.MaxBodyBytes)
	}
	req.body = &limitedReader{r: body, n: s.cfg.MaxBodyBytes}
	return req, nil
}

func (s *Server) authenticate(req *request) error {
	u, ok := s.cfg.Users[req.user]
	if !ok || subtle.ConstantTimeCompare([]byte(u.Password), []byte(req.password)) != 1 {
		return newHTTPError(chdb.CodeAuthenticationFail, "%s: Authentication failed: password is incorrect, or there is no user with such name", req.user)
	}
	return nil
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) (err error) {
	req, err := s.parseRequest(w, r)
	if err != nil {
		return err
	}
	if req.queryID == "" {
		req.queryID = newQueryID()
	}
	// Set now so that error answers carry it too, as ClickHouse's do.
	w.Header().Set("X-ClickHouse-Query-Id", req.queryID)
	defer func() { err = asUser(err, req.user) }()
	if err := s.authenticate(req); err != nil {
		return err
	}
	if err := s.authorize(req, r.Method); err != nil {
		return err
	}

	// The statement is the query parameter followed by the body, as in
	// ClickHouse; for INSERT … FORMAT the rest of the body is its data.
	in := req.body
	if req.queryParam != "" {
		in = io.MultiReader(strings.NewReader(req.queryParam+"\n"), req.body)
	}
	head, err := readHead(in)
	if err != nil {
		return err
	}
	st := scanStatement(string(head))
	if len(strings.TrimSpace(string(head))) == 0 {
		return newHTTPError(chdb.CodeSyntaxError, "Empty query")
	}
	if err := st.refuse(string(head)); err != nil {
		return err
	}

	ctx := r.Context()
	var (
		conn    *pooledConn
		release func(broken bool)
		broken  bool
		err2    error
	)
	if req.sessionID != "" && r.Method != http.MethodPost {
		return newHTTPError(chdb.CodeNotImplemented, "sessions (session_id) need POST on the embedded engine's HTTP interface")
	}
	if req.sessionID != "" {
		// In a session, SET, USE and temporary tables are meant to last.
		conn, release, err2 = s.leaseSession(ctx, req)
	} else {
		var key string
		conn, key, err2 = s.pool.acquire(ctx, req.settings)
		release = func(broken bool) { s.pool.release(conn, key, broken) }
		// A statement that changes the session (SET, USE, temporary tables)
		// would change every later request on this connection: in ClickHouse
		// it lasts for its own request only. The connection is dropped after it.
		broken = st.changesSession()
	}
	if err2 != nil {
		if ctx.Err() != nil {
			return newHTTPError(chdb.CodeQueryWasCancelled, "client went away while waiting for an engine connection")
		}
		return err2
	}
	defer func() { release(broken) }()
	// The engine cannot see the request's context: a statement blocked
	// inside it (computing, or waiting for the next chunk) only notices a
	// client that went away if it is killed, from another connection. A
	// client may go away before the statement has started (while it is
	// checked, or before the engine lists it): a KILL then finds nothing,
	// so it is repeated, ever more slowly, until the statement has returned.
	if conn.tag != "" {
		killed := make(chan struct{})
		finished := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(killed)
			for delay := 20 * time.Millisecond; ; delay = min(2*delay, time.Second) {
				s.killStatement(conn.tag)
				select {
				case <-finished:
					return
				case <-time.After(delay):
				}
			}
		})
		defer func() {
			close(finished)
			if !stop() {
				// Wait for the kill, so it cannot hit the connection's next statement.
				<-killed
				broken = true
			}
		}()
	}
	if err := useDatabase(conn.Conn, req.database); err != nil {
		return err
	}

	if st.keyword == "INSERT" && st.dataAt >= 0 {
		if err := s.vet(conn.Conn, req, string(head[:st.dataAt])); err != nil {
			return err
		}
		data := io.MultiReader(bytes.NewReader(head[st.dataAt:]), in)
		return s.streamInsert(ctx, w, req, conn.Conn, string(head[:st.formatAt]), st.format, data, &broken)
	}

	rest, err := io.ReadAll(in)
	if err != nil {
		return bodyError(err, "read query")
	}
	sqlBytes := append(head, rest...)
	if len(rest) > 0 {
		st = scanStatement(string(sqlBytes))
		if err := st.refuse(string(sqlBytes)); err != nil {
			return err
		}
	}
	if err := s.vet(conn.Conn, req, string(sqlBytes)); err != nil {
		return err
	}
	format := st.format
	if format == "" {
		format = req.defaultFormat
	}
	if format == "" {
		format = "TabSeparated"
	}
	return s.streamQuery(ctx, w, req, conn.Conn, string(sqlBytes), st, format, &broken)
}

// killStatement cancels the statement running on the connection tagged tag.
// KILL … ASYNC only flags the statement: it returns at once, and the
// statement's own connection sees the cancellation at its next check.
func (s *Server) killStatement(tag string) {
	s.control("KILL QUERY WHERE Settings['log_comment'] = " + quoteString(tag) + " ASYNC")
}

func (s *Server) streamInsert(ctx context.Context, w http.ResponseWriter, req *request, conn *chdb.Conn, sql, format string, data io.Reader, broken *bool) error {
	ins, err := conn.Insert(sql, format, req.params...)
	if err != nil {
		return err
	}
	buf := make([]byte, 256<<10)
	for {
		n, rerr := data.Read(buf)
		if n > 0 {
			if err := ins.Append(buf[:n]); err != nil {
				ins.Cancel()
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			ins.Cancel()
			if ctx.Err() != nil {
				*broken = true
			}
			return bodyError(rerr, "read INSERT data")
		}
	}
	stats, err := ins.Done()
	if err != nil {
		return err
	}
	// An INSERT's result is what it wrote, as ClickHouse reports it.
	stats.ResultRows, stats.ResultBytes = stats.RowsWritten, stats.BytesWritten
	s.writeHeaders(w, req, "", stats)
	w.WriteHeader(http.StatusOK)
	return nil
}

// errAbortResponse asks ServeHTTP to break the response off: an exception
// was written into a response that had already started.
var errAbortResponse = errors.New("response aborted after a mid-stream exception")

func (s *Server) streamQuery(ctx context.Context, w http.ResponseWriter, req *request, conn *chdb.Conn, sql string, st statement, format string, broken *bool) error {
	hasOutput := producesOutput(st.keyword)
	var (
		src      chunkSource
		progress *progressHeaders
	)
	if hasOutput && st.redirectable() {
		// One result per statement, in any format (formats.go).
		o, err := s.startOutput(conn, sql, st, format, req.params)
		if err != nil {
			return err
		}
		defer o.Close()
		src = o
		if req.sendProgress {
			progress = s.startProgressHeaders(o.marker(), req.progressInterval)
			defer progress.finish(nil)
		}
	} else {
		// DDL and the like have little or no output; run them whole.
		res, err := conn.Query(sql, format, req.params...)
		if err != nil {
			return err
		}
		src = &wholeResult{res: res}
	}

	// As ClickHouse does, hold the output back until it fills the response
	// buffer (wait_end_of_query=1: until the statement ends): until the
	// status is sent, a failure is still answered as an HTTP error.
	held := &heldOutput{memLimit: maxHeldInMemory}
	defer held.close()
	var (
		chunk []byte
		err   error
	)
	for {
		if chunk, err = src.Next(); err != nil {
			if ctx.Err() != nil {
				*broken = true
			}
			return err
		}
		if chunk == nil {
			break
		}
		if !req.waitEnd && held.size+len(chunk) >= req.bufferSize {
			// The buffer is full: the status goes now, then what is held,
			// then this chunk (a block of a Native result can be larger
			// than the buffer: it is not copied).
			break
		}
		if err := held.write(chunk); err != nil {
			return err
		}
		if ctx.Err() != nil {
			*broken = true
			return newHTTPError(chdb.CodeQueryWasCancelled, "the client went away")
		}
	}
	progress.finish(w.Header())
	if chunk == nil && held.size == 0 && !hasOutput {
		s.writeHeaders(w, req, "", src.Stats())
		w.WriteHeader(http.StatusOK)
		return nil
	}

	tag := newExceptionTag()
	w.Header().Set("X-ClickHouse-Exception-Tag", tag)
	s.writeHeaders(w, req, format, src.Stats())
	out := newOutput(w, req, format)
	out.version = s.version
	w.WriteHeader(http.StatusOK)
	// fail ends a started answer: with the exception while the client is
	// there to read it, silently when it is gone.
	fail := func(err error) error {
		if ctx.Err() != nil {
			out.abort(err)
			*broken = true
			return nil
		}
		out.midStreamException(tag, err)
		s.failures.Add(1)
		return errAbortResponse
	}
	if err := held.writeTo(out); err != nil {
		return fail(err)
	}
	if len(chunk) > 0 {
		if _, err := out.Write(chunk); err != nil {
			return fail(err)
		}
	}
	for chunk != nil {
		if chunk, err = src.Next(); err != nil {
			return fail(err)
		}
		if len(chunk) > 0 {
			if _, err := out.Write(chunk); err != nil {
				return fail(err)
			}
		}
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
	}
	if err := out.close(); err != nil {
		return fail(err)
	}
	return nil
}

// maxHeldInMemory is how much held-back output stays in memory before the
// rest goes to a temporary file (wait_end_of_query=1 holds all of it).
const maxHeldInMemory = 16 << 20

// heldOutput keeps a statement's output until the answer's status is known.
type heldOutput struct {
	memLimit int
	mem      []byte
	file     *os.File
	size     int
}

func (h *heldOutput) write(p []byte) error {
	if h.file == nil && len(h.mem)+len(p) <= h.memLimit {
		h.mem = append(h.mem, p...)
		h.size += len(p)
		return nil
	}
	if h.file == nil {
		f, err := os.CreateTemp("", "chhttp-result-*")
		if err != nil {
			return fmt.Errorf("hold the result until the end of the query: %w", err)
		}
		// Unlinked at once: the file lives as long as it is open.
		_ = os.Remove(f.Name())
		h.file = f
		if _, err := f.Write(h.mem); err != nil {
			return fmt.Errorf("hold the result until the end of the query: %w", err)
		}
		h.mem = nil
	}
	if _, err := h.file.Write(p); err != nil {
		return fmt.Errorf("hold the result until the end of the query: %w", err)
	}
	h.size += len(p)
	return nil
}

func (h *heldOutput) writeTo(w io.Writer) error {
	if h.file == nil {
		if len(h.mem) == 0 {
			return nil
		}
		_, err := w.Write(h.mem)
		return err
	}
	if _, err := h.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, h.file)
	return err
}

func (h *heldOutput) close() {
	if h.file != nil {
		_ = h.file.Close()
	}
}

func (s *Server) writeHeaders(w http.ResponseWriter, req *request, format string, st chdb.Stats) {
	h := w.Header()
	h.Set("X-ClickHouse-Query-Id", req.queryID)
	h.Set("X-ClickHouse-Server-Display-Name", s.displayName)
	h.Set("X-ClickHouse-Timezone", s.timezone)
	if format != "" {
		h.Set("X-ClickHouse-Format", format)
		h.Set("Content-Type", contentType(format))
	} else {
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	}
	h.Set("X-ClickHouse-Summary", progress{Stats: st}.json())
	h.Set("Keep-Alive", "timeout=10")
}

func contentType(format string) string {
	f := strings.ToLower(format)
	switch {
	case strings.HasPrefix(f, "json"), strings.HasPrefix(f, "ndjson"):
		return "application/json; charset=UTF-8"
	case strings.HasPrefix(f, "tabseparated"), strings.HasPrefix(f, "tsv"):
		return "text/tab-separated-values; charset=UTF-8"
	case strings.HasPrefix(f, "csv"):
		return "text/csv; charset=UTF-8; header=absent"
	case f == "native", strings.HasPrefix(f, "rowbinary"), f == "parquet", f == "arrow", f == "arrowstream", f == "orc", f == "avro":
		return "application/octet-stream"
	default:
		return "text/plain; charset=UTF-8"
	}
}

// writeError answers an error raised before output started, as ClickHouse
// does: an HTTP status by exception code, the code in a header, and the
// message as the body.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, chdb.CodeUnknownException, err.Error()
	var he *httpError
	var ce *chdb.Error
	switch {
	case errors.As(err, &he):
		status, code = he.status, he.code
		if !strings.HasPrefix(msg, "Code: ") {
			msg = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, msg, codeName(code))
		}
	case errors.As(err, &ce):
		code, msg = ce.Code, ce.Message
		status = statusForCode(code)
	default:
		msg = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, msg, codeName(code))
	}
	if !strings.Contains(msg, "(version ") && s.version != "" {
		msg += " (version " + s.version + ")"
	}
	h := w.Header()
	h.Set("X-ClickHouse-Exception-Code", strconv.Itoa(code))
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Del("X-ClickHouse-Format")
	h.Del("X-ClickHouse-Exception-Tag")
	if h.Get("X-ClickHouse-Query-Id") == "" && r != nil {
		if id := r.URL.Query().Get("query_id"); id != "" {
			h.Set("X-ClickHouse-Query-Id", id)
		}
	}
	if h.Get("X-ClickHouse-Server-Display-Name") == "" {
		h.Set("X-ClickHouse-Server-Display-Name", s.displayName)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// statusForCode maps exception codes to HTTP statuses as ClickHouse's
// exceptionCodeToHTTPStatus (26.x) does; every other code is a 500.
func statusForCode(code int) int {
	switch code {
	case 194: // REQUIRED_PASSWORD
		return http.StatusUnauthorized
	case 192, 193, 516, 512, 497: // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE, ACCESS_DENIED
		return http.StatusForbidden
	case 36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53, 321:
		// BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP, the CANNOT_PARSE_* family,
		// DUPLICATE_COLUMN, ILLEGAL_COLUMN, UNKNOWN_ELEMENT_IN_AST,
		// UNKNOWN_TYPE_OF_AST_NODE, THERE_IS_NO_COLUMN, TOO_DEEP_AST,
		// TOO_BIG_AST, UNEXPECTED_AST_STRUCTURE, SYNTAX_ERROR,
		// INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
		return http.StatusBadRequest
	case 60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511, 372:
		// UNKNOWN_TABLE, _FUNCTION, _IDENTIFIER, _TYPE, _STORAGE, _DATABASE,
		// _SETTING, _DIRECTION_OF_SORTING, _AGGREGATE_FUNCTION, _FORMAT,
		// _DATABASE_ENGINE, _TYPE_OF_QUERY, _ROLE
		return http.StatusNotFound
	case 229: // QUERY_IS_TOO_LARGE
		return http.StatusRequestEntityTooLarge
	case 48: // NOT_IMPLEMENTED
		return http.StatusNotImplemented
	case 209, 76, 439: // SOCKET_TIMEOUT, CANNOT_OPEN_FILE, CANNOT_SCHEDULE_TASK
		return http.StatusServiceUnavailable
	case 381: // HTTP_LENGTH_REQUIRED
		return http.StatusLengthRequired
	case 159: // TIMEOUT_EXCEEDED
		return http.StatusRequestTimeout
	case 779: // UNSUPPORTED_MEDIA_TYPE
		return http.StatusUnsupportedMediaType
	}
	return http.StatusInternalServerError
}

// codeNames names the codes this package raises itself.
var codeNames = map[int]string{
	27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED", 36: "BAD_ARGUMENTS", 40: "CHECKSUM_DOESNT_MATCH", 48: "NOT_IMPLEMENTED",
	62: "SYNTAX_ERROR", 164: "READONLY", 210: "NETWORK_ERROR", 271: "CANNOT_DECOMPRESS", 307: "TOO_MANY_BYTES",
	354: "ZLIB_INFLATE_FAILED", 448: "BROTLI_READ_FAILED", 561: "ZSTD_DECODER_FAILED",
	394: "QUERY_WAS_CANCELLED", 516: "AUTHENTICATION_FAILED", 1002: "UNKNOWN_EXCEPTION",
	159: "TIMEOUT_EXCEEDED", 372: "SESSION_NOT_FOUND", 373: "SESSION_IS_LOCKED",
}

func codeName(code int) string {
	if n, ok := codeNames[code]; ok {
		return n
	}
	return "UNKNOWN_EXCEPTION"
}

func newQueryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newExceptionTag() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	var b [16]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:])
}

// readHead reads the beginning of the statement text: all of it when it is
// short, else enough to find where an INSERT's data starts (maxQueryHead).
func readHead(in io.Reader) ([]byte, error) {
	head := make([]byte, 0, 64<<10)
	for len(head) < maxQueryHead {
		if len(head) == cap(head) {
			head = append(head, make([]byte, len(head))...)[:len(head)]
		}
		n, err := in.Read(head[len(head):min(cap(head), maxQueryHead)])
		head = head[:len(head)+n]
		if errors.Is(err, io.EOF) {
			return head, nil
		}
		if err != nil {
			return nil, bodyError(err, "read request body")
		}
		if st := scanStatement(string(head)); st.dataAt >= 0 && st.dataAt < len(head) {
			return head, nil
		}
	}
	return head, nil
}

// bodyError classifies a failure reading the body.
func bodyError(err error, what string) error {
	var mbe *http.MaxBytesError
	var ce *checksumError
	var de *decodeError
	switch {
	case errors.As(err, &mbe), errors.Is(err, errBodyTooLarge):
		// ClickHouse has no such limit; 413 is what HTTP offers for it.
		e := newHTTPError(chdb.CodeTooLargeRequest, "%s: request body is larger than the limit (max_body_size); split the insert into smaller batches", what)
		e.status = http.StatusRequestEntityTooLarge
		return e
	case errors.As(err, &ce):
		return newHTTPError(chdb.CodeChecksumDoesntMatch, "%s: %v", what, err)
	case errors.As(err, &de):
		return newHTTPError(de.code, "%s: cannot decompress the request body: %v", what, de.err)
	}
	return newHTTPError(chdb.CodeNetworkError, "%s: %v", what, err)
}

var errBodyTooLarge = errors.New("decompressed request body is larger than the limit")

// limitedReader bounds the decompressed body, as MaxBytesReader bounds the
// body on the wire: a small compressed body must not expand without limit.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		// Allow a clean EOF right at the limit.
		var one [1]byte
		if n, err := l.r.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// chunkSource yields a statement's output piece by piece.
type chunkSource interface {
	Next() ([]byte, error)
	Stats() chdb.Stats
}

// wholeResult serves a non-streamed result as a single chunk.
type wholeResult struct {
	res  *chdb.Result
	done bool
}

func (w *wholeResult) Next() ([]byte, error) {
	if w.done || len(w.res.Data) == 0 {
		w.done = true
		return nil, nil
	}
	w.done = true
	return w.res.Data, nil
}

func (w *wholeResult) Stats() chdb.Stats { return w.res.Stats }
