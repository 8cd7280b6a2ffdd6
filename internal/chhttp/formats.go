package chhttp

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// One result per query, in every output format.
//
// The engine's streaming API (chdb_stream_query) formats every block it
// hands out as a whole result of its own: a header per block for the
// *WithNames formats, a JSON or XML document per block, no separator between
// the blocks of Values, statistics of zero. Its whole-result API formats a
// result once, exactly as ClickHouse does — but keeps all of it in memory.
//
// So a statement with output is run whole, with its output redirected: an
// INTO OUTFILE clause naming the write end of a pipe this process holds
// (/proc/self/fd/N) is put where ClickHouse's grammar wants it, before the
// FORMAT clause or at the end of the statement. The engine then creates one
// output format for the whole result, in any format it knows, with totals,
// extremes, rows_before_limit_at_least and statistics, and writes it through
// its 1 MiB file buffer into the pipe, which this side reads and sends on.
// Memory stays bounded: the pipe blocks the engine while the client is slow.
// No format is buffered here beyond what ClickHouse itself buffers (Pretty
// squashes blocks up to output_format_pretty_max_rows; Parquet, ORC and
// Arrow write row groups), so every output format streams with bounded
// memory and none needs a result-size limit.
//
// Native is the exception: a Native result is its blocks one after the
// other, with nothing before, between or after them, so the engine's
// streaming API — each block formatted on its own, read from the engine's
// memory without a pipe — gives the same rows (its bytes differ only in
// where blocks are cut, as two runs of a parallel read do in ClickHouse).
// Native results are the large ones (clickhouse-go and clickhouse-connect
// read them), and the pipe's two extra copies are a quarter of their cost.
//
// A client's own INTO OUTFILE is refused, as ClickHouse's HTTP interface
// refuses it (it would write files on this machine), and so is a second
// statement after the first. Statements whose grammar takes no INTO OUTFILE
// (DDL, INSERT, KILL, SYSTEM …) have little or no output and run whole.

// redirectable reports whether the statement's output can be redirected
// into a pipe: statements whose grammar takes INTO OUTFILE.
func (st statement) redirectable() bool {
	if st.truncated || st.more || st.outfile {
		return false
	}
	switch st.keyword {
	case "SELECT", "WITH", "FROM", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS":
		return true
	}
	return false
}

// refuse returns the error ClickHouse's HTTP interface answers for a
// statement it does not run at all, or nil.
func (st statement) refuse(sql string) error {
	if st.more {
		rest := strings.TrimSpace(sql[st.end+1:])
		if len(rest) > 64 {
			rest = rest[:64] + "…"
		}
		return newHTTPError(chdb.CodeSyntaxError, "Syntax error (Multi-statements are not allowed): failed at position %d (end of query): %s: send one statement per request", st.end+1, rest)
	}
	if st.outfile {
		return newHTTPError(codeIntoOutfileNotAllowed, "INTO OUTFILE is not allowed")
	}
	return nil
}

// withOutfile places clause in sql where ClickHouse's grammar takes INTO
// OUTFILE: before a top-level FORMAT clause, else at the end of the
// statement. The clause begins with a newline, which ends a line comment
// the statement may end with.
func withOutfile(sql string, st statement, clause string) string {
	at := st.end
	if st.formatAt >= 0 {
		at = st.formatAt
	}
	return sql[:at] + clause + sql[at:]
}

// resultSource is a running statement's output.
type resultSource interface {
	chunkSource
	// marker names the statement in system.processes (markerCondition).
	marker() string
	// Close ends the statement if it still runs and frees its connection.
	Close()
}

// startOutput runs a statement with output on conn.
func (s *Server) startOutput(conn *chdb.Conn, sql string, st statement, format string, params []chdb.Param) (resultSource, error) {
	if strings.EqualFold(format, "Native") {
		marker := newExceptionTag()
		stream, err := conn.Stream(sql[:st.end]+"\n/* "+marker+" */\n"+sql[st.end:], format, params...)
		switch {
		case err == nil:
			return &streamedResult{Stream: stream, mark: marker}, nil
		case chdb.CodeOf(err) == chdb.CodeSyntaxError:
			// The engine's own answer to the client's text (the comment
			// shifts no position before it, but quotes may show it).
			if _, err := conn.Query(sql, format, params...); err != nil {
				return nil, err
			}
		case !isStreamingUnsupported(err):
			return nil, err
		}
	}
	return s.startPiped(conn, sql, st, format, params)
}

// isStreamingUnsupported reports the engine refusing to stream a statement.
func isStreamingUnsupported(err error) bool {
	var ce *chdb.Error
	return errors.As(err, &ce) && ce.Code == chdb.CodeBadArguments && strings.Contains(ce.Message, "Streaming query is not supported")
}

// streamedResult is a statement read through the engine's streaming API.
type streamedResult struct {
	*chdb.Stream
	mark string
}

func (r *streamedResult) marker() string { return r.mark }

// pipedResult is a statement running with its output redirected into a
// pipe; Next returns what arrives there.
type pipedResult struct {
	s        *Server
	conn     *chdb.Conn
	sql      string // the statement as the client sent it
	format   string
	params   []chdb.Param
	mark     string // names the statement in system.processes
	r        *os.File
	buf      []byte
	received int64

	done  chan struct{} // closed when the statement has returned
	res   *chdb.Result  // set before done closes
	err   error         // set before done closes
	ended bool          // Next has returned the end or an error
	extra []byte        // output of a re-run, served after the pipe
	final *chdb.Stats
}

// pipeChunk is how much Next reads at once: the engine's file buffer.
const pipeChunk = 1 << 20

// startPiped starts sql on conn with its output going into a pipe.
func (s *Server) startPiped(conn *chdb.Conn, sql string, st statement, format string, params []chdb.Param) (*pipedResult, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create the pipe for a result: %w", err)
	}
	// A larger pipe means fewer wake-ups for both sides; the default (64
	// KiB) still works, so a refusal (pipe-max-size) is not an error.
	_, _ = unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, pipeChunk)
	p := &pipedResult{
		s: s, conn: conn, sql: sql, format: format, params: params,
		mark: newExceptionTag(),
		r:    r,
		buf:  make([]byte, pipeChunk),
		done: make(chan struct{}),
	}
	clause := fmt.Sprintf("\nINTO OUTFILE '/proc/self/fd/%d' APPEND /* %s */\n", w.Fd(), p.mark)
	redirected := withOutfile(sql, st, clause)
	go func() {
		res, err := conn.Query(redirected, format, params...)
		p.res, p.err = res, err
		// The engine has closed its end; with ours closed too the reader
		// sees the end of the pipe. The deadline wakes a reader all the
		// same should an engine error path leave its end open.
		_ = w.Close()
		_ = r.SetReadDeadline(time.Now())
		close(p.done)
	}()
	return p, nil
}

// Next returns the next piece of output, nil at the end. The slice is valid
// until the next call.
func (p *pipedResult) Next() ([]byte, error) {
	if p.ended {
		b := p.extra
		p.extra = nil
		return b, nil
	}
	select {
	case <-p.done:
		// Whatever the engine wrote before it returned is in the pipe.
		if n := p.readNow(); n > 0 {
			p.received += int64(n)
			return p.buf[:n], nil
		}
		return p.end()
	default:
	}
	n, err := p.r.Read(p.buf)
	if n > 0 {
		p.received += int64(n)
		return p.buf[:n], nil
	}
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) {
		return nil, fmt.Errorf("read the result from its pipe: %w", err)
	}
	<-p.done
	return p.Next()
}

// end is reached when the statement has returned and the pipe is empty.
func (p *pipedResult) end() ([]byte, error) {
	p.ended = true
	if p.err == nil {
		p.final = &p.res.Stats
		return nil, nil
	}
	p.final = &chdb.Stats{}
	if err := p.rerunIfClauseShows(); err != nil {
		return nil, err
	}
	b := p.extra
	p.extra = nil
	return b, nil
}

// readNow reads what the pipe holds without waiting.
func (p *pipedResult) readNow() int {
	_ = p.r.SetReadDeadline(time.Time{})
	rc, err := p.r.SyscallConn()
	if err != nil {
		return 0
	}
	var n int
	_ = rc.Read(func(fd uintptr) bool {
		for {
			m, err := syscall.Read(int(fd), p.buf)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if m > 0 {
				n = m
			}
			return true
		}
	})
	return n
}

// rerunIfClauseShows returns the statement's error. When the message quotes
// the statement with the clause added (a syntax error, an unknown format),
// the statement failed before it ran: it is run again as sent, so that the
// client gets the engine's own answer to its own text.
func (p *pipedResult) rerunIfClauseShows() error {
	msg := p.err.Error()
	// A syntax error after the clause would report a position shifted by it.
	if p.received > 0 || !(strings.Contains(msg, p.mark) || strings.Contains(msg, "/proc/self/fd/") || chdb.CodeOf(p.err) == chdb.CodeSyntaxError) {
		return p.err
	}
	res, err := p.conn.Query(p.sql, p.format, p.params...)
	if err != nil {
		return err
	}
	p.final = &res.Stats
	if len(res.Data) > 0 {
		p.extra = res.Data
	}
	return nil
}

func (p *pipedResult) marker() string { return p.mark }

// Stats returns what the statement read and wrote: the final figures once
// it has ended, else the engine's figures so far.
func (p *pipedResult) Stats() chdb.Stats {
	if p.final != nil {
		return *p.final
	}
	select {
	case <-p.done:
		if p.err == nil {
			return p.res.Stats
		}
		return chdb.Stats{}
	default:
	}
	pr, _ := p.s.progressOf(p.mark)
	return pr.Stats
}

// Close ends the statement if it still runs, reads the pipe to its end (the
// engine must never block on a pipe nobody reads) and waits for the
// statement to return, so the connection is free for the next one.
func (p *pipedResult) Close() {
	defer func() { _ = p.r.Close() }()
	select {
	case <-p.done:
	default:
		p.s.control("KILL QUERY WHERE " + markerCondition(p.mark) + " ASYNC")
	}
	for !p.ended {
		if _, err := p.Next(); err != nil && !p.ended {
			// The pipe cannot be read the usual way: empty it as it fills
			// until the statement returns. Closing it instead would make
			// the engine's next write raise SIGPIPE, on a thread of its own.
			for {
				select {
				case <-p.done:
					return
				default:
				}
				if p.readNow() == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}
	}
	<-p.done
}

// markerCondition finds the statement carrying marker in system.processes,
// without finding the query that asks (which holds the marker in two pieces).
func markerCondition(marker string) string {
	half := len(marker) / 2
	return fmt.Sprintf("position(query, concat('%s', '%s')) > 0", marker[:half], marker[half:])
}
