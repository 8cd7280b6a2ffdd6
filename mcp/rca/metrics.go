package rca

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Metric roles, recognised by name so that any SDK's pool and memory
// metrics count: OTel semantic conventions (db.client.connection.count
// {state=used}, .max, .pending_requests, .timeouts), Go runtime
// (process.runtime.go.mem.heap_alloc), JVM (jvm.memory.used), process
// memory (process.memory.usage).
const (
	rolePoolUsed     = "pool_used"
	rolePoolMax      = "pool_max"
	rolePoolPending  = "pool_pending"
	rolePoolTimeouts = "pool_timeouts"
	roleHeap         = "heap"
)

func metricRole(p MetricPoint) string {
	n := strings.ToLower(p.Metric)
	state := strings.ToLower(p.State)
	poolish := strings.Contains(n, "connection") || strings.Contains(n, "pool")
	switch {
	case poolish && strings.Contains(n, "timeout"):
		return rolePoolTimeouts
	case poolish && (strings.Contains(n, "pending") || strings.Contains(n, "waiting")) && !p.Monotonic:
		return rolePoolPending
	case poolish && (strings.HasSuffix(n, ".max") || strings.Contains(n, "max_open") || strings.Contains(n, ".limit")) && !p.Monotonic:
		return rolePoolMax
	case poolish && !p.Monotonic && (state == "used" || state == "in_use" || state == "active" ||
		strings.Contains(n, "in_use") || strings.Contains(n, "inuse") || strings.HasSuffix(n, ".used") || strings.HasSuffix(n, ".active")):
		return rolePoolUsed
	case !p.Monotonic && !strings.Contains(n, "limit") && !strings.Contains(n, "max") &&
		(strings.Contains(n, "heap") || strings.Contains(n, "memory.used") || strings.Contains(n, "memory.usage") ||
			strings.Contains(n, "mem.used") || strings.HasSuffix(n, ".rss") || strings.Contains(n, "resident")):
		return roleHeap
	}
	return ""
}

type series struct {
	metric, state string
	points        []MetricPoint // by minute
}

type serviceMetrics struct {
	pool, heap float64 // 0..1 signal strength
	heapLeak   bool
	poolEv     []MetricEvidence
	heapEv     []MetricEvidence
	poolStart  *time.Time
	heapStart  *time.Time
	// heapKey identifies the heap series' values: services run in one
	// process report the same heap, which is one cause, not several.
	heapKey string
}

func (sm *serviceMetrics) memoryKind() Kind {
	if sm.heapLeak {
		return KindMemoryLeak
	}
	return KindMemoryPressure
}

func (sm *serviceMetrics) evidenceFor(kind Kind) []MetricEvidence {
	switch kind {
	case KindDBPoolExhaustion:
		return sm.poolEv
	case KindMemoryLeak, KindMemoryPressure:
		return sm.heapEv
	}
	var out []MetricEvidence
	if sm.pool >= 0.3 {
		out = append(out, sm.poolEv...)
	}
	if sm.heap >= 0.3 {
		out = append(out, sm.heapEv...)
	}
	return out
}

func (sm *serviceMetrics) startedAt(kind Kind) *time.Time {
	switch kind {
	case KindDBPoolExhaustion:
		return sm.poolStart
	case KindMemoryLeak, KindMemoryPressure:
		return sm.heapStart
	}
	return nil
}

func analyzeMetrics(in Input) map[string]*serviceMetrics {
	byService := map[string]map[string]*series{}
	for _, p := range in.Metrics {
		role := metricRole(p)
		if role == "" {
			continue
		}
		m := byService[p.Service]
		if m == nil {
			m = map[string]*series{}
			byService[p.Service] = m
		}
		k := role + "\x00" + p.Metric + "\x00" + p.State
		s := m[k]
		if s == nil {
			s = &series{metric: p.Metric, state: p.State}
			m[k] = s
		}
		s.points = append(s.points, p)
	}
	out := map[string]*serviceMetrics{}
	for svc, m := range byService {
		roles := map[string]*series{}
		for _, k := range sortedKeys(m) {
			s := m[k]
			slices.SortFunc(s.points, func(a, b MetricPoint) int { return a.Minute.Compare(b.Minute) })
			role, _, _ := strings.Cut(k, "\x00")
			if roles[role] == nil {
				roles[role] = s
			}
		}
		sm := &serviceMetrics{}
		poolSignal(in, roles, sm)
		heapSignal(in, roles[roleHeap], sm)
		if h := roles[roleHeap]; h != nil {
			var b strings.Builder
			for _, p := range h.points {
				fmt.Fprintf(&b, "%d:%g;", p.Minute.Unix(), p.Value)
			}
			sm.heapKey = b.String()
		}
		if sm.pool > 0 || sm.heap > 0 || len(sm.poolEv) > 0 || len(sm.heapEv) > 0 {
			out[svc] = sm
		}
	}
	// Name the services that share a heap series in its note.
	shared := map[string][]string{}
	for _, svc := range sortedKeys(out) {
		if k := out[svc].heapKey; k != "" && out[svc].heap > 0 {
			shared[k] = append(shared[k], svc)
		}
	}
	for _, svcs := range shared {
		if len(svcs) < 2 {
			continue
		}
		for _, svc := range svcs {
			for i := range out[svc].heapEv {
				if out[svc].heapEv[i].Note != "" {
					out[svc].heapEv[i].Note += fmt.Sprintf(" (identical in %s: one process)", strings.Join(svcs, ", "))
				}
			}
		}
	}
	return out
}

// split returns the baseline's and the window's points.
func split(in Input, s *series) (base, cur []MetricPoint) {
	for _, p := range s.points {
		if p.Minute.Before(in.Start) {
			base = append(base, p)
		} else if p.Minute.Before(in.End) {
			cur = append(cur, p)
		}
	}
	return base, cur
}

func stats(ps []MetricPoint) (avg, peak, last float64) {
	if len(ps) == 0 {
		return 0, 0, 0
	}
	sum := 0.0
	peak = math.Inf(-1)
	for _, p := range ps {
		sum += p.Value
		peak = math.Max(peak, math.Max(p.Max, p.Value))
	}
	return sum / float64(len(ps)), peak, ps[len(ps)-1].Value
}

// increases turns a cumulative counter into per-minute increases; a drop
// is a reset and counts from zero.
func increases(ps []MetricPoint) []float64 {
	out := make([]float64, 0, len(ps))
	for i := 1; i < len(ps); i++ {
		d := ps[i].Value - ps[i-1].Value
		if d < 0 {
			d = ps[i].Value
		}
		out = append(out, d)
	}
	return out
}

func poolSignal(in Input, roles map[string]*series, sm *serviceMetrics) {
	used, maxS, pending, timeouts := roles[rolePoolUsed], roles[rolePoolMax], roles[rolePoolPending], roles[rolePoolTimeouts]
	if used == nil && pending == nil && timeouts == nil {
		return
	}
	var sat, pend, tmo float64
	var start *time.Time
	mark := func(t time.Time) {
		if start == nil || t.Before(*start) {
			t := t
			start = &t
		}
	}
	capacity := 0.0
	if maxS != nil {
		_, capacity, _ = stats(maxS.points)
	}
	if used != nil {
		base, cur := split(in, used)
		bAvg, bPeak, _ := stats(base)
		cAvg, cPeak, _ := stats(cur)
		ev := MetricEvidence{Metric: used.metric, State: used.state, Baseline: round(bAvg, 2), Current: round(cAvg, 2), Peak: round(cPeak, 2), Change: change(bAvg, cAvg)}
		if capacity > 0 && len(cur) > 0 {
			curSat, baseSat := cPeak/capacity, bPeak/capacity
			switch {
			case curSat >= 0.95:
				sat = 1
			case curSat >= 0.8:
				sat = 0.5
			}
			if baseSat >= 0.95 && len(base) > 0 {
				sat *= 0.5 // saturated before the window too: less telling
			}
			for _, p := range cur {
				if math.Max(p.Value, p.Max) >= 0.95*capacity {
					mark(p.Minute)
					ev.StartedAt = start
					break
				}
			}
			ev.Note = fmt.Sprintf("DB pool in use peaked at %s of %s (baseline avg %s)", num(cPeak), num(capacity), num(bAvg))
		} else if len(cur) > 0 && cPeak >= 2*math.Max(bPeak, 1) {
			sat = 0.5
			ev.Note = fmt.Sprintf("DB connections in use peaked at %s (baseline peak %s)", num(cPeak), num(bPeak))
		}
		sm.poolEv = append(sm.poolEv, ev)
	}
	if pending != nil {
		base, cur := split(in, pending)
		bAvg, bPeak, _ := stats(base)
		cAvg, cPeak, _ := stats(cur)
		ev := MetricEvidence{Metric: pending.metric, State: pending.state, Baseline: round(bAvg, 2), Current: round(cAvg, 2), Peak: round(cPeak, 2), Change: change(bAvg, cAvg)}
		if len(cur) > 0 && cPeak > 0 && cPeak > bPeak {
			pend = 1
			for _, p := range cur {
				if math.Max(p.Value, p.Max) > bPeak {
					mark(p.Minute)
					ev.StartedAt = &p.Minute
					break
				}
			}
			ev.Note = fmt.Sprintf("up to %s callers waiting for a connection (baseline peak %s)", num(cPeak), num(bPeak))
		}
		sm.poolEv = append(sm.poolEv, ev)
	}
	if timeouts != nil {
		base, cur := split(in, timeouts)
		bInc, cInc := increases(append(base, firstOf(cur)...)), increases(cur)
		bSum, cSum := sum(bInc), sum(cInc)
		bRate := bSum / math.Max(1, float64(len(bInc)))
		cRate := cSum / math.Max(1, float64(len(cInc)))
		ev := MetricEvidence{Metric: timeouts.metric, State: timeouts.state, Baseline: round(bRate, 2), Current: round(cRate, 2), Peak: round(cSum, 2), Change: change(bRate, cRate)}
		if cSum > 0 && cRate > 2*bRate {
			tmo = 1
			for i, d := range cInc {
				if d > 0 {
					mark(cur[i+1].Minute)
					ev.StartedAt = &cur[i+1].Minute
					break
				}
			}
			ev.Note = fmt.Sprintf("%s connection acquisition timeouts in the window (%.1f/min vs %.1f/min)", num(cSum), cRate, bRate)
		}
		sm.poolEv = append(sm.poolEv, ev)
	}
	sm.pool = round(0.4*sat+0.3*pend+0.3*tmo, 3)
	if used == nil || capacity == 0 {
		// Without saturation data, waiters and timeouts carry the signal.
		sm.pool = round(0.5*pend+0.5*tmo, 3)
	}
	if sm.pool > 0 {
		sm.poolStart = start
	}
	// The note of the strongest sign goes first.
	slices.SortStableFunc(sm.poolEv, func(a, b MetricEvidence) int {
		if (a.Note == "") != (b.Note == "") {
			if a.Note == "" {
				return 1
			}
			return -1
		}
		return 0
	})
}

func heapSignal(in Input, s *series, sm *serviceMetrics) {
	if s == nil {
		return
	}
	base, cur := split(in, s)
	if len(cur) < 2 {
		return
	}
	bAvg, _, _ := stats(base)
	cAvg, cPeak, last := stats(cur)
	first := cur[0].Value
	ref := first
	if bAvg > 0 && bAvg < ref {
		ref = bAvg
	}
	ratio := 0.0
	if ref > 0 {
		ratio = last / ref
	}
	// How steadily it rises over the window: a leak climbs minute after
	// minute, a busy heap saws up and down.
	rises, steps := 0, 0
	for i := 1; i < len(cur); i++ {
		steps++
		if cur[i].Value > cur[i-1].Value {
			rises++
		}
	}
	steady := 0.0
	if steps > 0 {
		steady = float64(rises) / float64(steps)
	}
	sm.heap = round(clamp((ratio-1)/1.5, 0, 1)*(0.5+0.5*steady), 3)
	sm.heapLeak = ratio >= 1.5 && steady >= 0.6
	ev := MetricEvidence{Metric: s.metric, State: s.state, Baseline: round(bAvg, 0), Current: round(cAvg, 0), Peak: round(cPeak, 0), Change: change(ref, last)}
	if sm.heap > 0 {
		// Onset: the first minute the heap stood 20% above where it was.
		startRef := ref
		if len(base) > 0 {
			startRef = base[0].Value
		}
		for _, p := range append(base, cur...) {
			if p.Value > 1.2*startRef {
				t := p.Minute
				sm.heapStart, ev.StartedAt = &t, &t
				break
			}
		}
		ev.Note = fmt.Sprintf("%s grew %s → %s (×%.1f), rising in %.0f%% of minutes", s.metric, bytesOrNum(ref), bytesOrNum(last), ratio, 100*steady)
	}
	sm.heapEv = append(sm.heapEv, ev)
}

func firstOf(ps []MetricPoint) []MetricPoint {
	if len(ps) == 0 {
		return nil
	}
	return ps[:1]
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

func change(base, cur float64) string {
	switch {
	case base == 0 && cur == 0:
		return "unchanged"
	case base == 0:
		return "new"
	}
	return fmt.Sprintf("×%.2f", cur/base)
}

func num(x float64) string {
	if x == math.Trunc(x) && math.Abs(x) < 1e15 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func bytesOrNum(x float64) string {
	if x >= 1<<20 {
		return fmt.Sprintf("%.0fMiB", x/(1<<20))
	}
	return num(x)
}
