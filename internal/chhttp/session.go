package chhttp

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// ClickHouse's HTTP sessions: requests that name the same session_id run on
// one engine connection, one at a time, so SET, USE and temporary tables
// last from one request to the next (clickhouse-connect opens one per
// client). A session ends session_timeout seconds after its last request.
// URL settings hold for their own request, as in ClickHouse; a SET of the
// same setting earlier in the session is reset to the default by them.
// Sessions need POST here (a GET is read-only, enforced by readonly=2, which
// cannot be lifted again on the session's connection).

const (
	codeSessionNotFound   = 372
	codeSessionIsLocked   = 373
	defaultSessionTimeout = 60 * time.Second
	maxSessionTimeout     = time.Hour // ClickHouse's max_session_timeout default
	maxSessions           = 256
)

type session struct {
	id      string
	conn    *pooledConn
	busy    sync.Mutex // held by the request running on the session
	applied []setting  // the URL settings of the last request, to undo at the next
	timeout time.Duration
	expires time.Time // guarded by sessionTable.mu
}

type sessionTable struct {
	mu sync.Mutex
	m  map[string]*session
}

// sessionParams reads session_id, session_timeout and session_check.
func sessionParams(req *request, name, v string) error {
	switch name {
	case "session_id":
		if len(v) > 256 {
			return newHTTPError(chdb.CodeBadArguments, "session_id is too long (max 256 bytes)")
		}
		req.sessionID = v
	case "session_timeout":
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || time.Duration(n)*time.Second > maxSessionTimeout {
			return newHTTPError(chdb.CodeBadArguments, "Invalid session timeout: %q (must be a number of seconds up to %d)", v, int(maxSessionTimeout.Seconds()))
		}
		req.sessionTimeout = time.Duration(n) * time.Second
	case "session_check":
		req.sessionCheck = v == "1"
	}
	return nil
}

// leaseSession returns the request's session, locked for it and with the
// request's settings applied; done unlocks it (and ends it when broken).
func (s *Server) leaseSession(ctx context.Context, req *request) (*pooledConn, func(broken bool), error) {
	t := &s.sessions
	now := time.Now()
	t.mu.Lock()
	if t.m == nil {
		t.m = map[string]*session{}
	}
	var expired []*session
	for id, ss := range t.m {
		if now.After(ss.expires) && ss.busy.TryLock() {
			delete(t.m, id)
			expired = append(expired, ss)
		}
	}
	// Sessions are the user's own: another user naming the same id gets
	// another session, as on a ClickHouse server.
	key := req.user + "\x00" + req.sessionID
	sess := t.m[key]
	switch {
	case sess == nil && req.sessionCheck:
		t.mu.Unlock()
		closeSessions(expired)
		return nil, nil, newHTTPError(codeSessionNotFound, "Session %s not found", req.sessionID)
	case sess == nil && len(t.m) >= maxSessions:
		t.mu.Unlock()
		closeSessions(expired)
		return nil, nil, newHTTPError(chdb.CodeTimeoutExceeded, "too many open sessions (%d): end some, or let them time out", maxSessions)
	case sess == nil:
		sess = &session{id: key}
		t.m[key] = sess
	}
	if !sess.busy.TryLock() {
		t.mu.Unlock()
		closeSessions(expired)
		return nil, nil, newHTTPError(codeSessionIsLocked, "Session %s is locked by a concurrent client", req.sessionID)
	}
	sess.timeout = defaultSessionTimeout
	if req.sessionTimeout > 0 {
		sess.timeout = req.sessionTimeout
	}
	sess.expires = now.Add(sess.timeout)
	t.mu.Unlock()
	closeSessions(expired)

	end := func() {
		t.mu.Lock()
		if t.m[sess.id] == sess {
			delete(t.m, sess.id)
		}
		t.mu.Unlock()
		if sess.conn != nil {
			sess.conn.Close()
		}
	}
	select {
	case s.pool.sem <- struct{}{}:
	case <-ctx.Done():
		sess.busy.Unlock()
		return nil, nil, ctx.Err()
	}
	fail := func(err error) (*pooledConn, func(bool), error) {
		<-s.pool.sem
		end()
		sess.busy.Unlock()
		return nil, nil, err
	}
	if sess.conn == nil {
		c, err := s.engine.NewConn(nil)
		if err != nil {
			return fail(err)
		}
		sess.conn = &pooledConn{Conn: c}
		if !hasSetting(req.settings, "log_comment") {
			sess.conn.tag = fmt.Sprintf("chhttp:%d", connSeq.Add(1))
			if _, err := c.Query(setStatement([]setting{{"log_comment", sess.conn.tag}}), "TabSeparated"); err != nil {
				return fail(err)
			}
		}
	}
	// URL settings hold for their own request: undo the previous request's
	// (SET x = DEFAULT) and apply this one's.
	if settingsKey(req.settings) != settingsKey(sess.applied) {
		stmt := setStatement(req.settings)
		var undo []string
		for _, old := range sess.applied {
			if !hasSetting(req.settings, old.name) {
				undo = append(undo, quoteIdent(old.name)+" = DEFAULT")
			}
		}
		if len(undo) > 0 {
			if len(req.settings) > 0 {
				stmt += ", " + strings.Join(undo, ", ")
			} else {
				stmt = "SET " + strings.Join(undo, ", ")
			}
		}
		if _, err := sess.conn.Query(stmt, "TabSeparated"); err != nil {
			// A bad setting fails this request, not the session.
			<-s.pool.sem
			sess.busy.Unlock()
			return nil, nil, err
		}
		sess.applied = req.settings
	}
	return sess.conn, func(broken bool) {
		<-s.pool.sem
		if broken {
			end()
		} else {
			t.mu.Lock()
			sess.expires = time.Now().Add(sess.timeout)
			t.mu.Unlock()
		}
		sess.busy.Unlock()
	}, nil
}

func closeSessions(ss []*session) {
	for _, s := range ss {
		if s.conn != nil {
			s.conn.Close()
		}
	}
}

// closeAll ends every session.
func (t *sessionTable) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, s := range t.m {
		if s.conn != nil {
			s.conn.Close()
		}
		delete(t.m, id)
	}
}
