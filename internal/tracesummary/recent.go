package tracesummary

import (
	"container/list"
	"sync"
	"time"
)

// Recent remembers the spans of recently summarised traces, so that spans
// arriving after their trace was released — groupbytrace releases a trace a
// fixed wait after its first span, and a trace that runs longer than that
// reaches the processor in parts — are summarised together with the rest of
// their trace instead of as a headless fragment. Memory is bounded by
// MaxSpans; a trace is forgotten Window after it was last seen. Safe for
// concurrent use.
type Recent struct {
	window   time.Duration
	maxSpans int

	mu     sync.Mutex
	traces map[string]*recentTrace
	order  *list.List // of *recentTrace, least recently seen first
	spans  int
}

type recentTrace struct {
	id      string
	spans   []Span
	payload any
	seen    time.Time
	elem    *list.Element
}

// NewRecent creates a Recent; window <= 0 or maxSpans <= 0 disables it
// (Add then returns the spans it was given).
func NewRecent(window time.Duration, maxSpans int) *Recent {
	return &Recent{window: window, maxSpans: maxSpans, traces: map[string]*recentTrace{}, order: list.New()}
}

// Enabled reports whether parts are remembered at all.
func (r *Recent) Enabled() bool { return r != nil && r.window > 0 && r.maxSpans > 0 }

// Add records a part of a trace. It returns all the trace's spans seen within
// the window — the earlier parts first, so the first prev of them are from
// earlier parts — and the payload Keep stored with the earlier parts (nil
// when this is the first part).
func (r *Recent) Add(traceID string, spans []Span, now time.Time) (all []Span, prev int, payload any) {
	if !r.Enabled() {
		return spans, 0, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.expire(now)
	t := r.traces[traceID]
	if t == nil {
		if len(spans) > r.maxSpans {
			return spans, 0, nil
		}
		t = &recentTrace{id: traceID}
		t.elem = r.order.PushBack(t)
		r.traces[traceID] = t
	} else {
		r.order.MoveToBack(t.elem)
	}
	prev, payload = len(t.spans), t.payload
	all = make([]Span, 0, prev+len(spans))
	all = append(append(all, t.spans...), spans...)
	r.spans += len(spans)
	t.spans, t.seen = all, now
	for r.spans > r.maxSpans && r.order.Len() > 0 {
		r.drop(r.order.Front().Value.(*recentTrace))
	}
	return all, prev, payload
}

// Keep stores a payload with a remembered trace (the caller's copy of its
// entry span, say) for Add to return with the trace's next part.
func (r *Recent) Keep(traceID string, payload any) {
	if !r.Enabled() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.traces[traceID]; t != nil {
		t.payload = payload
	}
}

// Kept returns the payload Keep stored with a remembered trace (nil when
// the trace is not remembered or has none).
func (r *Recent) Kept(traceID string) any {
	if !r.Enabled() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.traces[traceID]; t != nil {
		return t.payload
	}
	return nil
}

// Len is how many traces are remembered.
func (r *Recent) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.traces)
}

func (r *Recent) expire(now time.Time) {
	for e := r.order.Front(); e != nil; e = r.order.Front() {
		t := e.Value.(*recentTrace)
		if now.Sub(t.seen) < r.window {
			return
		}
		r.drop(t)
	}
}

func (r *Recent) drop(t *recentTrace) {
	r.order.Remove(t.elem)
	delete(r.traces, t.id)
	r.spans -= len(t.spans)
}
