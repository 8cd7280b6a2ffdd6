package rca

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"
)

// OpChange is one operation's change test against the baseline
// (compare_windows_spans).
type OpChange struct {
	Service, Operation string
	Calls, BaseCalls   uint64
	P50, BaseP50       time.Duration
	P95, BaseP95       time.Duration
	// SlowerShare is the chance that a call of the window is slower than one
	// of the baseline (1 - U/(n0·n1)); LatencyP the Mann-Whitney p-value.
	SlowerShare  float64
	LatencyP     float64
	SlowestTrace string
}

// LatencyShift is the evidence of a slowdown.
type LatencyShift struct {
	P50Ms       float64 `json:"p50_ms"`
	BaseP50Ms   float64 `json:"baseline_p50_ms"`
	SlowerShare float64 `json:"slower_share"`
	PValue      float64 `json:"p_value"`
	Test        string  `json:"test"`
	// AddedMs is the median's growth; a caller's grows by at least as
	// much, so the deepest operation that explains the callers' growth is
	// blamed.
	AddedMs float64 `json:"added_ms"`
}

// Deploy is a service.version change.
type Deploy struct {
	Service string    `json:"service"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	At      time.Time `json:"at"`
}

// Thresholds of a slowdown worth naming: the test at the answer's
// family-wise Alpha, a window call slower than a baseline call at least 65 %
// of the time, and a median at least half again as long.
const (
	minSlowerShare = 0.65
	minMedianRatio = 1.5
)

// shiftCandidates names slowdowns. Every operation whose durations shifted
// is tested; a caller's median grows by at least its callee's growth, so of
// the operations whose growth is near the largest, the shortest — the
// deepest — explains the others and is the candidate; its callers follow
// with lower scores.
func shiftCandidates(in Input, ops map[key]OpStats, cands map[key]*cand, metrics map[string]*serviceMetrics, sampled int) []Candidate {
	alpha := Bonferroni(len(in.Changes))
	// An operation already blamed for new errors is not blamed again for
	// its latency; one whose errors are chronic still may be.
	newErrors := func(k key) bool {
		o, ok := ops[k]
		return cands[k] != nil && (!ok || o.BaseErrors == 0 || ProportionIncrease(o.Errors, o.Count, o.BaseErrors, o.BaseCount) < Bonferroni(len(ops)))
	}
	type shifted struct {
		OpChange
		added time.Duration
	}
	var slow []shifted
	var most time.Duration
	for _, o := range in.Changes {
		if newErrors(key{o.Service, o.Operation}) || o.LatencyP >= alpha || o.SlowerShare < minSlowerShare ||
			o.BaseP50 <= 0 || float64(o.P50) < minMedianRatio*float64(o.BaseP50) {
			continue
		}
		s := shifted{OpChange: o, added: o.P50 - o.BaseP50}
		slow = append(slow, s)
		most = max(most, s.added)
	}
	slices.SortFunc(slow, func(a, b shifted) int {
		explains := func(s shifted) bool { return float64(s.added) >= 0.5*float64(most) }
		if explains(a) != explains(b) {
			if explains(a) {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.P50, b.P50), strings.Compare(a.Service, b.Service), strings.Compare(a.Operation, b.Operation))
	})
	var out []Candidate
	for i, o := range slow[:min(3, len(slow))] {
		c := Candidate{Service: o.Service, Operation: o.Operation, Kind: KindLatency}
		ev := &c.Evidence
		ev.FailingTracesSeen = sampled
		ev.Requests, ev.BaseRequests = o.Calls, o.BaseCalls
		ev.P95Ms, ev.BaseP95Ms = ms(o.P95), ms(o.BaseP95)
		ev.Latency = &LatencyShift{P50Ms: ms(o.P50), BaseP50Ms: ms(o.BaseP50), SlowerShare: round(o.SlowerShare, 3),
			PValue: o.LatencyP, Test: "mann-whitney u", AddedMs: ms(o.added)}
		if o.SlowestTrace != "" {
			ev.ExampleTraceIDs = []string{o.SlowestTrace}
		}
		metric := 0.0
		if sm := metrics[o.Service]; sm != nil {
			if sm.heap >= 0.5 {
				c.Kind, metric = sm.memoryKind(), sm.heap
			} else if sm.pool >= 0.5 {
				c.Kind, metric = KindDBPoolExhaustion, sm.pool
			}
			ev.Metrics = sm.evidenceFor(c.Kind)
			ev.MetricsStartedAt = sm.startedAt(c.Kind)
			ev.StartedAt = ev.MetricsStartedAt
		}
		ratio := float64(o.P50) / float64(o.BaseP50)
		c.Score = 0.15 + 0.15*clamp(math.Log2(ratio)/3, 0, 1) + 0.1*clamp((o.SlowerShare-0.5)*2, 0, 1) + 0.25*metric
		if i == 0 {
			// The deepest shift explains its callers'.
			c.Score += 0.15
		}
		out = append(out, c)
	}
	return out
}

// discountChronic lowers errors that were already there: an operation whose
// error rate did not rise significantly against the baseline (Fisher's
// exact test at the answer's Alpha) is not what changed, however many
// traces it fails.
func discountChronic(out []Candidate, ops map[key]OpStats) {
	alpha := Bonferroni(len(ops))
	for i := range out {
		c := &out[i]
		o, ok := ops[key{c.Service, c.Operation}]
		if !ok || c.Evidence.DeepestInTraces == 0 || o.Count == 0 || o.BaseCount == 0 {
			continue
		}
		c.Evidence.ErrorRateP = ProportionIncrease(o.Errors, o.Count, o.BaseErrors, o.BaseCount)
		if c.Evidence.ErrorRateP >= alpha && o.BaseErrors > 0 {
			c.Evidence.Chronic = true
			c.Score *= 0.25
		}
	}
}

// blameDeploys names a candidate a deploy regression when its service
// changed version at its onset: from five minutes before it to two after,
// or anywhere in the window for a candidate without an onset.
func blameDeploys(in Input, out []Candidate) {
	for i := range out {
		c := &out[i]
		for _, d := range in.Deploys {
			if d.Service != c.Service {
				continue
			}
			near := d.At.After(in.Start.Add(-time.Minute)) && d.At.Before(in.End)
			if c.Evidence.StartedAt != nil {
				on := *c.Evidence.StartedAt
				near = !d.At.Before(on.Add(-5*time.Minute)) && !d.At.After(on.Add(2*time.Minute))
			}
			if !near {
				continue
			}
			dd := d
			c.Evidence.Deploy = &dd
			c.Evidence.Mechanism = c.Kind
			c.Kind = KindDeployRegression
			c.Score += 0.05
			break
		}
	}
}
