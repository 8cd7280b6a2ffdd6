package tracesummary

import (
	"container/heap"
	"container/list"
	"math"
	"slices"
	"time"
)

const (
	defaultMaxSessions    = 100000
	defaultSessionRare    = 0.05
	defaultSessionFastGap = 0.1
	defaultSessionIdle    = 30 * time.Minute
	defaultSessionSettle  = 3 * time.Second

	sessionHistory = 8  // latest traces remembered per session
	sessionMaxOps  = 32 // distinct entry operations remembered per session
	maxRunTracked  = 64 // longest run of back-to-back requests counted apart
	maxPredecessor = 64 // earlier operations counted per operation
)

// Revision is a trace judged ordinary when it came that a later trace
// showed to be part of an abnormal session: its verdict is now anomalous,
// of Type.
type Revision struct {
	TraceID string
	Type    string
}

// sessionModel learns how the requests of one client session follow each
// other, from the sessions themselves: how long a session normally pauses
// between requests, how many requests in a row sessions send without a
// pause, and which requests normally come before which (a payment after a
// checkout). Counts are per session, not per request, so a session that
// sends hundreds of requests weighs as one session: what sessions rarely
// do stays rare however busy those sessions are.
type sessionModel struct {
	byID map[string]*session
	lru  *list.List // of *session, most recently seen first
	n    rate       // sessions begun
	// gaps is the histogram of log-milliseconds between the answer to a
	// session's request and its next request.
	gaps histogram
	// reach[k]: sessions that sent k+1 requests in a row, each within the
	// fast gap of the answer to the one before.
	reach [maxRunTracked + 1]rate
	order map[string]*opOrder
	// pending are the traces whose place in their session's order is not
	// judged yet: the requests that came before one may still be on their
	// way (traces are released as their spans arrive, not in the order
	// they started).
	pending pendingHeap
}

// opOrder counts the sessions that sent a request to an operation, and of
// them those that had sent a request to each other operation before.
type opOrder struct {
	n      rate
	before map[string]*rate
}

type session struct {
	id     string
	traces []sessionTrace // the latest, by start
	ops    []sessionOp    // by first request
	maxRun int
	// flag is the session anomaly type once one of its requests showed it:
	// the rest of an abnormal session is abnormal too.
	flag string
	last int64 // model time of its latest trace
	elem *list.Element
	gone bool // forgotten: its pending traces are dropped
}

type sessionOp struct {
	op    string
	first int64 // start of its first request, unix ns
}

type sessionTrace struct {
	id         string
	op         string
	start, end int64  // the entry span's: the request and its answer
	run        int    // requests in a row before this one without a pause
	verdict    string // the session anomaly type it was judged with
	settled    bool   // its place in the session's order is judged
	status     int    // the entry span's HTTP status code, 0 when unknown
}

type pendingTrace struct {
	sess *session
	id   string
	due  int64 // model time from which it is settled
}

type pendingHeap []pendingTrace

func (h pendingHeap) Len() int           { return len(h) }
func (h pendingHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h pendingHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap) Push(x any)        { *h = append(*h, x.(pendingTrace)) }
func (h *pendingHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newSessionModel() *sessionModel {
	return &sessionModel{byID: map[string]*session{}, lru: list.New(), order: map[string]*opOrder{}}
}

// judgeSession judges a trace within its session and learns from it. It
// returns the session anomaly type ("" for none): AnomalyRequestRate when
// the session sends more requests back to back than all but SessionRare of
// sessions ever do, AnomalyRetryStorm when the client re-sent the request
// RetryRun times into its trace, or the type an earlier request of the
// session was flagged with — AnomalyUnusualSequence when that request came
// without one that normally precedes it (a payment with no checkout before
// it) and sessions doing so are rarer than SessionRare.
//
// The order is judged once the requests before a trace have surely arrived
// (its session's next request came, or SessionSettle passed): a request
// found out of order then is flagged by revision. revised are the traces,
// of any session, whose verdict this trace's arrival raised.
func (m *Model) judgeSession(s Summary, now int64) (verdict string, revised []Revision) {
	if m.cfg.MaxSessions < 0 {
		return AnomalyNone, nil
	}
	sm, cfg := m.sess, m.cfg
	revised = m.settle(now, nil, 0, nil)
	if s.Session == "" {
		return AnomalyNone, revised
	}
	sess := sm.byID[s.Session]
	if sess != nil && now-sess.last > int64(cfg.SessionIdle) {
		m.forget(sess)
		sess = nil
	}
	sm.n.decay(now, m.tauS, m.tauL)
	if sess == nil {
		for len(sm.byID) >= cfg.MaxSessions {
			m.forget(sm.lru.Back().Value.(*session))
		}
		sess = &session{id: s.Session}
		sess.elem = sm.lru.PushFront(sess)
		sm.byID[s.Session] = sess
		sm.n.add(1)
	} else {
		sm.lru.MoveToFront(sess.elem)
	}
	sess.last = max(sess.last, now)
	start := s.Start.UnixNano()
	end := start
	if !s.EntryEnd.IsZero() {
		end = s.EntryEnd.UnixNano()
	}
	// A later part of a trace already judged: the same verdict.
	for _, t := range sess.traces {
		if t.id == s.TraceID {
			if t.verdict == AnomalyNone {
				return sess.flag, revised
			}
			return t.verdict, revised
		}
	}
	// What a share of sessions does is known once there are a few times
	// MinSamples of them.
	warm := sm.n.l >= float64(5*cfg.MinSamples)
	verdict = AnomalyNone

	// Requests back to back: the run of requests each sent within the fast
	// gap of the answer to the previous one. A person pauses between
	// actions; a script does not.
	pos, _ := slices.BinarySearchFunc(sess.traces, start, func(t sessionTrace, at int64) int {
		switch {
		case t.start < at:
			return -1
		case t.start > at:
			return 1
		}
		return 0
	})
	run := 0
	if pos > 0 {
		prev := sess.traces[pos-1]
		gap := logDuration(time.Duration(start - prev.end)) // <= 0: sent before the answer came
		if sm.gaps.n >= float64(cfg.MinSamples) && gap < sm.gaps.quantile(0.5)+math.Log(cfg.SessionFastGap) {
			run = prev.run + 1
		}
		sm.gaps.add(gap, now, m.tauL)
	}
	if run > sess.maxRun {
		k := min(run, maxRunTracked)
		for i := sess.maxRun + 1; i <= k; i++ {
			r := &sm.reach[i]
			r.decay(now, m.tauS, m.tauL)
			if warm && verdict == AnomalyNone && share(r.l, sm.n.l) < cfg.SessionRare {
				verdict = AnomalyRequestRate
			}
			r.add(1)
		}
		sess.maxRun = run
	}
	// A client that re-sends its request over and over is retrying, not
	// using the shop.
	if verdict == AnomalyNone && s.Resent >= cfg.RetryRun {
		verdict = AnomalyRetryStorm
	}

	op := s.RootOperation
	// A request the service refused for its form (malformed, invalid,
	// too large) did nothing: it neither comes before the session's
	// actions nor breaks their order.
	rejected := refusedForForm(s.EntryStatus)
	if i := slices.IndexFunc(sess.ops, func(o sessionOp) bool { return o.op == op }); !rejected && i >= 0 {
		sess.ops[i].first = min(sess.ops[i].first, start)
	} else if !rejected && len(sess.ops) < sessionMaxOps {
		sess.ops = append(sess.ops, sessionOp{op: op, first: start})
	}
	// This request came after the session's earlier ones were answered:
	// whatever came before them has arrived.
	revised = m.settle(now, sess, start, revised)
	revised = m.flag(sess, verdict, revised)
	if verdict == AnomalyNone {
		verdict = sess.flag
	}
	sess.traces = slices.Insert(sess.traces, pos, sessionTrace{id: s.TraceID, op: op, start: start, end: end, run: run, verdict: verdict, settled: rejected, status: s.EntryStatus})
	if len(sess.traces) > sessionHistory {
		sess.traces = slices.Delete(sess.traces, 0, len(sess.traces)-sessionHistory)
	}
	heap.Push(&sm.pending, pendingTrace{sess: sess, id: s.TraceID, due: now + int64(cfg.SessionSettle)})
	return verdict, revised
}

// flag marks a session abnormal with verdict (the first verdict stays) and
// appends to revised the traces of it judged ordinary so far.
func (m *Model) flag(sess *session, verdict string, revised []Revision) []Revision {
	if verdict == AnomalyNone || sess.flag != AnomalyNone {
		return revised
	}
	sess.flag = verdict
	for i, t := range sess.traces {
		if t.verdict == AnomalyNone {
			sess.traces[i].verdict = verdict
			revised = append(revised, Revision{TraceID: t.id, Type: verdict})
		}
	}
	return revised
}

// settle judges the order of the pending traces that are due, and of
// sess's traces that started before before (when sess is not nil).
func (m *Model) settle(now int64, sess *session, before int64, revised []Revision) []Revision {
	sm := m.sess
	for sm.pending.Len() > 0 && sm.pending[0].due <= now {
		p := heap.Pop(&sm.pending).(pendingTrace)
		if !p.sess.gone {
			revised = m.settleTrace(p.sess, func(t sessionTrace) bool { return t.id == p.id }, now, revised)
		}
	}
	if sess != nil {
		revised = m.settleTrace(sess, func(t sessionTrace) bool { return t.start < before }, now, revised)
	}
	return revised
}

// settleTrace judges and learns the order of the session's unsettled traces
// that match, in start order.
func (m *Model) settleTrace(sess *session, match func(sessionTrace) bool, now int64, revised []Revision) []Revision {
	sm, cfg := m.sess, m.cfg
	warm := sm.n.l >= float64(5*cfg.MinSamples)
	for i := range sess.traces {
		t := &sess.traces[i]
		if t.settled || !match(*t) {
			continue
		}
		t.settled = true
		// Only the first request of the session to an operation tells
		// whether what normally comes before it did.
		if slices.ContainsFunc(sess.ops, func(o sessionOp) bool { return o.op == t.op && o.first < t.start }) {
			continue
		}
		ord := sm.order[t.op]
		if ord == nil {
			ord = &opOrder{before: map[string]*rate{}}
			if len(sm.order) < cfg.MaxOperations {
				sm.order[t.op] = ord
			}
		}
		sm.n.decay(now, m.tauS, m.tauL)
		ord.n.decay(now, m.tauS, m.tauL)
		earlier := func(a string) bool {
			return slices.ContainsFunc(sess.ops, func(o sessionOp) bool { return o.op == a && o.first < t.start })
		}
		verdict := AnomalyNone
		// A request out of the usual order that the service could not
		// serve for what it named (4xx: the cart, order or item does not
		// exist) is a client acting on state it never made; one it served
		// is more likely a shortcut (a link to a product, a saved cart),
		// so it must be twice as rare to count.
		rare := cfg.SessionRare
		if t.status < 400 || t.status >= 500 {
			rare /= 2
		}
		if warm && ord.n.l >= float64(cfg.MinSamples) {
			for a, r := range ord.before {
				r.decay(now, m.tauS, m.tauL)
				// a usually comes first, and sessions that skip it are rare.
				if share(r.l, ord.n.l) >= 0.5 && !earlier(a) && share(ord.n.l-r.l, sm.n.l) < rare {
					verdict = AnomalyUnusualSequence
				}
			}
		}
		ord.n.add(1)
		for _, o := range sess.ops {
			if o.first >= t.start {
				continue
			}
			r := ord.before[o.op]
			if r == nil {
				if len(ord.before) >= maxPredecessor {
					continue
				}
				r = &rate{}
				ord.before[o.op] = r
			}
			r.decay(now, m.tauS, m.tauL)
			r.add(1)
		}
		revised = m.flag(sess, verdict, revised)
	}
	return revised
}

// refusedForForm reports whether an HTTP status says the request was
// refused for how it was sent rather than for the state it named: 400 Bad
// Request, 413 Content Too Large, 414 URI Too Long, 415 Unsupported Media
// Type, 422 Unprocessable Content, 431 Request Header Fields Too Large.
func refusedForForm(status int) bool {
	switch status {
	case 400, 413, 414, 415, 422, 431:
		return true
	}
	return false
}

func (m *Model) forget(sess *session) {
	m.sess.lru.Remove(sess.elem)
	delete(m.sess.byID, sess.id)
	sess.gone = true
}
