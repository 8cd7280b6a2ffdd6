package chhttp

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
)

// progress is ClickHouse's progress record, as its X-ClickHouse-Progress and
// X-ClickHouse-Summary headers carry it.
type progress struct {
	chdb.Stats
	TotalRowsToRead uint64
}

// json writes the record as ClickHouse does (ProgressValues::writeJSON):
// numbers in strings, so that JavaScript keeps 64-bit values whole.
func (p progress) json() string {
	return fmt.Sprintf(`{"read_rows":"%d","read_bytes":"%d","written_rows":"%d","written_bytes":"%d","total_rows_to_read":"%d","result_rows":"%d","result_bytes":"%d","elapsed_ns":"%d"}`,
		p.RowsRead, p.BytesRead, p.RowsWritten, p.BytesWritten, p.TotalRowsToRead, p.ResultRows, p.ResultBytes, int64(p.Elapsed*1e9))
}

// control runs a statement on the server's control connection, which kills
// statements and reads their progress from system.processes.
func (s *Server) control(sql string) *chdb.Result {
	s.killMu.Lock()
	defer s.killMu.Unlock()
	if s.killConn == nil {
		c, err := s.engine.NewConn(nil)
		if err != nil {
			return nil
		}
		s.killConn = c
	}
	res, err := s.killConn.Query(sql, "TabSeparated")
	if err != nil {
		s.killConn.Close()
		s.killConn = nil
		return nil
	}
	return res
}

// progressOf reads the progress of the running statement carrying marker.
func (s *Server) progressOf(marker string) (progress, bool) {
	res := s.control("SELECT read_rows, read_bytes, written_rows, written_bytes, total_rows_approx, elapsed FROM system.processes WHERE " +
		markerCondition(marker) + " LIMIT 1")
	if res == nil {
		return progress{}, false
	}
	f := strings.Split(strings.TrimSpace(string(res.Data)), "\t")
	if len(f) != 6 {
		return progress{}, false
	}
	var n [5]uint64
	for i := range n {
		n[i], _ = strconv.ParseUint(f[i], 10, 64)
	}
	elapsed, _ := strconv.ParseFloat(f[5], 64)
	return progress{
		Stats:           chdb.Stats{RowsRead: n[0], BytesRead: n[1], RowsWritten: n[2], BytesWritten: n[3], Elapsed: elapsed},
		TotalRowsToRead: n[4],
	}, true
}

// progressHeaders collects X-ClickHouse-Progress records while a statement
// runs and its answer's headers are not sent yet
// (send_progress_in_http_headers=1): at most one per interval, and only
// when the statement made progress, as ClickHouse sends them.
type progressHeaders struct {
	s        *Server
	marker   string
	interval time.Duration
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	records  []string
	last     progress
}

// maxProgressHeaders bounds the records kept for one answer.
const maxProgressHeaders = 1000

func (s *Server) startProgressHeaders(marker string, interval time.Duration) *progressHeaders {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	h := &progressHeaders{s: s, marker: marker, interval: interval, stop: make(chan struct{})}
	stop := h.stop
	h.wg.Go(func() { h.run(stop) })
	return h
}

func (h *progressHeaders) run(stop <-chan struct{}) {
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		p, ok := h.s.progressOf(h.marker)
		if !ok {
			continue
		}
		h.mu.Lock()
		if (p.RowsRead != h.last.RowsRead || p.RowsWritten != h.last.RowsWritten) && len(h.records) < maxProgressHeaders {
			h.records = append(h.records, p.json())
			h.last = p
		}
		h.mu.Unlock()
	}
}

// finish stops collecting and adds the records to the answer's headers
// (none when hdr is nil). Calls after the first do nothing.
func (h *progressHeaders) finish(hdr http.Header) {
	if h == nil || h.stop == nil {
		return
	}
	close(h.stop)
	h.stop = nil
	h.wg.Wait()
	for _, r := range h.records {
		hdr.Add("X-ClickHouse-Progress", r)
	}
}
