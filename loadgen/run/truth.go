package run

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
)

// Ground-truth record kinds.
const (
	KindRunStart     = "run_start"
	KindFaultWindow  = "fault_window"
	KindErrorJourney = "error_journey"
	KindAnomalous    = "anomalous_journey"
	KindEdgeCase     = "edge_case_journey"
	KindRunEnd       = "run_end"
)

var journeyKinds = map[string]string{ErrorInjection: KindErrorJourney, Anomalous: KindAnomalous, EdgeCase: KindEdgeCase}

// WindowRecord is one fault window: what was injected, when, and the traces
// that ran through the affected services while it was open.
type WindowRecord struct {
	Kind             string          `json:"kind"`
	Scenario         string          `json:"scenario"`
	Description      string          `json:"description,omitempty"`
	RootCause        string          `json:"root_cause"`
	RootCauseService string          `json:"root_cause_service"`
	RootCauseKind    string          `json:"root_cause_kind"`
	Trigger          string          `json:"trigger"` // "random" or "scheduled"
	Start            time.Time       `json:"start"`
	End              time.Time       `json:"end"`
	AdminID          string          `json:"admin_id"`
	Faults           []faultapi.Spec `json:"faults"`
	AffectedServices []string        `json:"affected_services"`
	Journeys         int             `json:"journeys"`
	Requests         int             `json:"requests"`
	TraceIDs         []string        `json:"trace_ids"`
	// ErrorTraceIDs are the touched traces whose request got a 5xx or no
	// answer.
	ErrorTraceIDs []string `json:"error_trace_ids"`
	// AffectedSessions are the user sessions with a touched request;
	// AffectedBrowserSessions those of them a browser recorded, and
	// ErrorSessions those with a touched request that failed.
	AffectedSessions        []string `json:"affected_sessions"`
	AffectedBrowserSessions []string `json:"affected_browser_sessions"`
	ErrorSessions           []string `json:"error_sessions"`
}

// RequestRecord is a request as the ground truth lists it.
type RequestRecord struct {
	TraceID string    `json:"trace_id"`
	Route   string    `json:"route"`
	Status  int       `json:"status"`
	Error   string    `json:"error,omitempty"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
}

// JourneyRecord is one journey that is not normal traffic by design.
type JourneyRecord struct {
	Kind      string          `json:"kind"`
	JourneyID string          `json:"journey_id"`
	SessionID string          `json:"session_id"`
	Category  string          `json:"category"`
	Pattern   string          `json:"pattern"`
	Expect    string          `json:"expect"`
	Start     time.Time       `json:"start"`
	End       time.Time       `json:"end"`
	TraceIDs  []string        `json:"trace_ids"`
	Requests  []RequestRecord `json:"requests"`
	Notes     []string        `json:"notes,omitempty"`
}

type openWindow struct {
	rec      WindowRecord
	affected map[string]bool
	traces   map[string]bool
	errs     map[string]bool
	journeys map[string]bool
	sessions map[string]bool
	browser  map[string]bool
	errSess  map[string]bool
	ended    bool
}

func newOpenWindow(rec WindowRecord) *openWindow {
	w := &openWindow{rec: rec, affected: map[string]bool{}, traces: map[string]bool{}, errs: map[string]bool{}, journeys: map[string]bool{},
		sessions: map[string]bool{}, browser: map[string]bool{}, errSess: map[string]bool{}}
	for _, s := range rec.AffectedServices {
		w.affected[s] = true
	}
	return w
}

// touches reports whether req overlapped the window and ran through an
// affected service.
func (w *openWindow) touches(req Request) bool {
	if !req.End.After(w.rec.Start) || (w.ended && !req.Start.Before(w.rec.End)) {
		return false
	}
	return slices.ContainsFunc(services(req.Route), func(s string) bool { return w.affected[s] })
}

// truth keeps the ground truth: it attributes finished requests to fault
// windows and writes each window once no request that started while it was
// open is still running.
type truth struct {
	mu       sync.Mutex
	f        *os.File
	w        *bufio.Writer
	err      error
	seq      uint64
	inflight map[uint64]time.Time
	windows  []*openWindow
	done     []WindowRecord
}

func openTruth(path string) (*truth, error) {
	t := &truth{inflight: map[uint64]time.Time{}}
	if path == "" {
		return t, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create ground-truth file: %w", err)
	}
	t.f, t.w = f, bufio.NewWriter(f)
	return t, nil
}

func (t *truth) writeLocked(v any) {
	if t.w == nil || t.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err == nil {
		b = append(b, '\n')
		_, err = t.w.Write(b)
	}
	if err == nil {
		err = t.w.Flush()
	}
	if err != nil {
		t.err = fmt.Errorf("write ground truth: %w", err)
	}
}

func (t *truth) write(v any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writeLocked(v)
}

func (t *truth) requestStarted(at time.Time) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.inflight[t.seq] = at
	return t.seq
}

func (t *truth) requestDone(id uint64, journeyID string, req Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.inflight, id)
	for _, w := range t.windows {
		if !w.touches(req) {
			continue
		}
		w.rec.Requests++
		w.journeys[journeyID] = true
		if !w.traces[req.TraceID] {
			w.traces[req.TraceID] = true
			w.rec.TraceIDs = append(w.rec.TraceIDs, req.TraceID)
		}
		if req.Failed() && !w.errs[req.TraceID] {
			w.errs[req.TraceID] = true
			w.rec.ErrorTraceIDs = append(w.rec.ErrorTraceIDs, req.TraceID)
		}
		if sid := req.Session; sid != "" {
			addOnce(w.sessions, &w.rec.AffectedSessions, sid)
			if req.Browser {
				addOnce(w.browser, &w.rec.AffectedBrowserSessions, sid)
			}
			if req.Failed() {
				addOnce(w.errSess, &w.rec.ErrorSessions, sid)
			}
		}
	}
	t.flushWindowsLocked(false)
}

func addOnce(seen map[string]bool, list *[]string, v string) {
	if !seen[v] {
		seen[v] = true
		*list = append(*list, v)
	}
}

func (t *truth) windowOpened(w *openWindow) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.windows = append(t.windows, w)
}

func (t *truth) windowClosed(w *openWindow, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w.rec.End, w.ended = end, true
	t.flushWindowsLocked(false)
}

// flushWindowsLocked writes ended windows no running request can still
// touch (all of them when force is set).
func (t *truth) flushWindowsLocked(force bool) {
	kept := t.windows[:0]
	for _, w := range t.windows {
		ready := w.ended
		if ready && !force {
			for _, start := range t.inflight {
				if start.Before(w.rec.End) {
					ready = false
					break
				}
			}
		}
		if !ready && !force {
			kept = append(kept, w)
			continue
		}
		if w.rec.End.IsZero() {
			w.rec.End = time.Now()
		}
		w.rec.Journeys = len(w.journeys)
		if w.rec.TraceIDs == nil {
			w.rec.TraceIDs = []string{}
		}
		for _, l := range []*[]string{&w.rec.ErrorTraceIDs, &w.rec.AffectedSessions, &w.rec.AffectedBrowserSessions, &w.rec.ErrorSessions} {
			if *l == nil {
				*l = []string{}
			}
		}
		t.writeLocked(w.rec)
		t.done = append(t.done, w.rec)
	}
	t.windows = kept
}

func (t *truth) journeyDone(j *journey) {
	kind, ok := journeyKinds[j.category]
	if !ok {
		return
	}
	rec := JourneyRecord{Kind: kind, JourneyID: j.id, SessionID: j.session, Category: j.category, Pattern: j.pattern,
		Expect: lookupPattern(j.pattern).expect, Start: j.start, End: j.end, TraceIDs: j.traces, Notes: j.notes}
	if rec.TraceIDs == nil {
		rec.TraceIDs = []string{}
	}
	for _, r := range j.reqs {
		rec.Requests = append(rec.Requests, RequestRecord{TraceID: r.TraceID, Route: r.Route, Status: r.Status, Error: r.Err, Start: r.Start, End: r.End})
	}
	t.write(rec)
}

// windowsWritten returns the windows written so far.
func (t *truth) windowsWritten() []WindowRecord {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.done)
}

// close writes what is left and closes the file.
func (t *truth) close(final any) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.flushWindowsLocked(true)
	if final != nil {
		t.writeLocked(final)
	}
	if t.f != nil {
		if err := t.f.Close(); err != nil && t.err == nil {
			t.err = fmt.Errorf("close ground truth: %w", err)
		}
	}
	return t.err
}
