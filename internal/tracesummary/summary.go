// Package tracesummary turns a whole trace into what the vector tables store
// of it: the ordered span sequence ("frontend GET /checkout -> checkout POST
// /checkout -> payment POST /charge"), its duration, span and error counts,
// a text for the embedder that also says where the time went and where the
// errors are, and an online model of what is normal per entry operation that
// scores each trace.
package tracesummary

import (
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/bitmix"
)

// SpanKind is OpenTelemetry's span kind.
type SpanKind int8

// Span kinds, numbered as in OTLP (and ptrace.SpanKind).
const (
	KindUnspecified SpanKind = iota
	KindInternal
	KindServer
	KindClient
	KindProducer
	KindConsumer
)

// Span is the part of a span the summary needs.
type Span struct {
	SpanID   string
	ParentID string
	Service  string
	Name     string
	Kind     SpanKind
	Start    time.Time
	End      time.Time
	Error    bool
	// ErrorType tells one failure of an operation from another: the
	// exception type recorded on the span, or its status code.
	ErrorType string
	// Session is the client session the request belongs to, as the
	// service that received it recorded it (the session.id attribute an
	// edge service takes from the W3C baggage the client sent); empty
	// when unknown.
	Session string
	// Status is the HTTP response status code of the span, 0 when it has
	// none.
	Status int
}

// entry reports whether a span is where a request enters a service.
func (sp Span) entry() bool { return sp.Kind == KindServer || sp.Kind == KindConsumer }

// Summary describes one trace.
type Summary struct {
	TraceID       string
	Start         time.Time
	RootService   string
	RootOperation string // "service name" of the entry span
	RootIndex     int    // index of the entry span in the input
	Session       string // the entry span's session, "" when unknown
	EntryStatus   int    // the entry span's HTTP response status code, 0 when unknown
	// EntryEnd is when the entry span ended: when the caller got its
	// answer (work the request left running may end later).
	EntryEnd   time.Time
	Sequence   string // "svc op -> svc op -> …" in call order
	Duration   time.Duration
	SpanCount  int
	ErrorCount int
	// Steps are the spans in call order (depth-first, children by start).
	Steps []Step
	// MaxRepeat is the longest run of consecutive identical calls made by
	// one parent (the roots count as calls of the caller that exported no
	// span): a retry loop shows here, and so does a loop over items.
	MaxRepeat int
	// RetryRun is the longest such run that looks like retrying: requests
	// re-sent into the trace by its caller (repeated entry spans at the
	// root), or calls among which some failed.
	RetryRun int
	// Resent is the longest run of the entry request re-sent into the
	// trace by its caller (repeated entry spans at the root): a client's
	// retrying, rather than a service's.
	Resent int
	// Shape identifies the path the trace took: the call tree with each
	// node's label and own error status, children as a multiset (their
	// order, which concurrency shuffles, is ignored) and runs of identical
	// children counted in powers of two, so a loop over 2 or 3 items is one
	// path and a retry storm another.
	Shape uint64
	// ErrorSignature identifies which operations failed and how: the set of
	// labels and error types of the spans with an error status (0 without
	// errors).
	ErrorSignature uint64
	// EmbedText is what the embedder sees: the sequence with duration-share
	// and error markers, so traces that spend their time or fail in
	// different places embed apart even when their calls match.
	EmbedText string
}

// Step is one span of the sequence.
type Step struct {
	Label    string // "service operation"
	Depth    int
	Duration time.Duration
	Error    bool
}

// Summarize builds the summary of one trace's spans. Spans whose parent is
// missing from the trace are treated as roots (a caller that exports no
// spans, or a part of the trace that arrives separately); the entry point is
// the earliest root that is a server or consumer span, or the earliest root
// when none is.
func Summarize(traceID string, spans []Span) Summary {
	s := Summary{TraceID: traceID, SpanCount: len(spans)}
	if len(spans) == 0 {
		return s
	}
	byID := make(map[string]int, len(spans))
	for i, sp := range spans {
		byID[sp.SpanID] = i
	}
	children := make(map[int][]int, len(spans))
	var roots []int
	start, end := spans[0].Start, spans[0].End
	for i, sp := range spans {
		if p, ok := byID[sp.ParentID]; ok && sp.ParentID != "" && p != i {
			children[p] = append(children[p], i)
		} else {
			roots = append(roots, i)
		}
		if sp.Start.Before(start) {
			start = sp.Start
		}
		if sp.End.After(end) {
			end = sp.End
		}
		if sp.Error {
			s.ErrorCount++
		}
	}
	byStart := func(ids []int) {
		sort.SliceStable(ids, func(a, b int) bool {
			sa, sb := spans[ids[a]], spans[ids[b]]
			if !sa.Start.Equal(sb.Start) {
				return sa.Start.Before(sb.Start)
			}
			return sa.Name < sb.Name
		})
	}
	byStart(roots)
	for _, ids := range children {
		byStart(ids)
	}
	s.Start = start
	s.Duration = end.Sub(start)
	s.RootIndex = roots[0]
	for _, r := range roots {
		if spans[r].entry() {
			s.RootIndex = r
			break
		}
	}
	root := spans[s.RootIndex]
	s.RootService = root.Service
	s.RootOperation = label(root)
	s.Session = root.Session
	s.EntryStatus = root.Status
	s.EntryEnd = root.End

	visited := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if visited[i] {
			return
		}
		visited[i] = true
		sp := spans[i]
		s.Steps = append(s.Steps, Step{Label: label(sp), Depth: depth, Duration: sp.End.Sub(sp.Start), Error: sp.Error})
		for _, c := range children[i] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	s.shape(spans, roots, children)

	labels := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		labels[i] = st.Label
	}
	s.Sequence = strings.Join(labels, " -> ")
	s.EmbedText = embedText(s)
	return s
}

// shape computes Shape, ErrorSignature, MaxRepeat and RetryRun.
func (s *Summary) shape(spans []Span, roots []int, children map[int][]int) {
	hashes := make([]uint64, len(spans))
	failed := make([]bool, len(spans)) // the span or one below it has an error
	done := make([]bool, len(spans))
	var errLabels, scratch []uint64
	// runs finds the repeats among one caller's calls (in start order) and
	// returns the multiset hash of their shapes.
	runs := func(calls []int, atRoot bool) uint64 {
		run, anyFailed, allEntry := 0, false, true
		for k, c := range calls {
			if prev := spans[calls[max(k-1, 0)]]; k > 0 && spans[c].Service == prev.Service && spans[c].Name == prev.Name {
				run++
			} else {
				run, anyFailed, allEntry = 1, false, true
			}
			anyFailed = anyFailed || failed[c]
			allEntry = allEntry && spans[c].entry()
			s.MaxRepeat = max(s.MaxRepeat, run)
			if run > 1 && (anyFailed || (atRoot && allEntry)) {
				s.RetryRun = max(s.RetryRun, run)
			}
			if run > 1 && atRoot && allEntry {
				s.Resent = max(s.Resent, run)
			}
		}
		// The multiset of the calls' shapes: sorted, each distinct shape
		// with its count's power of two.
		hs := scratch[:0]
		for _, c := range calls {
			hs = append(hs, hashes[c])
		}
		slices.Sort(hs)
		h := uint64(fnvOffset)
		for i := 0; i < len(hs); {
			j := i + 1
			for j < len(hs) && hs[j] == hs[i] {
				j++
			}
			h = bitmix.Mix64(h ^ hs[i])
			h = bitmix.Mix64(h ^ uint64(bits.Len(uint(j-i))))
			i = j
		}
		scratch = hs
		return h
	}
	var visit func(i int)
	visit = func(i int) {
		if done[i] {
			return
		}
		done[i] = true
		sp := spans[i]
		for _, c := range children[i] {
			visit(c)
			failed[i] = failed[i] || failed[c]
		}
		lh := fnvString(fnvString(fnvOffset, sp.Service), sp.Name)
		if sp.Error {
			failed[i] = true
			errLabels = append(errLabels, bitmix.Mix64(lh^fnvString(fnvOffset, sp.ErrorType)))
			lh = bitmix.Mix64(lh ^ 1)
		}
		hashes[i] = bitmix.Mix64(lh ^ runs(children[i], false))
	}
	for _, r := range roots {
		visit(r)
	}
	s.Shape = runs(roots, true)
	if len(errLabels) > 0 {
		slices.Sort(errLabels)
		h := uint64(fnvOffset)
		for k, l := range errLabels {
			if k == 0 || l != errLabels[k-1] {
				h = bitmix.Mix64(h ^ l)
			}
		}
		s.ErrorSignature = h | 1 // never 0
	}
}

const fnvOffset = 14695981039346656037

// fnvString continues an FNV-1a hash over s and a separator.
func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return (h ^ 0xff) * 1099511628211
}

func label(sp Span) string {
	if sp.Service == "" {
		return sp.Name
	}
	return sp.Service + " " + sp.Name
}

// embedText marks each step with its share of the trace's time (a coarse
// bucket) and its errors. Repeated identical steps are kept: a retry storm
// should weigh more, not collapse.
func embedText(s Summary) string {
	var b strings.Builder
	total := s.Duration
	for i, st := range s.Steps {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(st.Label)
		if total > 0 {
			share := float64(st.Duration) / float64(total)
			switch {
			case share >= 0.8 && st.Depth > 0:
				b.WriteString(" slowest_step")
			case share >= 0.5 && st.Depth > 0:
				b.WriteString(" slow_step")
			}
		}
		if st.Error {
			b.WriteString(" error_step")
		}
	}
	fmt.Fprintf(&b, " | spans_%s errors_%s", bucket(s.SpanCount), bucket(s.ErrorCount))
	return b.String()
}

// bucket names a count by its order of magnitude, so "12 spans" and
// "13 spans" read the same to the embedder.
func bucket(n int) string {
	switch {
	case n == 0:
		return "none"
	case n == 1:
		return "one"
	case n <= 3:
		return "few"
	case n <= 10:
		return "several"
	case n <= 30:
		return "many"
	default:
		return "very_many"
	}
}

// logDuration is the log of a duration in milliseconds, floored at 0.1 ms.
func logDuration(d time.Duration) float64 {
	return math.Log(math.Max(float64(d)/float64(time.Millisecond), 0.1))
}
