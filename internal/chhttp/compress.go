package chhttp

import (
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// decodeError marks a failure to decompress the request body.
type decodeError struct{ err error }

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

func isDecodeError(err error) bool {
	var de *decodeError
	return errors.As(err, &de)
}

// decodingReader wraps a decompressor so its errors are recognisable, and
// makes its first error sticky: ch-go's block reader, asked again after the
// end, hands out its last block a second time.
type decodingReader struct {
	r   io.Reader
	err error
}

func (d *decodingReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		err = io.EOF
	case isLimitErr(err):
	default:
		err = &decodeError{err}
	}
	d.err = err
	return n, err
}

func isLimitErr(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, errBodyTooLarge)
}

// decodeContentEncoding undoes an HTTP Content-Encoding on the request body.
func decodeContentEncoding(enc string, body io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity", "none":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			if isLimitErr(err) {
				return nil, bodyError(err, "read gzip body")
			}
			return nil, newHTTPError(271, "cannot decompress the gzip request body: %v", err)
		}
		return &decodingReader{r: zr}, nil
	case "deflate":
		zr, err := zlib.NewReader(body)
		if err != nil {
			if isLimitErr(err) {
				return nil, bodyError(err, "read deflate body")
			}
			return nil, newHTTPError(271, "cannot decompress the deflate request body: %v", err)
		}
		return &decodingReader{r: zr}, nil
	case "br":
		return &decodingReader{r: brotli.NewReader(body)}, nil
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, newHTTPError(271, "cannot decompress the zstd request body: %v", err)
		}
		return &decodingReader{r: zr.IOReadCloser()}, nil
	}
	return nil, newHTTPError(chdb.CodeNotImplemented, "unsupported Content-Encoding %q: use gzip, deflate, br or zstd", enc)
}

// newBlockReader reads ClickHouse's compressed block framing (decompress=1).
func newBlockReader(r io.Reader) io.Reader { return &decodingReader{r: compress.NewReader(r)} }

// output is the answer's write path: optional Native re-encoding, then
// ClickHouse block compression (compress=1), then HTTP Content-Encoding.
type output struct {
	w       io.Writer // top of the chain
	native  *nativeRevisionWriter
	blocks  *blockWriter
	encoder io.WriteCloser
	flusher http.Flusher
}

func newOutput(w http.ResponseWriter, req *request, format string) (*output, error) {
	o := &output{}
	o.flusher, _ = w.(http.Flusher)
	var dst io.Writer = w
	if req.httpCompress {
		enc, name := acceptEncoder(w, req)
		if enc != nil {
			w.Header().Set("Content-Encoding", name)
			w.Header().Add("Vary", "Accept-Encoding")
			o.encoder = enc
			dst = enc
		}
	}
	if req.compress {
		method := compress.LZ4
		if req.networkMethod == "ZSTD" {
			method = compress.ZSTD
		}
		o.blocks = &blockWriter{dst: dst, c: compress.NewWriter(compress.LevelZero, method)}
		dst = o.blocks
	}
	if strings.EqualFold(format, "Native") && req.protocolRev > 0 {
		o.native = newNativeRevisionWriter(dst, req.protocolRev)
		dst = o.native
	}
	o.w = dst
	return o, nil
}

func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

// close flushes every layer in order.
func (o *output) close() error {
	var errs []error
	if o.native != nil {
		errs = append(errs, o.native.Close())
	}
	if o.blocks != nil {
		errs = append(errs, o.blocks.Flush())
	}
	if o.encoder != nil {
		errs = append(errs, o.encoder.Close())
	}
	return errors.Join(errs...)
}

func (o *output) abort(err error) {
	if o.native != nil {
		o.native.Abort(err)
	}
}

// midStreamException writes an error after a 200 was sent, in ClickHouse's
// format, so clients notice the answer is incomplete.
func (o *output) midStreamException(tag string, err error) {
	if o.native != nil {
		o.native.Abort(err)
		o.native = nil
	}
	msg := err.Error()
	code := chdb.CodeOf(err)
	if code == 0 {
		code = chdb.CodeUnknownException
		msg = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, msg, codeName(code))
	}
	text := fmt.Sprintf("\r\n__exception__\r\n%s\r\n%s\n%d %s\r\n__exception__\r\n", tag, msg, len(msg), tag)
	if o.blocks != nil {
		_, _ = o.blocks.Write([]byte(text))
		_ = o.blocks.Flush()
	} else if o.encoder != nil {
		_, _ = o.encoder.Write([]byte(text))
	} else {
		_, _ = o.w.Write([]byte(text))
	}
	if o.encoder != nil {
		_ = o.encoder.Close()
	}
}

// blockWriter frames output in ClickHouse compressed blocks of up to 1 MiB.
type blockWriter struct {
	dst io.Writer
	c   *compress.Writer
	buf []byte
}

const maxBlock = 1 << 20

func (b *blockWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		room := maxBlock - len(b.buf)
		take := min(room, len(p))
		b.buf = append(b.buf, p[:take]...)
		p = p[take:]
		if len(b.buf) >= maxBlock {
			if err := b.Flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

// Flush compresses and writes what is buffered as one block.
func (b *blockWriter) Flush() error {
	if len(b.buf) == 0 {
		return nil
	}
	if err := b.c.Compress(b.buf); err != nil {
		return fmt.Errorf("compress output block: %w", err)
	}
	b.buf = b.buf[:0]
	_, err := b.dst.Write(b.c.Data)
	return err
}

// acceptEncoder picks a Content-Encoding the client accepts.
func acceptEncoder(w io.Writer, req *request) (io.WriteCloser, string) {
	for _, enc := range strings.Split(req.acceptEncoding, ",") {
		name := strings.ToLower(strings.TrimSpace(strings.SplitN(enc, ";", 2)[0]))
		switch name {
		case "gzip":
			return gzip.NewWriter(w), name
		case "deflate":
			return zlib.NewWriter(w), name
		case "br":
			return brotli.NewWriter(w), name
		case "zstd":
			zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(1))
			if err == nil {
				return zw, name
			}
		}
	}
	return nil, ""
}
