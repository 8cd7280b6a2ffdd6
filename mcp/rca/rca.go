// Package rca ranks candidate root causes of a failure from telemetry alone:
// the spans of failing traces (where each failure starts and how it
// propagates to the symptom), per-operation error and latency changes
// against a baseline, error messages, and the services' metrics (connection
// pool saturation, heap growth), since some causes — a memory leak — show in
// metrics before they show in errors. It has no I/O: the MCP server fetches
// the rows, this package scores them. Same input, same ranking.
package rca

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Kind is the vocabulary of root causes: every candidate names one of
// these, and known patterns are compared with them.
type Kind string

// Kinds of root cause.
const (
	KindDBPoolExhaustion      Kind = "db_pool_exhaustion"
	KindMemoryLeak            Kind = "memory_leak"
	KindMemoryPressure        Kind = "memory_pressure"
	KindRaceCondition         Kind = "race_condition"
	KindDependencyUnavailable Kind = "dependency_unavailable"
	KindDependencyTimeout     Kind = "dependency_timeout"
	KindTimeout               Kind = "timeout"
	KindCodeError             Kind = "code_error"
	KindErrorRate             Kind = "error_rate"
	// KindLatency is a slowdown with no error of its own: the deepest
	// operation whose durations shifted.
	KindLatency Kind = "latency"
	// KindDeployRegression is a fault that began as its service changed
	// service.version.
	KindDeployRegression Kind = "deploy_regression"
)

// Kinds lists the vocabulary.
func Kinds() []Kind {
	return []Kind{KindDBPoolExhaustion, KindMemoryLeak, KindMemoryPressure, KindRaceCondition, KindDependencyUnavailable,
		KindDependencyTimeout, KindTimeout, KindCodeError, KindErrorRate, KindLatency, KindDeployRegression}
}

// Span is one span of a failing trace.
type Span struct {
	TraceID, SpanID, ParentID string
	Service, Name, Kind       string // Kind: Server, Client, Internal, Producer, Consumer
	Start                     time.Time
	Duration                  time.Duration
	Error                     bool
	StatusMessage             string
	Peer                      string // peer.service / server.address of a client span
}

// Log is an error log record of a failing trace.
type Log struct {
	TraceID, SpanID, Service string
	Body                     string
}

// OpStats compares one operation's window with its baseline.
type OpStats struct {
	Service, Operation, Kind string
	Count, Errors            uint64
	BaseCount, BaseErrors    uint64
	P95, BaseP95             time.Duration
}

// OpMinute is one operation's counts in one minute of baseline or window.
type OpMinute struct {
	Service, Operation string
	Minute             time.Time
	Count, Errors      uint64
}

// MetricPoint is one minute of one metric series of a service. Cumulative
// counters (Monotonic) carry the last value of the minute.
type MetricPoint struct {
	Service, Metric, State string
	Minute                 time.Time
	Value, Max             float64
	Monotonic              bool
}

// Input is everything Analyze looks at. Failing traces are a sample of the
// window's traces that contain an error span.
type Input struct {
	Start, End, BaseStart time.Time
	// Service narrows the question ("why does payment fail?"); causes may
	// still lie in other services.
	Service       string
	FailingSpans  []Span
	FailingTotal  uint64 // failing traces in the window, sampled or not
	BaseFailing   uint64 // failing traces in the baseline
	Logs          []Log
	Ops           []OpStats
	OpMinutes     []OpMinute
	Metrics       []MetricPoint
	MaxCandidates int
	// Changes are the change tests of each operation against the baseline
	// (durations by Mann-Whitney U); with them a slowdown is found by test
	// rather than by a fixed p95 ratio.
	Changes []OpChange
	// Deploys are services whose service.version changed in the window.
	Deploys []Deploy
}

// Candidate is a ranked possible root cause with its evidence.
type Candidate struct {
	Rank       int      `json:"rank"`
	Service    string   `json:"service"`
	Operation  string   `json:"operation,omitempty"`
	Kind       Kind     `json:"kind"`
	Score      float64  `json:"score"`
	Confidence string   `json:"confidence"`
	Summary    string   `json:"summary"`
	Evidence   Evidence `json:"evidence"`
}

// Evidence is what a candidate rests on.
type Evidence struct {
	StartedAt         *time.Time `json:"started_at,omitempty"`
	ErrorsStartedAt   *time.Time `json:"errors_started_at,omitempty"`
	MetricsStartedAt  *time.Time `json:"metrics_started_at,omitempty"`
	DeepestInTraces   int        `json:"deepest_failing_span_in_traces"`
	FailingTracesSeen int        `json:"failing_traces_sampled"`
	DeepestShare      float64    `json:"deepest_share"`
	Errors            uint64     `json:"errors"`
	Requests          uint64     `json:"requests"`
	ErrorRate         float64    `json:"error_rate"`
	BaseErrors        uint64     `json:"baseline_errors"`
	BaseRequests      uint64     `json:"baseline_requests"`
	BaseErrorRate     float64    `json:"baseline_error_rate"`
	P95Ms             float64    `json:"p95_ms,omitempty"`
	BaseP95Ms         float64    `json:"baseline_p95_ms,omitempty"`
	// Propagation are the most frequent paths from this cause up to the
	// entry span, with how many failing traces followed each.
	Propagation []Path `json:"propagation,omitempty"`
	// Messages are the error messages at the cause, most frequent first.
	Messages        []Message        `json:"messages,omitempty"`
	Metrics         []MetricEvidence `json:"metrics,omitempty"`
	ExampleTraceIDs []string         `json:"example_trace_ids,omitempty"`
	// ErrorRateP is Fisher's one-sided p-value of the operation's error
	// rate against the baseline's; Chronic says the errors were already there
	// at a similar rate, so they are not what changed.
	ErrorRateP float64 `json:"error_rate_p_value,omitempty"`
	Chronic    bool    `json:"chronic,omitempty"`
	// Latency is the duration test of a slowdown.
	Latency *LatencyShift `json:"latency,omitempty"`
	// Deploy is the version change of the service at the onset.
	Deploy *Deploy `json:"deploy,omitempty"`
	// Mechanism is what the failure looks like when Kind names why (a
	// deploy regression that times out).
	Mechanism Kind `json:"mechanism,omitempty"`
}

// Path is one propagation chain, cause first.
type Path struct {
	Hops   []string `json:"hops"`
	Traces int      `json:"traces"`
}

// Message is an error message seen at a cause.
type Message struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// MetricEvidence summarises one metric of the candidate's service.
type MetricEvidence struct {
	Metric    string     `json:"metric"`
	State     string     `json:"state,omitempty"`
	Baseline  float64    `json:"baseline"`
	Current   float64    `json:"current"`
	Peak      float64    `json:"peak"`
	Change    string     `json:"change"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	Note      string     `json:"note,omitempty"`
}

type key struct{ service, op string }

type cand struct {
	key
	kind        Kind
	traces      map[string]bool
	firstError  time.Time
	messages    map[string]int
	messageText map[string]string
	paths       map[string]int
	pathHops    map[string][]string
	reassigned  bool // the failing span was a call; the callee is blamed
	unreachable bool // the call never reached a callee
}

// Analyze ranks candidate root causes.
func Analyze(in Input) []Candidate {
	if in.MaxCandidates <= 0 {
		in.MaxCandidates = 5
	}
	cands := map[key]*cand{}
	traces := groupTraces(in.FailingSpans)
	logsBySpan := map[string][]string{}
	logsByTraceService := map[[2]string][]string{}
	for _, l := range in.Logs {
		if l.SpanID != "" {
			logsBySpan[l.TraceID+"/"+l.SpanID] = append(logsBySpan[l.TraceID+"/"+l.SpanID], l.Body)
		}
		k := [2]string{l.TraceID, l.Service}
		logsByTraceService[k] = append(logsByTraceService[k], l.Body)
	}
	traceIDs := make([]string, 0, len(traces))
	for id := range traces {
		traceIDs = append(traceIDs, id)
	}
	slices.Sort(traceIDs)
	for _, id := range traceIDs {
		t := traces[id]
		seen := map[key]bool{}
		for _, c := range t.culprits() {
			k := key{c.blame.Service, c.blame.Name}
			if c.unreachable {
				k = key{c.peerOrService(), c.span.Name}
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			cd := cands[k]
			if cd == nil {
				cd = &cand{key: k, traces: map[string]bool{}, messages: map[string]int{}, messageText: map[string]string{},
					paths: map[string]int{}, pathHops: map[string][]string{}}
				cands[k] = cd
			}
			cd.traces[id] = true
			cd.reassigned = cd.reassigned || c.reassigned
			cd.unreachable = cd.unreachable || c.unreachable
			if cd.firstError.IsZero() || c.span.Start.Before(cd.firstError) {
				cd.firstError = c.span.Start
			}
			for _, m := range c.messages(t, logsBySpan, logsByTraceService) {
				tk := messageKey(m)
				cd.messages[tk]++
				if _, ok := cd.messageText[tk]; !ok {
					cd.messageText[tk] = m
				}
			}
			hops := t.path(c.blame)
			pk := strings.Join(hops, "\x00")
			cd.paths[pk]++
			cd.pathHops[pk] = hops
		}
	}

	ops := map[key]OpStats{}
	for _, o := range in.Ops {
		ops[key{o.Service, o.Operation}] = o
	}
	minutes := map[key][]OpMinute{}
	for _, m := range in.OpMinutes {
		k := key{m.Service, m.Operation}
		minutes[k] = append(minutes[k], m)
	}
	metrics := analyzeMetrics(in)

	sampled := len(traces)
	var out []Candidate
	for _, cd := range cands {
		out = append(out, cd.candidate(in, sampled, ops, minutes, metrics))
	}
	// Causes seen only in metrics: a leak or a saturated pool before (or
	// without) failing requests.
	have := map[string]map[Kind]bool{}
	for _, c := range out {
		if have[c.Service] == nil {
			have[c.Service] = map[Kind]bool{}
		}
		have[c.Service][c.Kind] = true
	}
	heapsBlamed := map[string]bool{}
	for _, c := range out {
		if sm := metrics[c.Service]; sm != nil && sm.heapKey != "" && SameFamily(c.Kind, KindMemoryLeak) {
			heapsBlamed[sm.heapKey] = true
		}
	}
	for _, svc := range sortedKeys(metrics) {
		ms := metrics[svc]
		for _, sig := range []struct {
			kind  Kind
			score float64
		}{{KindDBPoolExhaustion, ms.pool}, {ms.memoryKind(), ms.heap}} {
			if sig.score < 0.5 || have[svc][sig.kind] {
				continue
			}
			if SameFamily(sig.kind, KindMemoryLeak) {
				if have[svc][KindMemoryPressure] || have[svc][KindMemoryLeak] || heapsBlamed[ms.heapKey] {
					continue
				}
				heapsBlamed[ms.heapKey] = true
			}
			c := Candidate{Service: svc, Kind: sig.kind}
			c.Evidence.FailingTracesSeen = sampled
			c.Evidence.Metrics = ms.evidenceFor(sig.kind)
			c.Evidence.MetricsStartedAt = ms.startedAt(sig.kind)
			c.Evidence.StartedAt = c.Evidence.MetricsStartedAt
			c.Score = 0.3 * sig.score
			out = append(out, c)
		}
	}
	if len(in.Changes) > 0 {
		out = append(out, shiftCandidates(in, ops, cands, metrics, sampled)...)
	} else {
		out = append(out, latencyCandidates(in, ops, cands, metrics, sampled)...)
	}
	discountChronic(out, ops)
	blameDeploys(in, out)

	// Earlier onsets point at causes rather than symptoms.
	var earliest time.Time
	for _, c := range out {
		if c.Evidence.StartedAt != nil && (earliest.IsZero() || c.Evidence.StartedAt.Before(earliest)) {
			earliest = *c.Evidence.StartedAt
		}
	}
	span := in.End.Sub(in.Start)
	for i := range out {
		c := &out[i]
		if c.Evidence.StartedAt != nil && span > 0 && c.Score > 0 && !c.Evidence.Chronic {
			lag := c.Evidence.StartedAt.Sub(earliest)
			c.Score += 0.1 * math.Max(0, 1-float64(lag)/float64(span))
		}
		c.Score = round(c.Score, 3)
	}
	slices.SortFunc(out, func(a, b Candidate) int {
		if a.Score != b.Score {
			return cmp.Compare(b.Score, a.Score)
		}
		if a.Evidence.DeepestInTraces != b.Evidence.DeepestInTraces {
			return cmp.Compare(b.Evidence.DeepestInTraces, a.Evidence.DeepestInTraces)
		}
		return cmp.Or(strings.Compare(a.Service, b.Service), strings.Compare(a.Operation, b.Operation), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	if len(out) > in.MaxCandidates {
		out = out[:in.MaxCandidates]
	}
	for i := range out {
		out[i].Rank = i + 1
		out[i].Confidence = confidence(out[i].Score)
		out[i].Summary = summary(out[i])
	}
	return out
}

func (cd *cand) candidate(in Input, sampled int, ops map[key]OpStats, minutes map[key][]OpMinute, metrics map[string]*serviceMetrics) Candidate {
	c := Candidate{Service: cd.service, Operation: cd.op}
	ev := &c.Evidence
	ev.DeepestInTraces = len(cd.traces)
	ev.FailingTracesSeen = sampled
	if sampled > 0 {
		ev.DeepestShare = round(float64(len(cd.traces))/float64(sampled), 3)
	}
	if o, ok := ops[cd.key]; ok {
		ev.Errors, ev.Requests, ev.BaseErrors, ev.BaseRequests = o.Errors, o.Count, o.BaseErrors, o.BaseCount
		ev.ErrorRate = rate(o.Errors, o.Count)
		ev.BaseErrorRate = rate(o.BaseErrors, o.BaseCount)
		ev.P95Ms = ms(o.P95)
		ev.BaseP95Ms = ms(o.BaseP95)
	}
	for tk, n := range cd.messages {
		ev.Messages = append(ev.Messages, Message{Text: truncate(cd.messageText[tk], 400), Count: n})
	}
	slices.SortFunc(ev.Messages, func(a, b Message) int { return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Text, b.Text)) })
	if len(ev.Messages) > 3 {
		ev.Messages = ev.Messages[:3]
	}
	for pk, n := range cd.paths {
		ev.Propagation = append(ev.Propagation, Path{Hops: cd.pathHops[pk], Traces: n})
	}
	slices.SortFunc(ev.Propagation, func(a, b Path) int {
		return cmp.Or(cmp.Compare(b.Traces, a.Traces), strings.Compare(strings.Join(a.Hops, ","), strings.Join(b.Hops, ",")))
	})
	if len(ev.Propagation) > 3 {
		ev.Propagation = ev.Propagation[:3]
	}
	ids := make([]string, 0, len(cd.traces))
	for id := range cd.traces {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ev.ExampleTraceIDs = ids[:min(5, len(ids))]

	sm := metrics[cd.service]
	// An unanswered call is a dead callee only when the calls were refused or
	// cut; calls that waited out their deadline met a callee too slow to
	// answer (an uninstrumented dependency never has spans of its own).
	unreachable := cd.unreachable && !timeoutLed(ev.Messages)
	c.Kind = dominantKind(ev.Messages, sm, cd.reassigned || cd.unreachable && !unreachable, unreachable)
	if sm != nil {
		ev.Metrics = sm.evidenceFor(c.Kind)
		ev.MetricsStartedAt = sm.startedAt(c.Kind)
	}
	ev.ErrorsStartedAt = errorOnset(in, minutes[cd.key], ops[cd.key], cd.firstError)
	ev.StartedAt = earlier(ev.ErrorsStartedAt, ev.MetricsStartedAt)

	// Newness of the errors: 1 when the baseline had none.
	errChange := 0.0
	if ev.ErrorRate > 0 {
		errChange = clamp((ev.ErrorRate-ev.BaseErrorRate)/ev.ErrorRate, 0, 1)
	} else if ev.DeepestInTraces > 0 {
		errChange = 0.5
	}
	metric := 0.0
	if sm != nil {
		switch c.Kind {
		case KindDBPoolExhaustion:
			metric = sm.pool
		case KindMemoryLeak, KindMemoryPressure:
			metric = sm.heap
		default:
			metric = 0.5 * math.Max(sm.pool, sm.heap)
		}
	}
	c.Score = 0.5*ev.DeepestShare + 0.15*errChange*math.Min(1, 4*ev.DeepestShare) + 0.25*metric
	return c
}

// TextKind names the kind of cause an error text describes, without
// metrics: for comparing a known pattern with a candidate.
func TextKind(text string) Kind {
	return classify(strings.ToLower(text), nil, false, false)
}

// SameFamily reports whether two kinds name the same mechanism (a leak is a
// kind of memory pressure; a timeout of a dependency is a timeout).
func SameFamily(a, b Kind) bool {
	family := func(k Kind) Kind {
		switch k {
		case KindMemoryLeak, KindMemoryPressure:
			return "memory"
		case KindDependencyTimeout, KindTimeout:
			return "timeout"
		}
		return k
	}
	return family(a) == family(b)
}

// classify names the kind of cause from the messages at it and its
// service's metrics.
func classify(text string, sm *serviceMetrics, reassigned, unreachable bool) Kind {
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	pool, heap := 0.0, 0.0
	if sm != nil {
		pool, heap = sm.pool, sm.heap
	}
	switch {
	case has("pool") && has("acquir", "exhaust", "timed out", "timeout", "waiting", "no connection", "too many"),
		has("too many connections", "connection pool"),
		pool >= 0.5 && has("connection", "database", "db", "sql"):
		return KindDBPoolExhaustion
	case has("nil pointer", "invalid memory address", "nullpointer", "null pointer", "index out of range", "divide by zero"):
		return KindCodeError
	case has("heap", "out of memory", "outofmemory", "oomkill", "oom-kill", "oom kill", "memory", "shedding", "overload", "gc overhead"),
		heap >= 0.5 && has("503", "unavailable", "latency", "slow"):
		if sm != nil && sm.heapLeak {
			return KindMemoryLeak
		}
		return KindMemoryPressure
	case has("conflict", "concurrent", "race", "deadlock", "lost update", "version mismatch", "optimistic", "expected version"):
		return KindRaceCondition
	case unreachable, has("connection refused", "no such host", "unavailable", "bad gateway", "connection reset", "broken pipe", "unexpected eof", " 502", " 503"):
		return KindDependencyUnavailable
	// A timeout is how the failure looks; a saturated pool or a growing
	// heap of the same service is why.
	case pool >= 0.5:
		return KindDBPoolExhaustion
	case heap >= 0.5:
		if sm.heapLeak {
			return KindMemoryLeak
		}
		return KindMemoryPressure
	case has("timed out", "timeout", "deadline exceeded", "context canceled", " 504"):
		if reassigned {
			return KindDependencyTimeout
		}
		return KindTimeout
	case has("panic", "exception", "traceback"):
		return KindCodeError
	}
	if reassigned {
		return KindDependencyTimeout
	}
	return KindErrorRate
}

// dominantKind is the kind most of the messages describe, each message
// weighed by how often it was seen: a service shedding load for its heap
// that also timed out on its pool a few times is short of memory, not of
// connections. Without messages the metrics decide.
func dominantKind(ms []Message, sm *serviceMetrics, reassigned, unreachable bool) Kind {
	if len(ms) == 0 {
		return classify("", sm, reassigned, unreachable)
	}
	weight := map[Kind]int{}
	var best Kind
	for _, m := range ms {
		k := classify(strings.ToLower(m.Text), sm, reassigned, unreachable)
		weight[k] += m.Count
		// Ties go to the kind of the most frequent message (ms is sorted).
		if best == "" || weight[k] > weight[best] {
			best = k
		}
	}
	return best
}

// timeoutLed tells whether more of the messages say a call ran out of time
// than say it was refused, reset or answered with an outage.
func timeoutLed(msgs []Message) bool {
	var timedOut, refused int
	for _, m := range msgs {
		t := strings.ToLower(m.Text)
		switch {
		case containsAny(t, "connection refused", "no such host", "connection reset", "broken pipe", "unexpected eof", "unavailable", " 502", " 503"):
			refused += m.Count
		case containsAny(t, "timed out", "timeout", "deadline exceeded", " 504"):
			timedOut += m.Count
		}
	}
	return timedOut > refused
}

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// errorOnset is the first minute of the window whose errors for the
// operation clearly exceed the baseline's rate; the first failing span
// otherwise.
func errorOnset(in Input, mins []OpMinute, o OpStats, first time.Time) *time.Time {
	baseMinutes := math.Max(1, in.Start.Sub(in.BaseStart).Minutes())
	baseRate := float64(o.BaseErrors) / baseMinutes
	threshold := math.Max(3*baseRate, baseRate+2)
	slices.SortFunc(mins, func(a, b OpMinute) int { return a.Minute.Compare(b.Minute) })
	for _, m := range mins {
		if m.Minute.Before(in.Start.Truncate(time.Minute)) {
			continue
		}
		if float64(m.Errors) >= threshold {
			t := m.Minute
			if !first.IsZero() && first.After(t) && first.Sub(t) < time.Minute {
				t = first
			}
			return &t
		}
	}
	if first.IsZero() {
		return nil
	}
	return &first
}

func latencyCandidates(in Input, ops map[key]OpStats, cands map[key]*cand, metrics map[string]*serviceMetrics, sampled int) []Candidate {
	var out []Candidate
	for _, k := range sortedOpKeys(ops) {
		o := ops[k]
		if cands[k] != nil || o.Count < 20 || o.BaseCount < 20 || o.BaseP95 <= 0 {
			continue
		}
		ratio := float64(o.P95) / float64(o.BaseP95)
		if ratio < 3 {
			continue
		}
		c := Candidate{Service: o.Service, Operation: o.Operation, Kind: KindLatency}
		ev := &c.Evidence
		ev.FailingTracesSeen = sampled
		ev.Requests, ev.Errors, ev.BaseRequests, ev.BaseErrors = o.Count, o.Errors, o.BaseCount, o.BaseErrors
		ev.ErrorRate, ev.BaseErrorRate = rate(o.Errors, o.Count), rate(o.BaseErrors, o.BaseCount)
		ev.P95Ms, ev.BaseP95Ms = ms(o.P95), ms(o.BaseP95)
		metric := 0.0
		if sm := metrics[o.Service]; sm != nil {
			if sm.heap >= 0.5 {
				c.Kind = sm.memoryKind()
				metric = sm.heap
			} else if sm.pool >= 0.5 {
				c.Kind = KindDBPoolExhaustion
				metric = sm.pool
			}
			ev.Metrics = sm.evidenceFor(c.Kind)
			ev.MetricsStartedAt = sm.startedAt(c.Kind)
			ev.StartedAt = ev.MetricsStartedAt
		}
		c.Score = 0.2*clamp(math.Log2(ratio)/5, 0, 1) + 0.25*metric
		out = append(out, c)
	}
	// Only the slowest few: a slow dependency makes every caller slow too.
	slices.SortFunc(out, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.Service, b.Service), strings.Compare(a.Operation, b.Operation))
	})
	return out[:min(3, len(out))]
}

func confidence(score float64) string {
	switch {
	case score >= 0.6:
		return "high"
	case score >= 0.3:
		return "medium"
	default:
		return "low"
	}
}

func summary(c Candidate) string {
	ev := c.Evidence
	var b strings.Builder
	name := c.Service
	if c.Operation != "" {
		name += " " + c.Operation
	}
	fmt.Fprintf(&b, "%s: %s", name, c.Kind)
	var parts []string
	if ev.DeepestInTraces > 0 {
		parts = append(parts, fmt.Sprintf("deepest failing span in %d of %d sampled failing traces (%.0f%%)", ev.DeepestInTraces, ev.FailingTracesSeen, 100*ev.DeepestShare))
	}
	if ev.Requests > 0 && (ev.Errors > 0 || ev.BaseErrors > 0) {
		parts = append(parts, fmt.Sprintf("error rate %.1f%% vs %.1f%% in the baseline", 100*ev.ErrorRate, 100*ev.BaseErrorRate))
	}
	if ev.P95Ms > 0 && ev.BaseP95Ms > 0 && ev.P95Ms >= 1.5*ev.BaseP95Ms {
		parts = append(parts, fmt.Sprintf("p95 %.0fms vs %.0fms", ev.P95Ms, ev.BaseP95Ms))
	}
	if l := ev.Latency; l != nil {
		parts = append(parts, fmt.Sprintf("median %.0fms vs %.0fms in the baseline, a call slower than a baseline call %.0f%% of the time (Mann-Whitney p=%.2g)",
			l.P50Ms, l.BaseP50Ms, 100*l.SlowerShare, l.PValue))
	}
	if ev.Chronic {
		parts = append(parts, fmt.Sprintf("chronic: the error rate did not rise significantly (p=%.2g), these errors predate the window", ev.ErrorRateP))
	}
	if d := ev.Deploy; d != nil {
		parts = append(parts, fmt.Sprintf("service.version %s → %s at %s", d.From, d.To, d.At.UTC().Format("15:04:05Z")))
	}
	if ev.StartedAt != nil {
		parts = append(parts, "started "+ev.StartedAt.UTC().Format("2006-01-02 15:04:05Z"))
	}
	for _, m := range ev.Metrics {
		if m.Note != "" {
			parts = append(parts, m.Note)
		}
	}
	if len(ev.Propagation) > 0 && len(ev.Propagation[0].Hops) > 1 {
		svcs := make([]string, 0, len(ev.Propagation[0].Hops))
		for _, h := range ev.Propagation[0].Hops {
			s, _, _ := strings.Cut(h, " ")
			if len(svcs) == 0 || svcs[len(svcs)-1] != s {
				svcs = append(svcs, s)
			}
		}
		if len(svcs) > 1 {
			parts = append(parts, "propagates "+strings.Join(svcs, " → "))
		}
	}
	if len(ev.Messages) > 0 {
		parts = append(parts, fmt.Sprintf("e.g. %q", truncate(ev.Messages[0].Text, 160)))
	}
	if len(parts) > 0 {
		b.WriteString(" — ")
		b.WriteString(strings.Join(parts, "; "))
	}
	return b.String()
}

func messageTexts(ms []Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out
}

// messageKey groups messages that differ only in numbers and ids.
func messageKey(s string) string {
	var b strings.Builder
	digit := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteRune(r)
	}
	return b.String()
}

func rate(errors, count uint64) float64 {
	if count == 0 {
		return 0
	}
	return round(float64(errors)/float64(count), 4)
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1) }

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func clamp(x, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, x)) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func earlier(a, b *time.Time) *time.Time {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	case b.Before(*a):
		return b
	}
	return a
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sortedOpKeys(m map[key]OpStats) []key {
	out := make([]key, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b key) int { return cmp.Or(strings.Compare(a.service, b.service), strings.Compare(a.op, b.op)) })
	return out
}
