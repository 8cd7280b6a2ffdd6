package chdb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"unsafe"
)

// Options configure the embedded engine.
type Options struct {
	// LibPath is where libchdb.so lives; empty means ResolveLibPath's search.
	LibPath string
	// DataPath is the persistent data directory. One per process: chDB
	// locks it, so a second process on the same path fails.
	DataPath string
	// Settings apply to every connection (query-level ClickHouse settings).
	Settings map[string]string
	// PoolSize is how many connections serve parallel work; default 4.
	PoolSize int
	// Memory bounds the engine's memory (see confine.go).
	Memory Memory
}

// Engine is the embedded ClickHouse engine of this process. It keeps one
// long-lived primary connection for as long as it is open (closing the last
// connection would shut chDB down) and a pool for parallel work.
type Engine struct {
	api      *api
	opts     Options
	config   string // the server configuration file the engine runs with
	primary  *Conn
	pool     chan *Conn
	mu       sync.Mutex
	closed   bool
	open     int // connections created by the pool and not yet closed
	poolSize int
}

var (
	engineMu sync.Mutex
	current  *Engine
)

// Open boots the engine on opts.DataPath. Only one engine may be open per
// process at a time.
func Open(opts Options) (*Engine, error) {
	path, err := ResolveLibPath(opts.LibPath)
	if err != nil {
		return nil, err
	}
	a, err := load(path)
	if err != nil {
		return nil, err
	}
	if opts.DataPath == "" {
		return nil, errors.New("chdb: a data path is required")
	}
	if err := os.MkdirAll(opts.DataPath, 0o750); err != nil {
		return nil, fmt.Errorf("create chdb data directory: %w", err)
	}
	engineMu.Lock()
	defer engineMu.Unlock()
	if current != nil {
		return nil, fmt.Errorf("chdb: an engine is already open in this process on %s", current.opts.DataPath)
	}
	if opts.PoolSize <= 0 {
		opts.PoolSize = 4
	}
	config, err := writeServerConfig(opts.DataPath, opts.Memory)
	if err != nil {
		return nil, fmt.Errorf("chdb: confine the engine: %w", err)
	}
	e := &Engine{api: a, opts: opts, config: config, poolSize: opts.PoolSize, pool: make(chan *Conn, opts.PoolSize)}
	e.primary, err = e.connect(nil)
	if err != nil {
		return nil, err
	}
	current = e
	return e, nil
}

// DataPath returns the engine's data directory.
func (e *Engine) DataPath() string { return e.opts.DataPath }

// NewConn opens a dedicated connection with extra settings on top of the
// engine's. The caller owns it and must Close it.
func (e *Engine) NewConn(settings map[string]string) (*Conn, error) {
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	return e.connect(settings)
}

// ErrClosed is returned by an engine or connection used after Close.
var ErrClosed = errors.New("chdb: engine closed")

func (e *Engine) connect(extra map[string]string) (*Conn, error) {
	args := []string{"chdb", "--path=" + e.opts.DataPath, "--config-file=" + e.config}
	merged := map[string]string{}
	for k, v := range e.opts.Settings {
		merged[k] = v
	}
	for k, v := range extra {
		merged[k] = v
	}
	keys := make([]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "--"+k+"="+merged[k])
	}

	var pin runtime.Pinner
	defer pin.Unpin()
	argv := make([]unsafe.Pointer, len(args)+1)
	for i, s := range args {
		b := append([]byte(s), 0)
		pin.Pin(&b[0])
		argv[i] = unsafe.Pointer(&b[0])
	}
	pin.Pin(&argv[0])
	handle := e.api.connect(int32(len(args)), unsafe.Pointer(&argv[0]))
	if handle == nil || *(*uintptr)(handle) == 0 {
		return nil, fmt.Errorf("chdb: connect to %s failed (is another process using this data path? are the settings valid? %v)", e.opts.DataPath, keys)
	}
	return &Conn{e: e, handle: handle, conn: *(*uintptr)(handle)}, nil
}

// Acquire takes a pooled connection, opening one when fewer than PoolSize
// exist, or waits for one to be released. Release it with Release.
func (e *Engine) Acquire(ctx context.Context) (*Conn, error) {
	select {
	case c := <-e.pool:
		return c, nil
	default:
	}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil, ErrClosed
	}
	if e.open < e.poolSize {
		e.open++
		e.mu.Unlock()
		c, err := e.connect(nil)
		if err != nil {
			e.mu.Lock()
			e.open--
			e.mu.Unlock()
			return nil, err
		}
		c.pooled = true
		return c, nil
	}
	e.mu.Unlock()
	select {
	case c := <-e.pool:
		return c, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a chdb connection: %w", ctx.Err())
	}
}

// Release returns a pooled connection. A connection left mid-statement or
// broken is closed instead of being reused.
func (e *Engine) Release(c *Conn) {
	if c == nil {
		return
	}
	e.mu.Lock()
	closed := e.closed
	e.mu.Unlock()
	if closed || c.broken {
		c.Close()
		e.mu.Lock()
		e.open--
		e.mu.Unlock()
		return
	}
	e.pool <- c
}

// Query runs one statement on a pooled connection and returns its whole output.
func (e *Engine) Query(ctx context.Context, sql, format string, params ...Param) (*Result, error) {
	c, err := e.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer e.Release(c)
	return c.Query(sql, format, params...)
}

// Exec runs a statement and discards its output.
func (e *Engine) Exec(ctx context.Context, sql string, params ...Param) error {
	_, err := e.Query(ctx, sql, "TabSeparated", params...)
	return err
}

// Close closes every connection. The primary connection goes last, which
// shuts the engine down; the process must not open another engine afterwards
// on a different path while chDB threads wind down. chdb_shutdown is never
// called: after it chDB refuses connections for the rest of the process.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	for {
		select {
		case c := <-e.pool:
			c.Close()
			e.mu.Lock()
			e.open--
			e.mu.Unlock()
			continue
		default:
		}
		break
	}
	e.primary.Close()
	engineMu.Lock()
	if current == e {
		current = nil
	}
	engineMu.Unlock()
	return nil
}

// Primary returns the engine's long-lived connection. It serialises its
// statements, so it suits setup work (migrations), not parallel load.
func (e *Engine) Primary() *Conn { return e.primary }
