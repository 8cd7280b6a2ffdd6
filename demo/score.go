package demo

import (
	"regexp"
	"strings"
)

// Scoring: pure functions, tested in score_test.go.

// kindClasses groups root-cause kinds that name the same fault for scoring:
// a memory leak that ends in load shedding may be reported as either.
var kindClasses = [][]string{
	{"memory_leak", "memory_pressure"},
	{"dependency_timeout", "latency"},
}

// KindMatches reports whether an answered kind names the expected one.
func KindMatches(expected, got string) bool {
	expected, got = strings.ToLower(strings.TrimSpace(expected)), strings.ToLower(strings.TrimSpace(got))
	if expected == "" || got == "" {
		return false
	}
	if expected == got {
		return true
	}
	for _, class := range kindClasses {
		in := func(s string) bool {
			for _, k := range class {
				if k == s {
					return true
				}
			}
			return false
		}
		if in(expected) && in(got) {
			return true
		}
	}
	return false
}

// Expectation is what a correct root-cause answer names: one of the
// services and one of the kinds.
type Expectation struct {
	Services []string `json:"services"`
	Kinds    []string `json:"kinds"`
}

// Matches reports whether a (service, kind) answer is correct.
func (e Expectation) Matches(service, kind string) bool {
	okSvc := false
	for _, s := range e.Services {
		if strings.EqualFold(s, service) {
			okSvc = true
		}
	}
	if !okSvc {
		return false
	}
	for _, k := range e.Kinds {
		if KindMatches(k, kind) {
			return true
		}
	}
	return false
}

// Answer is one ranked (service, kind) candidate.
type Answer struct {
	Service string `json:"service"`
	Kind    string `json:"kind"`
}

// TopK reports whether a correct answer is among the first k.
func TopK(answers []Answer, k int, e Expectation) bool {
	for i, a := range answers {
		if i >= k {
			break
		}
		if e.Matches(a.Service, a.Kind) {
			return true
		}
	}
	return false
}

// Accuracy is the share of true values (0 when there are none).
func Accuracy(hits []bool) float64 {
	if len(hits) == 0 {
		return 0
	}
	n := 0
	for _, h := range hits {
		if h {
			n++
		}
	}
	return float64(n) / float64(len(hits))
}

// PRF is precision, recall and F1 from counts; an undefined ratio is 0.
func PRF(tp, fp, fn int) (p, r, f1 float64) {
	if tp+fp > 0 {
		p = float64(tp) / float64(tp+fp)
	}
	if tp+fn > 0 {
		r = float64(tp) / float64(tp+fn)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return
}

// Confusion counts predictions against the truth over a universe of ids:
// predicted[id] is the detector's flag, actual holds the positives.
func Confusion(predicted map[string]bool, actual map[string]bool) (tp, fp, fn, tn int) {
	for id, flagged := range predicted {
		switch {
		case flagged && actual[id]:
			tp++
		case flagged:
			fp++
		case actual[id]:
			fn++
		default:
			tn++
		}
	}
	return
}

// PrecisionAtK is the share of the first k results whose type equals the
// query's, over the results returned (at most k); 0 without results.
func PrecisionAtK(queryType string, resultTypes []string, k int) float64 {
	n := len(resultTypes)
	if n > k {
		n = k
	}
	if n == 0 {
		return 0
	}
	rel := 0
	for _, t := range resultTypes[:n] {
		if t == queryType {
			rel++
		}
	}
	return float64(rel) / float64(n)
}

// PrecisionAtKCapped is PrecisionAtK with the denominator min(k, available):
// when only `available` results of the query's type exist at all, a perfect
// ranking puts them first and scores 1. Only the first min(k, available)
// results are judged.
func PrecisionAtKCapped(queryType string, resultTypes []string, k, available int) float64 {
	n := k
	if available < n {
		n = available
	}
	if n <= 0 {
		return 0
	}
	rel := 0
	for i, t := range resultTypes {
		if i >= n {
			break
		}
		if t == queryType {
			rel++
		}
	}
	return float64(rel) / float64(n)
}

var errTypeRe = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_.$]*(?:Error|Exception|Failure|Fault|Panic|Timeout))\b`)
var firstWordRe = regexp.MustCompile(`^\s*([A-Za-z_][A-Za-z0-9_.$]*)\s*:`)

// ErrorType is an error message's leading exception type token, e.g.
// "InventoryDBError" for "InventoryDBError: timed out acquiring …", or the
// leading word before a colon ("panic: …" → "panic"); "" when the message
// names none.
func ErrorType(msg string) string {
	if m := errTypeRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	if m := firstWordRe.FindStringSubmatch(msg); m != nil {
		return m[1]
	}
	return ""
}

// JourneyPredictions lifts per-trace verdicts to journeys: a journey is
// flagged when any of its traces is. Journeys none of whose traces were
// scored are left out.
func JourneyPredictions(journeys map[string][]string, pred map[string]bool) map[string]bool {
	out := map[string]bool{}
	for j, ids := range journeys {
		for _, id := range ids {
			if flagged, ok := pred[id]; ok {
				out[j] = out[j] || flagged
			}
		}
	}
	return out
}
