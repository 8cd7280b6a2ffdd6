package chhttp

import (
	"errors"
	"fmt"
	"io"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
)

// nativeRevisionWriter re-encodes Native output for clients that pass
// client_protocol_version. The embedded engine writes Native as an
// un-versioned client would read it; ClickHouse's HTTP server instead writes
// it for the client's protocol revision, which adds the block info header
// and a per-column serialization flag. clickhouse-go reads that form, so the
// blocks are decoded and written again for the requested revision.
type nativeRevisionWriter struct {
	pw   *io.PipeWriter
	done chan error
}

func newNativeRevisionWriter(dst io.Writer, revision uint64) *nativeRevisionWriter {
	pr, pw := io.Pipe()
	w := &nativeRevisionWriter{pw: pw, done: make(chan error, 1)}
	go func() {
		err := convertNative(pr, dst, revision)
		// Unblock a writer still pushing into the pipe after a failure.
		_ = pr.CloseWithError(err)
		w.done <- err
	}()
	return w
}

func (w *nativeRevisionWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close flushes the last block and returns the conversion's error.
func (w *nativeRevisionWriter) Close() error {
	_ = w.pw.Close()
	return <-w.done
}

// Abort stops the conversion without waiting for more input.
func (w *nativeRevisionWriter) Abort(err error) {
	_ = w.pw.CloseWithError(err)
	<-w.done
}

func convertNative(src io.Reader, dst io.Writer, revision uint64) error {
	reader := chproto.NewReader(src)
	buf := &chproto.Buffer{}
	for {
		block := proto.NewBlock()
		if err := block.Decode(reader, 0); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("re-encode Native output for protocol revision %d: %w", revision, err)
		}
		buf.Reset()
		if err := block.Encode(buf, revision); err != nil {
			return fmt.Errorf("re-encode Native output for protocol revision %d: %w", revision, err)
		}
		if _, err := dst.Write(buf.Buf); err != nil {
			return err
		}
	}
}
