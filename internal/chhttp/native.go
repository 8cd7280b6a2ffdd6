package chhttp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// nativeRevisionWriter rewrites Native output for clients that pass
// client_protocol_version. The embedded engine writes Native as an
// un-versioned client would read it; ClickHouse's HTTP server instead writes
// it for the client's protocol revision, which adds a block info header to
// each block and a serialization flag to each column. clickhouse-go reads
// that form. Column data is the same in both, and is passed through as the
// engine wrote it: a decoder only finds where each column ends. (Decoding
// and encoding again would lose what the decoder's types cannot encode:
// clickhouse-go writes nothing for an Interval column, for one.)
type nativeRevisionWriter struct {
	pw   *io.PipeWriter
	done chan struct{} // closed when the conversion has ended
	err  error         // the conversion's error, set before done closes
}

func newNativeRevisionWriter(dst io.Writer, revision uint64) *nativeRevisionWriter {
	pr, pw := io.Pipe()
	w := &nativeRevisionWriter{pw: pw, done: make(chan struct{})}
	go func() {
		err := convertNative(pr, dst, revision)
		// Unblock a writer still pushing into the pipe after a failure.
		_ = pr.CloseWithError(err)
		w.err = err
		close(w.done)
	}()
	return w
}

func (w *nativeRevisionWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close flushes the last block and returns the conversion's error.
func (w *nativeRevisionWriter) Close() error {
	_ = w.pw.Close()
	<-w.done
	return w.err
}

// Abort stops the conversion without waiting for more input. It may follow
// Close, and be called more than once.
func (w *nativeRevisionWriter) Abort(err error) {
	_ = w.pw.CloseWithError(err)
	<-w.done
}

// Block info as ClickHouse writes it for a result block: field 1
// (is_overflows) false, field 2 (bucket_num) -1, field 0 ending the list.
var resultBlockInfo = []byte{1, 0, 2, 0xff, 0xff, 0xff, 0xff, 0}

func convertNative(src io.Reader, dst io.Writer, revision uint64) error {
	rec := &recordingReader{src: src}
	// At least ch-go's reader size, so that it reads from this buffer
	// directly and the stream position is known.
	br := bufio.NewReaderSize(rec, 1<<20)
	reader := chproto.NewReader(br)
	pos := func() int64 { return rec.total - int64(br.Buffered()) }
	fail := func(err error) error {
		return fmt.Errorf("re-encode Native output for protocol revision %d: %w", revision, err)
	}
	var out []byte
	for {
		blockStart := pos()
		rec.forget(blockStart)
		numCols, err := reader.UVarInt()
		if err != nil {
			if errors.Is(err, io.EOF) && pos() == blockStart {
				return nil
			}
			return fail(err)
		}
		numRows, err := reader.UVarInt()
		if err != nil {
			return fail(err)
		}
		out = out[:0]
		if revision > 0 {
			out = append(out, resultBlockInfo...)
		}
		out = binary.AppendUvarint(out, numCols)
		out = binary.AppendUvarint(out, numRows)
		for i := uint64(0); i < numCols; i++ {
			name, err := reader.Str()
			if err != nil {
				return fail(err)
			}
			typ, err := reader.Str()
			if err != nil {
				return fail(err)
			}
			out = appendString(appendString(out, name), typ)
			if revision >= proto.DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION {
				out = append(out, 0) // no custom serialization: the data is dense
			}
			if numRows == 0 {
				continue
			}
			col, err := column.Type(typ).Column(name, &column.ServerContext{})
			if err != nil {
				return fail(err)
			}
			dataStart := pos()
			if cs, ok := col.(column.CustomSerialization); ok {
				if err := cs.ReadStatePrefix(reader); err != nil {
					return fail(fmt.Errorf("column %s: %w", name, err))
				}
			}
			if err := col.Decode(reader, int(numRows)); err != nil {
				return fail(fmt.Errorf("column %s: %w", name, err))
			}
			out = append(out, rec.slice(dataStart, pos())...)
		}
		if _, err := dst.Write(out); err != nil {
			return err
		}
	}
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// recordingReader keeps what it reads, from the start of the current block
// on, so that column data can be copied out after a decoder went over it.
type recordingReader struct {
	src   io.Reader
	buf   []byte // the stream from offset base on
	base  int64
	total int64 // bytes read from src
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.src.Read(p)
	r.buf = append(r.buf, p[:n]...)
	r.total += int64(n)
	return n, err
}

// forget drops what comes before offset off.
func (r *recordingReader) forget(off int64) {
	r.buf = append(r.buf[:0], r.buf[off-r.base:]...)
	r.base = off
}

func (r *recordingReader) slice(from, to int64) []byte { return r.buf[from-r.base : to-r.base] }
