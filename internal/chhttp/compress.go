package chhttp

import (
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
	"github.com/go-faster/city"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// decodeError marks a failure to decompress the request body, with the
// code ClickHouse reports for its decompressor.
type decodeError struct {
	err  error
	code int
}

func (e *decodeError) Error() string { return e.err.Error() }
func (e *decodeError) Unwrap() error { return e.err }

func isDecodeError(err error) bool {
	var de *decodeError
	return errors.As(err, &de)
}

// decodingReader wraps a decompressor so its errors are recognisable, and
// makes its first error sticky: a decompressor asked again after a failure
// may not fail again.
type decodingReader struct {
	r    io.Reader
	code int
	err  error
}

func (d *decodingReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n, err := d.r.Read(p)
	switch {
	case err == nil:
	case err == io.EOF: //nolint:errorlint // only the plain end of the stream; a wrapped EOF is a truncation
		err = io.EOF
	case isLimitErr(err):
	default:
		err = &decodeError{err: err, code: d.code}
	}
	d.err = err
	return n, err
}

func isLimitErr(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, errBodyTooLarge)
}

// The codes ClickHouse reports for a body its decompressors cannot read.
const (
	codeCannotDecompress  = 271 // CANNOT_DECOMPRESS: compressed block framing
	codeZlibInflateFailed = 354 // ZLIB_INFLATE_FAILED: gzip, deflate
	codeBrotliReadFailed  = 448 // BROTLI_READ_FAILED
	codeZstdDecodeFailed  = 561 // ZSTD_DECODER_FAILED
)

// decodeContentEncoding undoes an HTTP Content-Encoding on the request body.
func decodeContentEncoding(enc string, body io.Reader) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity", "none":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, bodyError(&decodeError{err: err, code: codeZlibInflateFailed}, "read gzip body")
		}
		return &decodingReader{r: zr, code: codeZlibInflateFailed}, nil
	case "deflate":
		zr, err := zlib.NewReader(body)
		if err != nil {
			return nil, bodyError(&decodeError{err: err, code: codeZlibInflateFailed}, "read deflate body")
		}
		return &decodingReader{r: zr, code: codeZlibInflateFailed}, nil
	case "br":
		return &decodingReader{r: brotli.NewReader(body), code: codeBrotliReadFailed}, nil
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZSTDWindow))
		if err != nil {
			return nil, bodyError(&decodeError{err: err, code: codeZstdDecodeFailed}, "read zstd body")
		}
		return &decodingReader{r: zr.IOReadCloser(), code: codeZstdDecodeFailed}, nil
	}
	return nil, newHTTPError(chdb.CodeNotImplemented, "unsupported Content-Encoding %q: use gzip, deflate, br or zstd", enc)
}

// newBlockReader reads ClickHouse's compressed block framing (decompress=1).
// limit bounds the decompressed bytes of the whole body: a block announcing
// more than is left of it is refused before anything is allocated for it.
func newBlockReader(r io.Reader, limit int64) io.Reader {
	return &decodingReader{r: &blockReader{src: r, left: limit}, code: codeCannotDecompress}
}

// ClickHouse's compressed block: a CityHash128 (v1.0.2, ClickHouse's variant)
// of the rest, then a 9-byte header — method, compressed size including the
// header, decompressed size, both uint32 little-endian — then the payload.
const (
	blockChecksumSize = 16
	blockHeaderSize   = 9
	blockMethodNone   = 0x02
	blockMethodLZ4    = 0x82
	blockMethodZSTD   = 0x90
	// ClickHouse refuses blocks larger than this either way (DBMS_MAX_COMPRESSED_SIZE).
	maxCompressedBlock = 1 << 30
	// The payload is read in steps of this size, so a header announcing a
	// large block costs memory only as its bytes actually arrive.
	blockReadStep = 1 << 20
	// A streaming zstd decoder allocates the window a frame announces, so
	// the window a request body may announce is bounded: 8 MiB is what zstd's
	// levels up to 19 use; larger windows take --ultra or --long.
	maxZSTDWindow = 8 << 20
)

// checksumError is a block whose checksum does not match its contents.
type checksumError struct{ want, got city.U128 }

func (e *checksumError) Error() string {
	return fmt.Sprintf("checksum doesn't match: corrupted data. Reference: %016x%016x. Actual: %016x%016x",
		e.want.High, e.want.Low, e.got.High, e.got.Low)
}

// blockReader decodes ClickHouse's compressed blocks. ch-go's reader is not
// used here: it allocates what a block header announces (up to 256 MiB)
// before reading or checking anything, which lets a 25-byte request cost
// that much memory.
type blockReader struct {
	src  io.Reader
	left int64 // decompressed bytes the body may still yield
	raw  []byte
	data []byte // current block, decompressed
	pos  int
	zstd *zstd.Decoder
}

func (b *blockReader) Read(p []byte) (int, error) {
	// Skip empty blocks rather than answer (0, nil).
	for b.pos >= len(b.data) {
		if err := b.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.data[b.pos:])
	b.pos += n
	return n, nil
}

func (b *blockReader) next() error {
	var head [blockChecksumSize + blockHeaderSize]byte
	if n, err := io.ReadFull(b.src, head[:]); err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return io.EOF
		}
		if isLimitErr(err) {
			return err
		}
		// Not wrapped: a wrapped io.EOF would pass for the end of the body.
		return fmt.Errorf("truncated compressed block header (%d of %d bytes): %v", n, len(head), err)
	}
	method := head[blockChecksumSize]
	compressed := int64(binary.LittleEndian.Uint32(head[blockChecksumSize+1:]))
	size := int64(binary.LittleEndian.Uint32(head[blockChecksumSize+5:]))
	switch {
	case method != blockMethodNone && method != blockMethodLZ4 && method != blockMethodZSTD:
		return fmt.Errorf("unknown compression method 0x%02x in compressed block", method)
	case compressed < blockHeaderSize || compressed > maxCompressedBlock:
		return fmt.Errorf("compressed block size %d is out of range", compressed)
	case size > maxCompressedBlock:
		return fmt.Errorf("decompressed block size %d is out of range", size)
	case size > b.left:
		return errBodyTooLarge
	case method == blockMethodNone && size != compressed-blockHeaderSize:
		return fmt.Errorf("uncompressed block of %d bytes announces %d", compressed-blockHeaderSize, size)
	}

	// The checksum covers the header and the payload.
	b.raw = append(b.raw[:0], head[blockChecksumSize:]...)
	for want := int(compressed); len(b.raw) < want; {
		step := min(want-len(b.raw), blockReadStep)
		b.raw = slices.Grow(b.raw, step)
		n, err := io.ReadFull(b.src, b.raw[len(b.raw):len(b.raw)+step])
		b.raw = b.raw[:len(b.raw)+n]
		if err != nil {
			if isLimitErr(err) {
				return err
			}
			return fmt.Errorf("truncated compressed block (%d of %d bytes): %v", len(b.raw), want, err)
		}
	}
	wantSum := city.U128{Low: binary.LittleEndian.Uint64(head[0:8]), High: binary.LittleEndian.Uint64(head[8:16])}
	if got := city.CH128(b.raw); got != wantSum {
		return &checksumError{want: wantSum, got: got}
	}

	payload := b.raw[blockHeaderSize:]
	switch method {
	case blockMethodNone:
		b.data = append(b.data[:0], payload...)
	case blockMethodLZ4:
		b.data = slices.Grow(b.data[:0], int(size))[:size]
		n, err := lz4.UncompressBlock(payload, b.data)
		if err != nil {
			return fmt.Errorf("cannot decompress LZ4 block: %w", err)
		}
		if int64(n) != size {
			return fmt.Errorf("LZ4 block decompressed to %d bytes, its header announces %d", n, size)
		}
	case blockMethodZSTD:
		// DecodeAll writes into the output directly, where a streaming
		// decoder would first allocate the window the frame announces (up
		// to its limit, for a frame of a few bytes). The decoder's memory
		// limit is the body's, so a payload expanding beyond what its header
		// says stops there.
		if b.zstd == nil {
			d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max(b.left, 1))))
			if err != nil {
				return err
			}
			b.zstd = d
		}
		out, err := b.zstd.DecodeAll(payload, slices.Grow(b.data[:0], int(size)))
		if err != nil {
			return fmt.Errorf("cannot decompress ZSTD block: %w", err)
		}
		if int64(len(out)) != size {
			return fmt.Errorf("ZSTD block decompressed to %d bytes, its header announces %d", len(out), size)
		}
		b.data = out
	}
	b.left -= size
	b.pos = 0
	return nil
}

// output is the answer's write path: optional Native re-encoding, then
// ClickHouse block compression (compress=1), then HTTP Content-Encoding.
type output struct {
	w       io.Writer // top of the chain
	base    io.Writer // the chain below the Native re-encoding
	native  *nativeRevisionWriter
	blocks  *blockWriter
	encoder io.WriteCloser
	flusher http.Flusher
	// version is appended to exception messages, as ClickHouse does.
	version string
}

func newOutput(w http.ResponseWriter, req *request, format string) *output {
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
	o.base = dst
	if strings.EqualFold(format, "Native") && req.protocolRev > 0 {
		o.native = newNativeRevisionWriter(dst, req.protocolRev)
		dst = o.native
	}
	o.w = dst
	return o
}

func (o *output) Write(p []byte) (int, error) { return o.w.Write(p) }

// close flushes every layer in order. On failure the layers below the
// failing one stay open, so that an exception can still be written.
func (o *output) close() error {
	if o.native != nil {
		if err := o.native.Close(); err != nil {
			return err
		}
		o.native = nil
	}
	if o.blocks != nil {
		if err := o.blocks.Flush(); err != nil {
			return err
		}
	}
	if o.encoder != nil {
		if err := o.encoder.Close(); err != nil {
			return err
		}
		o.encoder = nil
	}
	return nil
}

// abort stops the Native re-encoding, if any, without flushing anything.
func (o *output) abort(err error) {
	if o.native != nil {
		o.native.Abort(err)
		o.native = nil
	}
}

// midStreamException writes an error after a 200 was sent, as ClickHouse
// does: in its exception block, through the compression layers (a client
// reading compressed blocks finds it in the next block), then flushed. The
// caller then breaks the HTTP response off, so that no client can take the
// partial answer for a whole one.
func (o *output) midStreamException(tag string, err error) {
	o.abort(err)
	msg := err.Error()
	var ce *chdb.Error
	if errors.As(err, &ce) {
		msg = ce.Message
	} else if !strings.HasPrefix(msg, "Code: ") {
		code := chdb.CodeUnknownException
		var he *httpError
		if errors.As(err, &he) {
			code = he.code
		}
		msg = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, msg, codeName(code))
	}
	if o.version != "" && !strings.Contains(msg, "(version ") {
		msg += " (version " + o.version + ")"
	}
	// The declared length counts the message's terminating newline, as
	// ClickHouse's does; clients cut the message out by it.
	text := fmt.Sprintf("\r\n__exception__\r\n%s\r\n%s\n%d %s\r\n__exception__\r\n", tag, msg, len(msg)+1, tag)
	_, _ = o.base.Write([]byte(text))
	if o.blocks != nil {
		_ = o.blocks.Flush()
	}
	if o.encoder != nil {
		_ = o.encoder.Close()
		o.encoder = nil
	}
	if o.flusher != nil {
		o.flusher.Flush()
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
