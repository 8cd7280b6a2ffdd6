package chhttp

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// connPool hands out engine connections configured with a request's
// settings. ClickHouse applies HTTP settings per query; an in-process
// connection keeps them for its lifetime instead, so connections are keyed
// by their settings and reused only by requests that ask for the same ones.
// Most clients send the same settings on every request, so a handful of
// keys cover them. Settings are applied with one SET statement, which gives
// exactly ClickHouse's answers to unknown settings, bad values and readonly;
// the same statement gives each connection its tag (see pooledConn).
type connPool struct {
	engine *chdb.Engine
	sem    chan struct{} // bounds statements in flight
	mu     sync.Mutex
	idle   map[string][]*pooledConn
	order  []string // keys of idle connections, least recently released first
	total  int
	max    int
}

func newConnPool(e *chdb.Engine, maxConns int) *connPool {
	return &connPool{engine: e, sem: make(chan struct{}, maxConns), idle: map[string][]*pooledConn{}, max: maxConns}
}

// pooledConn is an engine connection with the tag that finds its running
// statement in system.processes.
type pooledConn struct {
	*chdb.Conn
	// tag is the connection's log_comment setting, unique in the process, so
	// that KILL QUERY can name the statement it runs (chDB gives callers no
	// query_id). Empty when the request's own settings include log_comment.
	tag string
}

// connSeq numbers connections across every server of the process: they may
// share one engine.
var connSeq atomic.Uint64

type setting struct{ name, value string }

func settingsKey(s []setting) string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	for _, kv := range s {
		b.WriteString(kv.name)
		b.WriteByte('=')
		b.WriteString(kv.value)
		b.WriteByte(0)
	}
	return b.String()
}

// acquire returns a connection carrying exactly the given settings (sorted
// by name), waiting while maxConns statements are in flight.
func (p *connPool) acquire(ctx context.Context, settings []setting) (*pooledConn, string, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	key := settingsKey(settings)
	p.mu.Lock()
	if l := p.idle[key]; len(l) > 0 {
		c := l[len(l)-1]
		p.idle[key] = l[:len(l)-1]
		p.dropOrder(key)
		p.mu.Unlock()
		return c, key, nil
	}
	// Make room: close the least recently used idle connection of another key.
	var victim *pooledConn
	if p.total >= p.max {
		for _, k := range p.order {
			if l := p.idle[k]; len(l) > 0 {
				victim = l[0]
				p.idle[k] = l[1:]
				p.dropOrder(k)
				p.total--
				break
			}
		}
	}
	p.total++
	p.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
	c, err := p.engine.NewConn(nil)
	pc := &pooledConn{Conn: c}
	if err == nil {
		all := settings
		if !hasSetting(settings, "log_comment") {
			pc.tag = fmt.Sprintf("chhttp:%d", connSeq.Add(1))
			all = append(append([]setting(nil), settings...), setting{"log_comment", pc.tag})
		}
		if _, err = c.Query(setStatement(all), "TabSeparated"); err != nil {
			c.Close()
		}
	}
	if err != nil {
		p.mu.Lock()
		p.total--
		p.mu.Unlock()
		<-p.sem
		return nil, "", err
	}
	return pc, key, nil
}

func hasSetting(settings []setting, name string) bool {
	for _, s := range settings {
		if s.name == name {
			return true
		}
	}
	return false
}

func (p *connPool) dropOrder(key string) {
	for i, k := range p.order {
		if k == key {
			p.order = append(p.order[:i], p.order[i+1:]...)
			return
		}
	}
}

// release returns a connection; broken ones (left mid-statement) are closed.
func (p *connPool) release(c *pooledConn, key string, broken bool) {
	p.mu.Lock()
	if broken {
		p.total--
		p.mu.Unlock()
		c.Close()
	} else {
		p.idle[key] = append(p.idle[key], c)
		p.order = append(p.order, key)
		p.mu.Unlock()
	}
	<-p.sem
}

func (p *connPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, l := range p.idle {
		for _, c := range l {
			c.Close()
		}
		delete(p.idle, k)
	}
	p.order = nil
}

// setStatement renders settings as one SET statement; values are quoted as
// string literals, which ClickHouse converts to each setting's type.
func setStatement(settings []setting) string {
	var b strings.Builder
	b.WriteString("SET ")
	for i, s := range settings {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteIdent(s.name))
		b.WriteString(" = ")
		b.WriteString(quoteString(s.value))
	}
	return b.String()
}

func sortSettings(s []setting) {
	sort.Slice(s, func(i, j int) bool { return s[i].name < s[j].name })
}

func quoteString(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}

// useDatabase switches c to db when it is not already there.
func useDatabase(c *chdb.Conn, db string) error {
	if db == "" {
		db = "default"
	}
	cur := c.Database
	if cur == "" {
		cur = "default"
	}
	if cur == db {
		return nil
	}
	if _, err := c.Query("USE "+quoteIdent(db), "TabSeparated"); err != nil {
		return err
	}
	c.Database = db
	return nil
}
