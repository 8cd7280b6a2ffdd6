package search

import (
	"slices"
	"unicode/utf8"
)

// Vocabulary is what the stored documents say: every term of their
// search_terms with the number of documents that hold it. A query's words
// are matched against it for spelling variants ("refused" for "refuse") and
// typos ("conection").
type Vocabulary struct {
	df       map[string]int
	docs     int
	avgTerms float64
	byPrefix map[string][]string // first four bytes → terms
	byLen    map[int][]string    // rune count → terms
}

// NewVocabulary builds a vocabulary from document frequencies, the number
// of documents and their mean number of (template) terms.
func NewVocabulary(df map[string]int, docs int, avgTerms float64) *Vocabulary {
	v := &Vocabulary{df: df, docs: docs, avgTerms: avgTerms, byPrefix: map[string][]string{}, byLen: map[int][]string{}}
	for t := range df {
		if len(t) >= 4 {
			v.byPrefix[t[:4]] = append(v.byPrefix[t[:4]], t)
		}
		n := utf8.RuneCountInString(t)
		v.byLen[n] = append(v.byLen[n], t)
	}
	for _, ts := range v.byPrefix {
		slices.Sort(ts)
	}
	for _, ts := range v.byLen {
		slices.Sort(ts)
	}
	return v
}

// Docs is the number of documents.
func (v *Vocabulary) Docs() int {
	if v == nil {
		return 0
	}
	return v.docs
}

// AvgTerms is the documents' mean number of template terms (1 when
// unknown), BM25's average document length.
func (v *Vocabulary) AvgTerms() float64 {
	if v == nil || v.avgTerms < 1 {
		return 1
	}
	return v.avgTerms
}

// DF is how many documents hold a term.
func (v *Vocabulary) DF(t string) int {
	if v == nil {
		return 0
	}
	return v.df[t]
}

// Size is the number of distinct terms.
func (v *Vocabulary) Size() int {
	if v == nil {
		return 0
	}
	return len(v.df)
}

// variants are stored terms that are inflections or derivations of w: a
// common prefix of at least four letters and at most two letters short of
// the shorter word ("refuse" → "refused", "connect" → "connection"),
// most frequent first.
func (v *Vocabulary) variants(w string, limit int) []string {
	if v == nil || len(w) < 4 || isHangul(w) {
		return nil
	}
	var out []string
	for _, t := range v.byPrefix[w[:4]] {
		if t == w || abs(len(t)-len(w)) > 4 {
			continue
		}
		if commonPrefix(t, w) >= max(4, min(len(t), len(w))-2) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b string) int { return v.df[b] - v.df[a] })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// correct returns the stored term nearest to a word that is not stored
// itself: edit distance 1 for words of up to six letters, 2 beyond; ties go
// to the more frequent term. "" when none is near enough.
func correct(w string, vocabs ...*Vocabulary) (string, int) {
	n := utf8.RuneCountInString(w)
	if n < 4 || isHangul(w) {
		return "", 0
	}
	limit := 1
	if n >= 7 {
		limit = 2
	}
	best, bestD, bestDF := "", limit+1, -1
	for _, v := range vocabs {
		if v == nil {
			continue
		}
		for l := n - limit; l <= n+limit; l++ {
			for _, t := range v.byLen[l] {
				// A typo rarely hits both of the first two letters.
				if t[0] != w[0] && (len(t) < 2 || t[1] != w[1]) {
					continue
				}
				d := editDistance(w, t, limit)
				if d < bestD || (d == bestD && v.df[t] > bestDF) {
					best, bestD, bestDF = t, d, v.df[t]
				}
			}
		}
	}
	if bestD > limit {
		return "", 0
	}
	return best, bestD
}

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// editDistance is the optimal string alignment distance (Levenshtein with
// adjacent transpositions) between byte strings, or limit+1 once it is sure
// to exceed limit.
func editDistance(a, b string, limit int) int {
	if abs(len(a)-len(b)) > limit {
		return limit + 1
	}
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
