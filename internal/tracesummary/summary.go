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
	"sort"
	"strings"
	"time"
)

// Span is the part of a span the summary needs.
type Span struct {
	SpanID   string
	ParentID string
	Service  string
	Name     string
	Start    time.Time
	End      time.Time
	Error    bool
}

// Summary describes one trace.
type Summary struct {
	TraceID       string
	Start         time.Time
	RootService   string
	RootOperation string // "service name" of the entry span
	RootIndex     int    // index of the entry span in the input
	Sequence      string // "svc op -> svc op -> …" in call order
	Duration      time.Duration
	SpanCount     int
	ErrorCount    int
	// Steps are the spans in call order (depth-first, children by start).
	Steps []Step
	// MaxRepeat is the longest run of consecutive identical calls made by
	// one parent: a retry loop shows here.
	MaxRepeat int
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
// missing from the trace are treated as roots; the earliest root is the
// entry point.
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
	root := spans[roots[0]]
	s.RootIndex = roots[0]
	s.RootService = root.Service
	s.RootOperation = label(root)

	visited := make([]bool, len(spans))
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if visited[i] {
			return
		}
		visited[i] = true
		sp := spans[i]
		s.Steps = append(s.Steps, Step{Label: label(sp), Depth: depth, Duration: sp.End.Sub(sp.Start), Error: sp.Error})
		run, prev := 0, ""
		for _, c := range children[i] {
			l := label(spans[c])
			if l == prev {
				run++
			} else {
				run, prev = 1, l
			}
			if run > s.MaxRepeat {
				s.MaxRepeat = run
			}
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	if len(roots) > 1 && s.MaxRepeat < 1 {
		s.MaxRepeat = 1
	}

	labels := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		labels[i] = st.Label
	}
	s.Sequence = strings.Join(labels, " -> ")
	s.EmbedText = embedText(s)
	return s
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
