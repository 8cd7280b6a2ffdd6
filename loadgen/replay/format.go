// Package replay records what an OpenTelemetry collector receives over
// OTLP/HTTP during a run (the requests as sent, and the run's ground truth)
// to a file, and sends a recording back, with its timestamps shifted into a
// chosen window and its trace, span and session ids re-seeded, so that a
// short recording becomes as much distinct data as wanted. See
// loadgen/README.md, "Record and replay".
package replay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// magic starts every recording file.
const magic = "otelcol-agentic recording v1\n"

// Frame kinds.
const (
	// KindOTLP is one OTLP/HTTP request: Path is /v1/traces, /v1/logs or
	// /v1/metrics, Body its protobuf payload (uncompressed).
	KindOTLP byte = 'O'
	// KindTruth is one JSON line of the run's ground truth.
	KindTruth byte = 'T'
)

// Frame is one record of a recording.
type Frame struct {
	Kind byte
	// At is when the request arrived (for truth lines: when it was added).
	At   time.Time
	Path string
	Body []byte
}

// Limits of a frame, so that a damaged file cannot make the reader
// allocate without bound.
const (
	maxPath = 256
	maxBody = 64 << 20
)

// Writer appends frames to a recording.
type Writer struct {
	w   *bufio.Writer
	buf [binary.MaxVarintLen64]byte
}

// NewWriter starts a recording on w.
func NewWriter(w io.Writer) (*Writer, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(magic); err != nil {
		return nil, err
	}
	return &Writer{w: bw}, nil
}

func (w *Writer) uvarint(v uint64) error {
	n := binary.PutUvarint(w.buf[:], v)
	_, err := w.w.Write(w.buf[:n])
	return err
}

// Write appends a frame.
func (w *Writer) Write(f Frame) error {
	if len(f.Path) > maxPath || len(f.Body) > maxBody {
		return fmt.Errorf("frame too large: path %d bytes (max %d), body %d bytes (max %d)", len(f.Path), maxPath, len(f.Body), maxBody)
	}
	if err := w.w.WriteByte(f.Kind); err != nil {
		return err
	}
	if err := w.uvarint(uint64(f.At.UnixNano())); err != nil {
		return err
	}
	if err := w.uvarint(uint64(len(f.Path))); err != nil {
		return err
	}
	if _, err := w.w.WriteString(f.Path); err != nil {
		return err
	}
	if err := w.uvarint(uint64(len(f.Body))); err != nil {
		return err
	}
	_, err := w.w.Write(f.Body)
	return err
}

// Flush writes buffered frames through.
func (w *Writer) Flush() error { return w.w.Flush() }

// Reader reads the frames of a recording.
type Reader struct {
	r *bufio.Reader
}

// ErrNotRecording is returned for a file that does not start like a
// recording.
var ErrNotRecording = errors.New("not a recording made by loadgen record (bad header)")

// NewReader checks the header and returns a reader of the frames.
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || string(head) != magic {
		return nil, ErrNotRecording
	}
	return &Reader{r: br}, nil
}

// Next returns the next frame, or io.EOF after the last.
func (r *Reader) Next() (Frame, error) {
	kind, err := r.r.ReadByte()
	if err != nil {
		return Frame{}, err // io.EOF at a frame boundary: the end
	}
	if kind != KindOTLP && kind != KindTruth {
		return Frame{}, fmt.Errorf("recording damaged: unknown frame kind %q", kind)
	}
	at, err := binary.ReadUvarint(r.r)
	if err != nil {
		return Frame{}, truncated(err)
	}
	n, err := binary.ReadUvarint(r.r)
	if err != nil {
		return Frame{}, truncated(err)
	}
	if n > maxPath {
		return Frame{}, fmt.Errorf("recording damaged: a path of %d bytes (max %d)", n, maxPath)
	}
	path := make([]byte, n)
	if _, err := io.ReadFull(r.r, path); err != nil {
		return Frame{}, truncated(err)
	}
	n, err = binary.ReadUvarint(r.r)
	if err != nil {
		return Frame{}, truncated(err)
	}
	if n > maxBody {
		return Frame{}, fmt.Errorf("recording damaged: a body of %d bytes (max %d)", n, maxBody)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r.r, body); err != nil {
		return Frame{}, truncated(err)
	}
	return Frame{Kind: kind, At: time.Unix(0, int64(at)), Path: string(path), Body: body}, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("recording truncated or damaged: %w", err)
}

// ReadAll reads every frame of a recording.
func ReadAll(r io.Reader) ([]Frame, error) {
	rd, err := NewReader(r)
	if err != nil {
		return nil, err
	}
	var out []Frame
	for {
		f, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}
