// Package store is the services' SQLite access: a bounded connection pool
// with an acquisition timeout, a span per statement, pool metrics from
// sql.DBStats, and the hooks pool_squeeze and operation latency need.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
)

// Options configure one database.
type Options struct {
	Service        string // owning service
	Name           string // database name, e.g. "inventory"
	Path           string
	MaxOpenConns   int
	AcquireTimeout time.Duration
	QueryTimeout   time.Duration
	Tracer         trace.Tracer
	Meter          metric.Meter
	Faults         *faults.Registry
}

// DB is a SQLite database behind a bounded pool.
type DB struct {
	opts    Options
	db      *sql.DB
	waiting atomic.Int64

	timeouts metric.Int64Counter
	waitTime metric.Float64Histogram
	opTime   metric.Float64Histogram
	reg      metric.Registration

	stop  chan struct{}
	holds sync.WaitGroup
}

// Open opens (creating if needed) the database at opts.Path.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.MaxOpenConns <= 0 {
		opts.MaxOpenConns = 10
	}
	if opts.AcquireTimeout <= 0 {
		opts.AcquireTimeout = 2 * time.Second
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = time.Second
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	sdb, err := sql.Open("sqlite", "file:"+opts.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", opts.Name, err)
	}
	sdb.SetMaxOpenConns(opts.MaxOpenConns)
	sdb.SetMaxIdleConns(opts.MaxOpenConns)
	if err := sdb.PingContext(ctx); err != nil {
		_ = sdb.Close()
		return nil, fmt.Errorf("ping %s database at %s: %w", opts.Name, opts.Path, err)
	}
	d := &DB{opts: opts, db: sdb, stop: make(chan struct{})}
	if err := d.registerMetrics(); err != nil {
		_ = sdb.Close()
		return nil, err
	}
	if opts.Faults != nil {
		opts.Faults.RegisterPool(opts.Service, d)
	}
	return d, nil
}

// Name is the database name.
func (d *DB) Name() string { return d.opts.Name }

// Stats returns the pool statistics and the number of callers waiting for a
// connection right now.
func (d *DB) Stats() (sql.DBStats, int64) { return d.db.Stats(), d.waiting.Load() }

// Close releases held connections and closes the pool.
func (d *DB) Close() error {
	close(d.stop)
	d.holds.Wait()
	if d.reg != nil {
		_ = d.reg.Unregister()
	}
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("close %s database: %w", d.opts.Name, err)
	}
	return nil
}

// PoolTimeoutError is returned when no connection became free within the
// acquisition timeout: the pool is exhausted.
type PoolTimeoutError struct {
	Waited  time.Duration
	InUse   int
	Max     int
	Waiting int64
}

func (e *PoolTimeoutError) Error() string {
	return fmt.Sprintf("timed out acquiring connection from pool after %dms (in_use=%d max=%d waiting=%d)",
		e.Waited.Milliseconds(), e.InUse, e.Max, e.Waiting)
}

// AcquireCanceledError is returned when the caller's own request ended
// (its deadline passed or it was canceled) while it waited for a
// connection. It is not a pool timeout: the wait was cut short by whoever
// called, typically because something before it was slow, and the pool may
// have been about to answer. It is not counted as one.
type AcquireCanceledError struct {
	Waited time.Duration
	InUse  int
	Max    int
	Cause  error // the caller's context error
}

func (e *AcquireCanceledError) Error() string {
	return fmt.Sprintf("caller canceled the request after %dms while it waited for a database connection (%d of %d in use): %v",
		e.Waited.Milliseconds(), e.InUse, e.Max, e.Cause)
}

func (e *AcquireCanceledError) Unwrap() error { return e.Cause }

// QueryTimeoutError is returned when a statement outlives the statement
// timeout and SQLite interrupts it.
type QueryTimeoutError struct {
	Statement string
	After     time.Duration
	Err       error
}

func (e *QueryTimeoutError) Error() string {
	return fmt.Sprintf("query timed out after %dms: %s: %v", e.After.Milliseconds(), e.Statement, e.Err)
}

func (e *QueryTimeoutError) Unwrap() error { return e.Err }

// Do runs fn on a connection taken from the pool for operation op (a name
// such as "reserve_stock" that spans and latency matching use). It waits at
// most the acquisition timeout for a connection.
func (d *DB) Do(ctx context.Context, op string, fn func(ctx context.Context, c *Conn) error) error {
	start := time.Now()
	actx, cancel := context.WithTimeout(ctx, d.opts.AcquireTimeout)
	d.waiting.Add(1)
	conn, err := d.db.Conn(actx)
	waiting := d.waiting.Add(-1)
	cancel()
	waited := time.Since(start)
	d.waitTime.Record(ctx, waited.Seconds(), metric.WithAttributes(d.poolAttr()))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			st := d.db.Stats()
			if ctx.Err() != nil {
				// The caller's request ended first: its wait says nothing
				// about the pool having run out.
				return &AcquireCanceledError{Waited: waited, InUse: st.InUse, Max: st.MaxOpenConnections, Cause: ctx.Err()}
			}
			d.timeouts.Add(context.WithoutCancel(ctx), 1, metric.WithAttributes(d.poolAttr()))
			return &PoolTimeoutError{Waited: waited, InUse: st.InUse, Max: st.MaxOpenConnections, Waiting: waiting}
		}
		return fmt.Errorf("acquire %s connection: %w", d.opts.Name, err)
	}
	c := &Conn{d: d, conn: conn, op: op}
	err = fn(ctx, c)
	if c.inTx {
		// A transaction the caller left open is rolled back before the
		// connection goes back, so a failure cannot poison the pool.
		_ = c.exec(context.WithoutCancel(ctx), "ROLLBACK")
	}
	d.release(conn)
	return err
}

// release returns conn to the pool, unless a pool_squeeze primitive keeps it
// checked out in an idle read transaction for a while first.
func (d *DB) release(conn *sql.Conn) {
	var hold time.Duration
	if d.opts.Faults != nil {
		hold = d.opts.Faults.HoldAfterUse(d.opts.Service)
	}
	if hold <= 0 {
		_ = conn.Close()
		return
	}
	d.holds.Go(func() {
		ctx := context.Background()
		_, err := conn.ExecContext(ctx, "BEGIN")
		if err == nil {
			var n int
			_ = conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
		}
		t := time.NewTimer(hold)
		select {
		case <-t.C:
		case <-d.stop:
			t.Stop()
		}
		if err == nil {
			_, _ = conn.ExecContext(ctx, "ROLLBACK")
		}
		_ = conn.Close()
	})
}

// SetMaxOpenConns implements faults.PoolControl.
func (d *DB) SetMaxOpenConns(n int) int {
	prev := d.db.Stats().MaxOpenConnections
	d.db.SetMaxOpenConns(n)
	d.db.SetMaxIdleConns(n)
	return prev
}

// Pin implements faults.PoolControl: n connections are checked out, each in
// an idle read transaction, until release is called.
func (d *DB) Pin(n int) (release func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			conn, err := d.db.Conn(ctx)
			if err != nil {
				return
			}
			defer conn.Close()
			bg := context.Background()
			if _, err := conn.ExecContext(bg, "BEGIN"); err != nil {
				return
			}
			var x int
			_ = conn.QueryRowContext(bg, "SELECT count(*) FROM sqlite_master").Scan(&x)
			select {
			case <-ctx.Done():
			case <-d.stop:
			}
			_, _ = conn.ExecContext(bg, "ROLLBACK")
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

func (d *DB) poolAttr() attribute.KeyValue {
	return attribute.String("db.client.connection.pool.name", d.opts.Name)
}

// Conn is one connection checked out for an operation.
type Conn struct {
	d    *DB
	conn *sql.Conn
	op   string
	inTx bool
}

// Begin starts a transaction; immediate takes SQLite's write lock up front
// so concurrent writers queue on busy_timeout instead of failing to upgrade.
func (c *Conn) Begin(ctx context.Context, immediate bool) error {
	q := "BEGIN"
	if immediate {
		q = "BEGIN IMMEDIATE"
	}
	if err := c.exec(ctx, q); err != nil {
		return err
	}
	c.inTx = true
	return nil
}

// Commit commits the open transaction.
func (c *Conn) Commit(ctx context.Context) error {
	if err := c.exec(ctx, "COMMIT"); err != nil {
		return err
	}
	c.inTx = false
	return nil
}

func (c *Conn) exec(ctx context.Context, q string) error {
	_, err := c.Exec(ctx, q)
	return err
}

// Exec runs a statement.
func (c *Conn) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := c.run(ctx, query, func(ctx context.Context) error {
		var err error
		res, err = c.conn.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// Query runs a query and hands each row to scan.
func (c *Conn) Query(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	return c.run(ctx, query, func(ctx context.Context) error {
		rows, err := c.conn.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// QueryRow runs a query expected to return one row; sql.ErrNoRows when none.
func (c *Conn) QueryRow(ctx context.Context, query string, args []any, dest ...any) error {
	return c.run(ctx, query, func(ctx context.Context) error {
		return c.conn.QueryRowContext(ctx, query, args...).Scan(dest...)
	})
}

type untracedKey struct{}

// Untraced marks ctx so statements run under it create no spans, record no
// metrics and have no statement timeout: schema set-up is not part of any
// request.
func Untraced(ctx context.Context) context.Context {
	return context.WithValue(ctx, untracedKey{}, true)
}

func (c *Conn) run(ctx context.Context, query string, fn func(context.Context) error) error {
	d := c.d
	if ctx.Value(untracedKey{}) != nil {
		// Set-up work is bounded by its caller, not the statement timeout.
		return fn(ctx)
	}
	verb, table := Summarize(query)
	name := verb
	if table != "" {
		name = verb + " " + table
	}
	attrs := []attribute.KeyValue{
		attribute.String("db.system.name", "sqlite"),
		semconv.DBNamespace(d.opts.Name),
		semconv.DBOperationName(verb),
		semconv.DBQueryText(query),
	}
	if table != "" {
		attrs = append(attrs, semconv.DBCollectionName(table))
	}
	ctx, span := d.opts.Tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	start := time.Now()

	if d.opts.Faults != nil {
		if delay := d.opts.Faults.Delay(d.opts.Service, faults.Match{Operation: c.op, Statement: name}); delay > 0 {
			if err := sleep(ctx, delay); err != nil {
				span.RecordError(err)
				span.SetStatus(codes.Error, err.Error())
				return err
			}
		}
	}

	qctx, cancel := context.WithTimeout(ctx, d.opts.QueryTimeout)
	err := fn(qctx)
	timedOut := err != nil && errors.Is(qctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	cancel()
	if timedOut {
		err = &QueryTimeoutError{Statement: name, After: d.opts.QueryTimeout, Err: err}
	}
	mattrs := []attribute.KeyValue{attribute.String("db.system.name", "sqlite"), semconv.DBNamespace(d.opts.Name), semconv.DBOperationName(verb)}
	if table != "" {
		mattrs = append(mattrs, semconv.DBCollectionName(table))
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		mattrs = append(mattrs, attribute.String("error.type", errorType(err)))
	}
	d.opTime.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(mattrs...))
	return err
}

func errorType(err error) string {
	var qt *QueryTimeoutError
	switch {
	case errors.As(err, &qt):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "sqlite_error"
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait before statement: %w", context.Cause(ctx))
	}
}

// Summarize returns a statement's operation and main table, e.g. "UPDATE",
// "carts".
func Summarize(query string) (verb, table string) {
	f := strings.Fields(query)
	if len(f) == 0 {
		return "", ""
	}
	verb = strings.ToUpper(f[0])
	after := func(kw string) string {
		for i := 1; i < len(f)-1; i++ {
			if strings.EqualFold(f[i], kw) {
				return strings.Trim(f[i+1], "(),;")
			}
		}
		return ""
	}
	switch verb {
	case "SELECT", "DELETE":
		table = after("FROM")
	case "INSERT", "REPLACE":
		table = after("INTO")
	case "UPDATE":
		if len(f) > 1 {
			table = strings.Trim(f[1], "(),;")
		}
	}
	return verb, table
}
