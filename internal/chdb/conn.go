package chdb

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Param is a value for a {name:Type} placeholder. Values are bound by the
// engine, never interpolated into the SQL text.
type Param struct {
	Name  string
	Value string
}

// Conn is one connection to the engine. It runs one statement at a time;
// methods serialise on it.
type Conn struct {
	e      *Engine
	mu     sync.Mutex
	handle unsafe.Pointer // chdb_connection*, as chdb_connect returned it
	conn   uintptr        // chdb_connection
	closed bool
	pooled bool
	broken bool

	// Session state tracked by callers that reuse a connection (the HTTP
	// server): the database selected with USE.
	Database string
}

// Result is the complete output of a statement.
type Result struct {
	Data []byte
	Stats
}

// Stats describes what a statement read and wrote.
type Stats struct {
	Elapsed float64
	// RowsRead and BytesRead count what was read from storage and table
	// functions (ClickHouse's read_rows/read_bytes).
	RowsRead  uint64
	BytesRead uint64
	// ResultRows and ResultBytes count the rows of the result and their
	// in-memory size (ClickHouse's result_rows/result_bytes).
	ResultRows   uint64
	ResultBytes  uint64
	RowsWritten  uint64
	BytesWritten uint64
}

func (s *Stats) add(o Stats) {
	s.Elapsed += o.Elapsed
	s.RowsRead += o.RowsRead
	s.BytesRead += o.BytesRead
	s.ResultRows += o.ResultRows
	s.ResultBytes += o.ResultBytes
	s.RowsWritten += o.RowsWritten
	s.BytesWritten += o.BytesWritten
}

// MarkBroken makes Release close the connection rather than reuse it.
func (c *Conn) MarkBroken() { c.broken = true }

// Close closes the connection. Safe to call twice.
func (c *Conn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	c.closed = true
	c.e.api.closeConn(c.handle)
}

// cparams lays out names and values as the C API's parallel arrays. The
// memory stays pinned until unpin is called, after the C call returns.
type cparams struct {
	pin                       runtime.Pinner
	names, values             []unsafe.Pointer
	nameLens, valueLens       []uintptr
	namesP, valuesP, nlP, vlP unsafe.Pointer
	count                     uintptr
	sql, format               unsafe.Pointer
	sqlLen, formatLen         uintptr
}

func newCParams(sql, format string, params []Param) *cparams {
	p := &cparams{count: uintptr(len(params))}
	// Trailing NULs keep the buffers valid C strings for any entry point
	// that reads past the given length.
	sqlBytes := append([]byte(sql), 0)
	formatBytes := append([]byte(format), 0)
	p.sqlLen, p.formatLen = uintptr(len(sql)), uintptr(len(format))
	p.pin.Pin(&sqlBytes[0])
	p.pin.Pin(&formatBytes[0])
	p.sql = unsafe.Pointer(&sqlBytes[0])
	p.format = unsafe.Pointer(&formatBytes[0])
	if len(params) == 0 {
		return p
	}
	p.names = make([]unsafe.Pointer, len(params))
	p.values = make([]unsafe.Pointer, len(params))
	p.nameLens = make([]uintptr, len(params))
	p.valueLens = make([]uintptr, len(params))
	for i, prm := range params {
		n := append([]byte(prm.Name), 0)
		v := append([]byte(prm.Value), 0)
		p.pin.Pin(&n[0])
		p.pin.Pin(&v[0])
		p.names[i] = unsafe.Pointer(&n[0])
		p.values[i] = unsafe.Pointer(&v[0])
		p.nameLens[i] = uintptr(len(prm.Name))
		p.valueLens[i] = uintptr(len(prm.Value))
	}
	p.pin.Pin(&p.names[0])
	p.pin.Pin(&p.values[0])
	p.pin.Pin(&p.nameLens[0])
	p.pin.Pin(&p.valueLens[0])
	p.namesP = unsafe.Pointer(&p.names[0])
	p.valuesP = unsafe.Pointer(&p.values[0])
	p.nlP = unsafe.Pointer(&p.nameLens[0])
	p.vlP = unsafe.Pointer(&p.valueLens[0])
	return p
}

func (p *cparams) unpin() { p.pin.Unpin() }

func (c *Conn) resultErr(res uintptr) error {
	if res == 0 {
		return errors.New("chdb: no result (connection closed?)")
	}
	if msg := cString(c.e.api.resultError(res)); msg != "" {
		return parseError(msg)
	}
	return nil
}

func (c *Conn) stats(res uintptr) Stats {
	a := c.e.api
	return Stats{
		Elapsed:      a.resultElapsed(res),
		RowsRead:     a.resultStorageRowsRead(res),
		BytesRead:    a.resultStorageBytesRead(res),
		ResultRows:   a.resultRowsRead(res),
		ResultBytes:  a.resultBytesRead(res),
		RowsWritten:  a.resultRowsWritten(res),
		BytesWritten: a.resultBytesWritten(res),
	}
}

// Query runs one statement and returns its whole output in format (used when
// the SQL carries no FORMAT clause of its own).
func (c *Conn) Query(sql, format string, params ...Param) (*Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	p := newCParams(sql, format, params)
	res := c.e.api.queryWithParamsN(c.conn, p.sql, p.sqlLen, p.format, p.formatLen, p.namesP, p.nlP, p.valuesP, p.vlP, p.count)
	p.unpin()
	runtime.KeepAlive(p)
	if res == 0 {
		return nil, errors.New("chdb: query returned no result")
	}
	defer c.e.api.destroyResult(res)
	if err := c.resultErr(res); err != nil {
		c.discardLeftover()
		return nil, err
	}
	data := cBytes(c.e.api.resultBuffer(res), c.e.api.resultLength(res))
	return &Result{Data: append([]byte(nil), data...), Stats: c.stats(res)}, nil
}

// leftoverFlush is a statement whose own output is nothing.
var leftoverFlush = []byte("SELECT 1 FORMAT Null\x00")

// discardLeftover drops output a failed statement left behind. The engine
// keeps what a statement formatted before it failed (for JSON, a whole
// document closed by the failure) and hands it out at the front of the next
// statement's result on the connection; a statement that outputs nothing
// takes it away instead. Called with c.mu held.
func (c *Conn) discardLeftover() {
	a := c.e.api
	res := a.queryN(c.conn, unsafe.Pointer(&leftoverFlush[0]), uintptr(len(leftoverFlush)-1), unsafe.Pointer(&nullFormat[0]), uintptr(len(nullFormat)-1))
	runtime.KeepAlive(leftoverFlush)
	if res != 0 {
		a.destroyResult(res)
	}
}

var nullFormat = []byte("Null\x00")

// Stream is a running query whose output is fetched chunk by chunk. It holds
// its connection until Close.
type Stream struct {
	c     *Conn
	res   uintptr
	chunk uintptr
	done  bool
	stats Stats
}

// Stream starts a query and returns a handle to fetch its output.
func (c *Conn) Stream(sql, format string, params ...Param) (*Stream, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	p := newCParams(sql, format, params)
	res := c.e.api.streamQueryWithParamsN(c.conn, p.sql, p.sqlLen, p.format, p.formatLen, p.namesP, p.nlP, p.valuesP, p.vlP, p.count)
	p.unpin()
	runtime.KeepAlive(p)
	if res == 0 {
		c.mu.Unlock()
		return nil, errors.New("chdb: stream query returned no handle")
	}
	if err := c.resultErr(res); err != nil {
		c.e.api.destroyResult(res)
		c.mu.Unlock()
		return nil, err
	}
	return &Stream{c: c, res: res}, nil
}

// Next returns the next chunk of output, or nil at the end. The slice points
// into engine memory and is valid until the next call to Next or Close.
func (s *Stream) Next() ([]byte, error) {
	a := s.c.e.api
	if s.chunk != 0 {
		a.destroyResult(s.chunk)
		s.chunk = 0
	}
	if s.done {
		return nil, nil
	}
	for {
		chunk := a.streamFetch(s.c.conn, s.res)
		if chunk == 0 {
			s.done = true
			return nil, errors.New("chdb: fetch returned no result")
		}
		if err := s.c.resultErr(chunk); err != nil {
			a.destroyResult(chunk)
			s.done = true
			s.c.discardLeftover()
			return nil, err
		}
		s.stats.add(s.c.stats(chunk))
		n := a.resultLength(chunk)
		if n == 0 {
			a.destroyResult(chunk)
			s.done = true
			return nil, nil
		}
		s.chunk = chunk
		return cBytes(a.resultBuffer(chunk), n), nil
	}
}

// Stats returns what the query read and wrote so far.
func (s *Stream) Stats() Stats { return s.stats }

// Close ends the stream, cancelling the query if it has not finished, and
// frees the connection for its next statement.
func (s *Stream) Close() {
	if s.c == nil {
		return
	}
	a := s.c.e.api
	if s.chunk != 0 {
		a.destroyResult(s.chunk)
		s.chunk = 0
	}
	if !s.done {
		a.streamCancel(s.c.conn, s.res)
	}
	a.destroyResult(s.res)
	s.c.mu.Unlock()
	s.c = nil
}

// Insert is a streaming INSERT: raw data in the given input format is
// appended chunk by chunk and committed by Done.
type Insert struct {
	c      *Conn
	stream uintptr
	ended  bool
}

// Insert starts a streaming INSERT. sql is the statement without FORMAT
// clause or data ("INSERT INTO t (a, b)"); format names the input format of
// the appended data (Native, RowBinary, JSONEachRow, CSV, ...).
func (c *Conn) Insert(sql, format string, params ...Param) (*Insert, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	p := newCParams(sql, format, params)
	stream := c.e.api.streamInsertWithParamsN(c.conn, p.sql, p.sqlLen, p.format, p.formatLen, p.namesP, p.nlP, p.valuesP, p.vlP, p.count)
	p.unpin()
	runtime.KeepAlive(p)
	if stream == 0 {
		c.mu.Unlock()
		return nil, errors.New("chdb: insert returned no handle")
	}
	if msg := cString(c.e.api.streamInsertError(stream)); msg != "" {
		c.e.api.destroyInsertStream(stream)
		c.mu.Unlock()
		return nil, parseError(msg)
	}
	return &Insert{c: c, stream: stream}, nil
}

// Append pushes one chunk of input. The engine copies it.
func (in *Insert) Append(data []byte) error {
	if in.ended {
		return errors.New("chdb: append after the insert ended")
	}
	if len(data) == 0 {
		return nil
	}
	a := in.c.e.api
	if a.streamAppend(in.stream, unsafe.Pointer(&data[0]), uintptr(len(data))) != 0 {
		if msg := cString(a.streamInsertError(in.stream)); msg != "" {
			return parseError(msg)
		}
		return errors.New("chdb: insert stream rejected data")
	}
	runtime.KeepAlive(data)
	return nil
}

// Done commits the insert and returns what it wrote. The insert is closed
// afterwards whether or not it succeeded.
func (in *Insert) Done() (Stats, error) {
	if in.ended {
		return Stats{}, errors.New("chdb: insert already ended")
	}
	a := in.c.e.api
	res := a.streamDone(in.stream)
	var st Stats
	var err error
	if res == 0 {
		err = errors.New("chdb: insert finished without a result")
	} else {
		err = in.c.resultErr(res)
		st = in.c.stats(res)
		a.destroyResult(res)
	}
	if err == nil {
		if msg := cString(a.streamInsertError(in.stream)); msg != "" {
			err = parseError(msg)
		}
	}
	in.finish()
	if err != nil {
		return st, fmt.Errorf("insert: %w", err)
	}
	return st, nil
}

// Cancel aborts the insert without committing what has not been written yet.
func (in *Insert) Cancel() {
	if in.ended {
		return
	}
	in.c.e.api.streamCancelInsert(in.stream)
	in.finish()
}

func (in *Insert) finish() {
	in.c.e.api.destroyInsertStream(in.stream)
	in.ended = true
	in.c.mu.Unlock()
}
