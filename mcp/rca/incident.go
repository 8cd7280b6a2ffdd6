package rca

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Culprit names where one trace deviates: the deepest failing span (or,
// for a failed call, its slowest callee or the unanswered peer), or in a
// trace without errors the span that spent the most time itself — the
// deepest span a slow caller waited on.
func Culprit(spans []Span) string {
	ts := groupTraces(spans)
	for _, t := range ts {
		if cs := t.culprits(); len(cs) > 0 {
			slices.SortFunc(cs, func(a, b culprit) int {
				return cmp.Or(a.span.Start.Compare(b.span.Start), strings.Compare(a.span.SpanID, b.span.SpanID))
			})
			c := cs[0]
			if c.unreachable {
				return c.peerOrService() + " " + c.span.Name
			}
			return c.blame.Service + " " + c.blame.Name
		}
		var best *Span
		var bestSelf time.Duration
		for _, s := range t.spans {
			self := s.Duration
			for _, k := range t.children[s.SpanID] {
				self -= k.Duration
			}
			if best == nil || self > bestSelf {
				best, bestSelf = s, self
			}
		}
		if best != nil {
			return best.Service + " " + best.Name
		}
	}
	return ""
}
