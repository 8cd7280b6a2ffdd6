package chhttp

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// Who may do what through the HTTP interface.
//
// The embedded engine knows one user, and every connection is that user
// (chDB authenticates all of them alike), so the privileges that differ
// between the interface's users are applied here, per request, with
// ClickHouse's own mechanisms and answers:
//
//   - readonly: each user's level is set on the statement's connection, so
//     the engine itself refuses writes, DDL and setting changes
//     (READONLY, 164), as a ClickHouse server refuses them to a user whose
//     profile sets readonly;
//   - limits: settings a user may lower but not raise, as a settings
//     profile's constraints do (SETTING_CONSTRAINT_VIOLATION, 452); they
//     bound memory, time, rows and bytes;
//   - KILL QUERY needs a role that may kill (ACCESS_DENIED, 497): every
//     statement belongs to the engine's one user, so a viewer's or an
//     agent's KILL would reach other users' queries.
//
// What no user may do is enforced by the engine's own configuration (see
// internal/chdb's confine.go): no source grants (file, url, s3, remote …),
// a per-query and a server-wide memory cap, settings that name files fixed.
// What clickhouse-local does not check at all is refused by vet below.

// Role is a set of privileges of the HTTP interface's users.
type Role string

// The roles.
const (
	// RoleAdmin reads, writes and creates tables: the collector's exporters.
	RoleAdmin Role = "admin"
	// RoleViewer reads with readonly=2 (settings may change, data may not):
	// HyperDX and people.
	RoleViewer Role = "viewer"
	// RoleAgent reads with readonly=1 within its limits, which it may only
	// lower: the MCP server.
	RoleAgent Role = "agent"
)

// readonly is the role's readonly level.
func (r Role) readonly() int {
	switch r {
	case RoleViewer:
		return 2
	case RoleAgent:
		return 1
	}
	return 0
}

func (r Role) mayKill() bool { return r == RoleAdmin }

// Valid reports whether r names a role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleViewer || r == RoleAgent }

// User is a user of the HTTP interface.
type User struct {
	Password string
	Role     Role
	// Limits are settings the user's statements run with and may lower but
	// not raise or unset: max_memory_usage, max_execution_time,
	// max_result_rows, max_result_bytes, max_rows_to_read, max_bytes_to_read …
	Limits map[string]float64
}

// LimitSettings are the settings Limits may name: numbers whose 0 means
// unlimited.
var LimitSettings = []string{
	"max_memory_usage", "max_execution_time", "max_result_rows", "max_result_bytes",
	"max_rows_to_read", "max_bytes_to_read", "max_rows_to_group_by", "max_rows_to_sort",
	"max_bytes_to_sort", "max_rows_in_join", "max_bytes_in_join", "max_temporary_data_on_disk_size_for_query",
}

// DefaultAgentLimits are the agent role's limits when none are configured.
var DefaultAgentLimits = map[string]float64{
	"max_memory_usage":   2 << 30,
	"max_execution_time": 120,
	"max_result_rows":    1_000_000,
	"max_result_bytes":   256 << 20,
	"max_rows_to_read":   10_000_000_000,
	"max_bytes_to_read":  1 << 40,
}

// overflowModes may be changed by a readonly=1 user: they choose what
// happens at a limit (an error, or a cut result), not the limit.
var overflowModes = []string{"result_overflow_mode", "read_overflow_mode", "timeout_overflow_mode", "group_by_overflow_mode", "sort_overflow_mode", "join_overflow_mode"}

// authorize applies the user's role to the request's settings: its readonly
// level and its limits, refusing what a ClickHouse server would refuse to a
// user with that profile. A GET is read-only (readonly=2, see parseRequest)
// on top of the role's level.
func (s *Server) authorize(req *request, method string) error {
	u := s.cfg.Users[req.user]
	req.role = u.Role
	roleLevel := u.Role.readonly()
	level := roleLevel
	out := req.settings[:0:0]
	for _, st := range req.settings {
		switch {
		case st.name == "readonly":
			v, err := strconv.Atoi(strings.TrimSpace(st.value))
			if err != nil || v < 0 || v > 2 {
				if level == 0 {
					out = append(out, st) // the engine answers
					continue
				}
				return newHTTPError(chdb.CodeReadonly, "Cannot modify 'readonly' setting in readonly mode")
			}
			switch {
			case !weaker(v, level):
				level = v
			case method == http.MethodGet && v == 2:
				// The role's level is stricter than GET's.
			default:
				return newHTTPError(chdb.CodeReadonly, "Cannot modify 'readonly' setting in readonly mode")
			}
			continue
		case u.Limits[st.name] > 0:
			if err := checkLimit(st.name, st.value, u.Limits[st.name]); err != nil {
				return err
			}
		case roleLevel == 1 && !slices.Contains(overflowModes, st.name):
			return newHTTPError(chdb.CodeReadonly, "Cannot modify '%s' setting in readonly mode", st.name)
		}
		out = append(out, st)
	}
	for name, limit := range u.Limits {
		if limit > 0 && !hasSetting(out, name) {
			out = append(out, setting{name, strconv.FormatFloat(limit, 'f', -1, 64)})
		}
	}
	// Always named, so that a session never resets it (SET … = DEFAULT
	// would make it 0, unlimited, past the engine's constraint).
	if s.memoryCap != "" && !hasSetting(out, "max_memory_usage") {
		out = append(out, setting{"max_memory_usage", s.memoryCap})
	}
	if level != 0 {
		out = append(out, setting{"readonly", strconv.Itoa(level)})
	}
	sortSettings(out)
	req.settings = out
	return nil
}

// weaker reports whether readonly level v allows more than level: 0 allows
// most, then 2 (settings may change), then 1.
func weaker(v, level int) bool {
	rank := func(l int) int { return [...]int{0, 2, 1}[l] }
	return rank(v) < rank(level)
}

// checkLimit checks a value of a limited setting against its limit, with
// ClickHouse's words for a settings constraint.
func checkLimit(name, value string, limit float64) error {
	v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	switch {
	case err != nil || math.IsNaN(v) || math.IsInf(v, 0):
		return newHTTPError(codeSettingConstraintViolation, "Setting %s shouldn't be greater than %s", name, formatLimit(limit))
	case v < 1:
		return newHTTPError(codeSettingConstraintViolation, "Setting %s shouldn't be less than 1", name)
	case v > limit:
		return newHTTPError(codeSettingConstraintViolation, "Setting %s shouldn't be greater than %s", name, formatLimit(limit))
	}
	return nil
}

func formatLimit(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

const (
	codeSettingConstraintViolation = 452
	codeAccessDenied               = 497
	codeUnknownTypeOfQuery         = 78
	codeIntoOutfileNotAllowed      = 358
)

// accessDenied is ClickHouse's answer to a statement that needs a grant the
// user lacks.
func accessDenied(user, grant string) error {
	return newHTTPError(codeAccessDenied, "%s: Not enough privileges. To execute this query, it's necessary to have the grant %s", user, grant)
}

// vet refuses, before it runs, what the engine's local mode would let a
// statement do although a ClickHouse server (or the user's role) does not:
// several statements in one request, INTO OUTFILE, FROM INFILE, the file()
// function, custom disks, KILL without the grant, and limits lifted inside
// the statement (SETTINGS … = DEFAULT, or above the limit).
//
// The statement is parsed by the engine itself (formatQuerySingleLine, on
// the connection and with the settings the statement will run with), so
// the text checked is the engine's canonical rendering of the one statement
// the engine will run: no comments, no heredocs, keywords in capitals,
// identifiers unquoted where they can be. Only that rendering is scanned,
// token by token.
func (s *Server) vet(c *chdb.Conn, req *request, sql string) error {
	key := string(req.role) + "\x00" + req.user + "\x00" + sql
	if s.vetted.has(key) {
		return nil
	}
	res, err := c.Query(vetStatement, "TabSeparatedRaw", chdb.Param{Name: "q", Value: paramEscaper.Replace(sql)})
	if err != nil {
		var ce *chdb.Error
		if errors.As(err, &ce) {
			// The engine names the check's own statement as the scope of
			// the error (with the parameter already substituted): the
			// client is told about its own text only.
			msg := ce.Message
			if i := strings.LastIndex(msg, vetScope); i >= 0 {
				tail := ""
				if j := strings.LastIndex(msg, ". ("+ce.Name+")"); ce.Name != "" && j > i {
					tail = msg[j:]
				}
				msg = msg[:i] + tail
			}
			return &chdb.Error{Code: ce.Code, Name: ce.Name, Message: msg}
		}
		return err
	}
	canon := strings.TrimSuffix(string(res.Data), "\n")
	if err := s.vetCanonical(req, canon); err != nil {
		return err
	}
	if len(sql) <= maxVettedLen {
		s.vetted.add(key)
	}
	return nil
}

const (
	vetStatement = "SELECT formatQuerySingleLine({q:String})"
	vetScope     = ": In scope SELECT formatQuerySingleLine("
	maxVettedLen = 16 << 10
)

// paramEscaper writes a query parameter value in the escaped text form the
// engine reads parameters in.
var paramEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`, "\x00", `\0`)

// vetCanonical checks the engine's rendering of a statement.
func (s *Server) vetCanonical(req *request, canon string) error {
	toks := tokenize(canon)
	if len(toks) == 0 {
		return nil
	}
	kind := strings.ToUpper(toks[0].text)
	if kind == "KILL" && !req.role.mayKill() {
		return accessDenied(req.user, "KILL QUERY ON *.*")
	}
	limits := s.cfg.Users[req.user].Limits
	level := 0
	if i := slices.IndexFunc(req.settings, func(s setting) bool { return s.name == "readonly" }); i >= 0 {
		level, _ = strconv.Atoi(req.settings[i].value)
	}
	for i, t := range toks {
		next := func(k int) token {
			if i+k < len(toks) {
				return toks[i+k]
			}
			return token{}
		}
		switch {
		case t.ident() && next(1).is("("):
			switch t.name() {
			case "file":
				// clickhouse-local reads and writes any path with it; no
				// user holds the grants file() needs.
				if i > 0 && toks[i-1].keyword("FUNCTION") {
					return accessDenied(req.user, "WRITE ON FILE")
				}
				return accessDenied(req.user, "READ ON FILE")
			case "disk":
				// A disk defined in the statement reaches files or URLs.
				return accessDenied(req.user, "SOURCES ON *.*")
			}
		case t.keyword("INTO") && next(1).keyword("OUTFILE"):
			return newHTTPError(codeIntoOutfileNotAllowed, "INTO OUTFILE is not allowed")
		case t.keyword("FROM") && next(1).keyword("INFILE"):
			return newHTTPError(codeUnknownTypeOfQuery, "Query has infile and was send directly to server")
		case (t.keyword("SETTINGS") || (i == 0 && t.keyword("SET"))) && next(1).ident():
			if err := checkSettingsList(toks[i+1:], limits, level); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSettingsList checks `name = value, …` (a SET statement or a
// SETTINGS clause). The engine checks the values it is given against the
// readonly level and the constraints, but not `name = DEFAULT`, which it
// applies unchecked: DEFAULT would lift readonly, and reset the memory cap
// and the user's limits to 0, unlimited. So a reset is refused as the
// engine refuses other values. Values of the user's limits are checked too
// (the engine checks only the memory cap), except with readonly=1, where
// the engine refuses every change.
func checkSettingsList(toks []token, limits map[string]float64, level int) error {
	for len(toks) >= 3 && toks[0].ident() && toks[1].is("=") {
		name := toks[0].name()
		val := toks[2]
		n := 3
		if val.is("-") && len(toks) > 3 {
			val = token{text: "-" + toks[3].text}
			n = 4
		}
		limit, limited := limits[name]
		limited = limited && limit > 0
		switch {
		case val.keyword("DEFAULT") && (level == 1 || (level == 2 && name == "readonly")):
			return newHTTPError(chdb.CodeReadonly, "Cannot modify '%s' setting in readonly mode", name)
		case val.keyword("DEFAULT") && (limited || name == "max_memory_usage"):
			return newHTTPError(codeSettingConstraintViolation, "Setting %s shouldn't be less than 1", name)
		case limited && level != 1:
			if err := checkLimit(name, strings.Trim(val.text, "'"), limit); err != nil {
				return err
			}
		}
		toks = toks[n:]
		if len(toks) == 0 || !toks[0].is(",") {
			return nil
		}
		toks = toks[1:]
	}
	return nil
}

// token is a token of the engine's rendering of a statement.
type token struct {
	text   string
	quoted bool // a `quoted` or "quoted" identifier
}

func (t token) is(s string) bool { return !t.quoted && t.text == s }

func (t token) keyword(kw string) bool { return !t.quoted && strings.EqualFold(t.text, kw) }

func (t token) ident() bool {
	return t.quoted || (t.text != "" && isIdentStart(t.text[0]))
}

// name is the identifier's name, unquoted.
func (t token) name() string {
	if !t.quoted || len(t.text) < 2 {
		return t.text
	}
	q := t.text[0]
	inner := t.text[1 : len(t.text)-1]
	inner = strings.ReplaceAll(inner, string([]byte{q, q}), string(q))
	return strings.ReplaceAll(strings.ReplaceAll(inner, `\`+string(q), string(q)), `\\`, `\`)
}

// tokenize splits canonical SQL into identifiers, keywords, literals and
// punctuation. String literals are one token each; so are quoted
// identifiers.
func tokenize(sql string) []token {
	var out []token
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(sql, i)
			if j < 0 {
				j = len(sql)
			}
			out = append(out, token{text: sql[i:j], quoted: c != '\''})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(sql) && isIdentPart(sql[j]) {
				j++
			}
			out = append(out, token{text: sql[i:j]})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(sql) && (isIdentPart(sql[j]) || sql[j] == '.' ||
				((sql[j] == '+' || sql[j] == '-') && (sql[j-1] == 'e' || sql[j-1] == 'E'))) {
				j++
			}
			out = append(out, token{text: sql[i:j]})
			i = j
		default:
			out = append(out, token{text: sql[i : i+1]})
			i++
		}
	}
	return out
}

// vetCache remembers statements that passed vet, so a client sending the
// same statement again (an exporter's INSERT, a dashboard's query) is not
// parsed twice.
type vetCache struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

const maxVetCache = 4096

func (v *vetCache) has(key string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	_, ok := v.seen[key]
	return ok
}

func (v *vetCache) add(key string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen == nil || len(v.seen) >= maxVetCache {
		v.seen = make(map[string]struct{}, 64)
	}
	v.seen[key] = struct{}{}
}

// asUser names the request's user in the engine's messages, which name the
// engine's one user ("default: Not enough privileges …").
func asUser(err error, user string) error {
	var ce *chdb.Error
	if user == "default" || !errors.As(err, &ce) || !strings.Contains(ce.Message, engineUserPrefix) {
		return err
	}
	return &chdb.Error{Code: ce.Code, Name: ce.Name, Message: strings.Replace(ce.Message, engineUserPrefix, "DB::Exception: "+user+": ", 1)}
}

const engineUserPrefix = "DB::Exception: default: "

// Cross-origin requests. A page on another origin can make the browser send
// a request here (a form, or fetch with text/plain) even when it cannot read
// the answer, so a request naming an Origin that is not allowed is refused
// before anything runs, and answers name the allowed origin, never "*".

// allowOrigin answers a preflight and adds CORS headers for allowed
// origins; it returns false when it answered the request itself.
func (s *Server) allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return false
		}
		return true
	}
	if !slices.Contains(s.cfg.AllowedOrigins, origin) {
		s.writeError(w, r, newHTTPError(codeAccessDenied,
			"Origin %s is not allowed to call this ClickHouse: add it to the chdb extension's cors.allowed_origins", quoteOrigin(origin)))
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Allow-Headers", "origin, x-requested-with, x-clickhouse-format, x-clickhouse-user, x-clickhouse-key, x-clickhouse-database, Authorization, content-type, content-encoding, accept-encoding")
	h.Set("Access-Control-Allow-Methods", "POST, GET, OPTIONS")
	h.Set("Access-Control-Expose-Headers", "X-ClickHouse-Query-Id, X-ClickHouse-Summary, X-ClickHouse-Server-Display-Name, X-ClickHouse-Format, X-ClickHouse-Timezone, X-ClickHouse-Exception-Code, X-ClickHouse-Exception-Tag")
	h.Set("Access-Control-Max-Age", "86400")
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	return true
}

// quoteOrigin keeps a hostile Origin header from shaping the message.
func quoteOrigin(o string) string {
	if len(o) > 200 {
		o = o[:200]
	}
	return strconv.Quote(o)
}

func init() {
	codeNames[codeSettingConstraintViolation] = "SETTING_CONSTRAINT_VIOLATION"
	codeNames[codeAccessDenied] = "ACCESS_DENIED"
	codeNames[codeUnknownTypeOfQuery] = "UNKNOWN_TYPE_OF_QUERY"
	codeNames[codeIntoOutfileNotAllowed] = "INTO_OUTFILE_NOT_ALLOWED"
}
