package replay

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Recorder is an OTLP/HTTP endpoint that appends every request it gets to a
// recording and, when Forward is set, passes it on to the collector and
// answers with the collector's answer. Point the app's OTLP/HTTP endpoint
// at it for the run (sampleapp --otlp-endpoint).
type Recorder struct {
	// Forward is the collector's OTLP/HTTP base URL; empty answers 200 to
	// everything and forwards nothing.
	Forward string
	Client  *http.Client

	mu       sync.Mutex
	w        *Writer
	requests atomic.Int64
	bytes    atomic.Int64
}

// NewRecorder records onto w.
func NewRecorder(w io.Writer, forward string) (*Recorder, error) {
	fw, err := NewWriter(w)
	if err != nil {
		return nil, err
	}
	return &Recorder{Forward: strings.TrimRight(forward, "/"), Client: &http.Client{Timeout: 30 * time.Second}, w: fw}, nil
}

var otlpPaths = map[string]bool{"/v1/traces": true, "/v1/logs": true, "/v1/metrics": true}

// ServeHTTP records one OTLP request.
func (rec *Recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !otlpPaths[r.URL.Path] {
		http.Error(w, "loadgen record takes OTLP/HTTP: POST /v1/traces, /v1/logs or /v1/metrics", http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-protobuf") {
		http.Error(w, fmt.Sprintf("Content-Type %q: loadgen record stores OTLP protobuf (application/x-protobuf); set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", ct), http.StatusUnsupportedMediaType)
		return
	}
	var body io.Reader = http.MaxBytesReader(w, r.Body, maxBody)
	if r.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, "bad gzip body: "+err.Error(), http.StatusBadRequest)
			return
		}
		body = io.LimitReader(gz, maxBody+1)
	}
	payload, err := io.ReadAll(body)
	if err != nil || len(payload) > maxBody {
		http.Error(w, fmt.Sprintf("body unreadable or over %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return
	}
	status, answer := http.StatusOK, []byte(nil)
	if rec.Forward != "" {
		resp, err := rec.Client.Post(rec.Forward+r.URL.Path, "application/x-protobuf", bytes.NewReader(payload))
		if err != nil {
			http.Error(w, "collector unreachable: "+err.Error(), http.StatusBadGateway)
			return
		}
		answer, _ = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		status = resp.StatusCode
	}
	// What the collector refused is not what it received: only requests
	// it accepted (or all, without a collector) go into the recording.
	if status == http.StatusOK {
		rec.mu.Lock()
		err = rec.w.Write(Frame{Kind: KindOTLP, At: time.Now(), Path: r.URL.Path, Body: payload})
		rec.mu.Unlock()
		if err != nil {
			http.Error(w, "cannot write the recording: "+err.Error(), http.StatusInternalServerError)
			return
		}
		rec.requests.Add(1)
		rec.bytes.Add(int64(len(payload)))
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

// Stats returns the requests and payload bytes recorded so far.
func (rec *Recorder) Stats() (requests, bytes int64) { return rec.requests.Load(), rec.bytes.Load() }

// AddGroundTruth appends the lines of a ground-truth JSON-lines file (as
// loadgen run writes it) to the recording.
func (rec *Recorder) AddGroundTruth(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read the ground truth: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), maxBody)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	n := 0
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if err := rec.w.Write(Frame{Kind: KindTruth, At: time.Now(), Body: append([]byte(nil), line...)}); err != nil {
			return n, err
		}
		n++
	}
	return n, sc.Err()
}

// Close flushes the recording.
func (rec *Recorder) Close() error {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return rec.w.Flush()
}
