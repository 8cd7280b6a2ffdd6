package rca

import (
	"cmp"
	"slices"
	"strings"
)

type trace struct {
	id       string
	spans    []*Span
	byID     map[string]*Span
	children map[string][]*Span
}

func groupTraces(spans []Span) map[string]*trace {
	out := map[string]*trace{}
	for i := range spans {
		s := &spans[i]
		t := out[s.TraceID]
		if t == nil {
			t = &trace{id: s.TraceID, byID: map[string]*Span{}, children: map[string][]*Span{}}
			out[s.TraceID] = t
		}
		if _, dup := t.byID[s.SpanID]; dup {
			continue
		}
		t.spans = append(t.spans, s)
		t.byID[s.SpanID] = s
	}
	for _, t := range out {
		slices.SortFunc(t.spans, func(a, b *Span) int {
			return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.SpanID, b.SpanID))
		})
		for _, s := range t.spans {
			if s.ParentID != "" && s.ParentID != s.SpanID {
				if _, ok := t.byID[s.ParentID]; ok {
					t.children[s.ParentID] = append(t.children[s.ParentID], s)
				}
			}
		}
	}
	return out
}

func (t *trace) parent(s *Span) *Span {
	if s.ParentID == "" || s.ParentID == s.SpanID {
		return nil
	}
	return t.byID[s.ParentID]
}

// culprit is where one failure of a trace starts: the deepest error span,
// or for a failed call whose callee did not fail itself, the callee.
type culprit struct {
	span        *Span // the deepest error span
	blame       *Span // the span blamed: span itself or its slowest callee
	reassigned  bool
	unreachable bool // a call with no callee span: the callee never answered
}

func (c culprit) peerOrService() string {
	if c.span.Peer != "" {
		return c.span.Peer
	}
	return c.span.Service
}

func isCall(kind string) bool {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(kind), "span_kind_")) {
	case "client", "producer":
		return true
	}
	return false
}

func isEntry(kind string) bool {
	switch strings.ToLower(strings.TrimPrefix(strings.ToLower(kind), "span_kind_")) {
	case "server", "consumer":
		return true
	}
	return false
}

// culprits returns the trace's deepest error spans: error spans none of
// whose descendants failed.
func (t *trace) culprits() []culprit {
	errBelow := map[string]bool{}
	for _, s := range t.spans {
		if !s.Error {
			continue
		}
		// Mark every ancestor; the bound guards against parent cycles.
		p := t.parent(s)
		for n := 0; p != nil && n < len(t.spans); n++ {
			if errBelow[p.SpanID] {
				break
			}
			errBelow[p.SpanID] = true
			p = t.parent(p)
		}
	}
	var out []culprit
	for _, s := range t.spans {
		if !s.Error || errBelow[s.SpanID] {
			continue
		}
		c := culprit{span: s, blame: s}
		if isCall(s.Kind) {
			var slowest *Span
			for _, k := range t.children[s.SpanID] {
				if slowest == nil || k.Duration > slowest.Duration {
					slowest = k
				}
			}
			if slowest != nil {
				c.blame, c.reassigned = slowest, true
			} else {
				c.unreachable = true
			}
		}
		out = append(out, c)
	}
	return out
}

// path lists the hops from s up to the trace's entry span: s itself, then
// each service the failure passed through, named by the span through which
// the request entered that service.
func (t *trace) path(s *Span) []string {
	var chain []*Span
	for p := t.parent(s); p != nil && len(chain) < len(t.spans); p = t.parent(p) {
		chain = append(chain, p)
	}
	hops := []string{label(s)}
	i := 0
	for i < len(chain) && chain[i].Service == s.Service {
		i++
	}
	for i < len(chain) {
		j := i
		for j+1 < len(chain) && chain[j+1].Service == chain[i].Service {
			j++
		}
		hops = append(hops, label(chain[j]))
		i = j + 1
	}
	return hops
}

func label(s *Span) string {
	l := s.Service + " " + s.Name
	if !s.Error {
		l += " (ok)"
	}
	return l
}

// messages are the error texts at a culprit: the failing span's status and
// logs, and the blamed callee's; the service's error logs in the trace when
// the spans carry none.
func (c culprit) messages(t *trace, bySpan map[string][]string, byTraceService map[[2]string][]string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(m string) {
		m = strings.TrimSpace(m)
		if m == "" {
			return
		}
		k := messageKey(m)
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	for _, s := range []*Span{c.blame, c.span} {
		add(s.StatusMessage)
		for _, l := range bySpan[t.id+"/"+s.SpanID] {
			add(l)
		}
	}
	if len(out) == 0 {
		for _, l := range byTraceService[[2]string{t.id, c.blame.Service}] {
			add(l)
		}
	}
	return out
}
