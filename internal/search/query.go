package search

import (
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/otelcol-agentic/otelcol-agentic/internal/lexicon"
)

// GroupKind says what a query group stands for.
type GroupKind uint8

const (
	// GroupWord is a word of the query, or a part of an identifier in it.
	GroupWord GroupKind = iota
	// GroupIdentifier is an identifier of several parts, written whole
	// ("NullPointerException").
	GroupIdentifier
	// GroupConcept is a failure the query names in one of the lexicon's
	// spellings; its alternatives are all the others.
	GroupConcept
	// GroupTerm is a domain word the query names, with its translations.
	GroupTerm
)

func (k GroupKind) String() string {
	return [...]string{"word", "identifier", "concept", "term"}[k]
}

// Alt is one way a document can satisfy a group: it must hold every term.
type Alt struct {
	Terms  []string
	Weight float64
	// Note says how the alternative relates to the query: "" for the word
	// as typed, "variant", "typo", or the lexicon spelling it stands for.
	Note string
}

// Group is a unit of the query's meaning. A document scores for a group
// with its best matching alternative, so a concept spelled ten ways counts
// once.
type Group struct {
	Kind   GroupKind
	Label  string // the word, the identifier, or the concept's name
	Weight float64
	Alts   []Alt
	// Covered marks a word the lexicon translated (a Korean word, or a word
	// no document holds, inside a matched spelling): its concept group
	// carries it, so it does not count against a document's coverage.
	Covered bool
}

// Query is a search text analysed for lexical retrieval.
type Query struct {
	Text   string
	Groups []Group
	// Corrections maps a typed word to the stored word it was read as.
	Corrections map[string]string
}

// Group weights.
const (
	wordWeight       = 1.0
	identifierWeight = 1.0
	// A failure named is the query's meaning; its words alone count
	// insideFailureWeight of a word each.
	conceptWeight       = 2.0
	insideFailureWeight = 0.3
	// A package or namespace ("java.net.") says little about the failure.
	namespaceWeight = 0.2
	// A domain term reached from a Korean word is all a Korean query has to
	// meet an English log with; from an English word it only adds synonyms.
	termWeightKorean  = 0.8
	termWeightEnglish = 0.3
)

// Alternative weights, relative to the word as typed.
const (
	typoWeight    = 0.8
	stemWeight    = 0.9
	variantWeight = 0.6
	synonymWeight = 0.5
	partialWeight = 0.6
	maxVariants   = 3
)

// Analyze turns a search text into groups of alternatives. v is what the
// store holds (nil: nothing known), for variants and typos.
func Analyze(text string, v *Vocabulary) Query {
	ix := theLexicon()
	q := Query{Text: text, Corrections: map[string]string{}}
	words := splitWords(text)
	known := func(p string) bool {
		return v.DF(p) > 0 || ix.words.DF(p) > 0 || stopwords[p] || isHangul(p) || strings.ContainsFunc(p, unicode.IsDigit)
	}
	fix := func(p string) string {
		if known(p) {
			return p
		}
		if c, _ := correct(p, v, ix.words); c != "" {
			q.Corrections[p] = c
			return c
		}
		return p
	}

	// Lexicon matching over the whole query, word parts in order.
	var keys []string
	var keyWord []int    // the query word each key came from
	var keyPart []string // and its part as typed
	for wi, w := range words {
		for _, p := range w.parts {
			k := matchKeys([]string{p}, fix)
			if len(k) == 0 {
				continue
			}
			keys = append(keys, k[0])
			keyWord = append(keyWord, wi)
			keyPart = append(keyPart, p)
		}
	}
	// Every concept named, with the query positions its spellings cover.
	// A concept whose positions all lie inside another's larger span is
	// the other's part ("NotFound" inside "FileNotFoundException", "없음"
	// inside "권한 없음") and is dropped.
	spans := map[int]map[int]bool{}
	best := map[int]lexMatch{}
	var order []int
	for _, m := range ix.match(keys) {
		c := ix.spellings[m.spelling].concept
		if spans[c] == nil {
			spans[c] = map[int]bool{}
			order = append(order, c)
		}
		for i := m.start; i < m.end; i++ {
			spans[c][i] = true
		}
		if prev, ok := best[c]; !ok || m.end-m.start > prev.end-prev.start {
			best[c] = m
		}
	}
	order = slices.DeleteFunc(order, func(c int) bool {
		for _, o := range order {
			if o != c && len(spans[o]) > len(spans[c]) && subset(spans[c], spans[o]) {
				return true
			}
		}
		return false
	})
	// Query words inside a failure's spelling say that failure: its group
	// carries them, and on their own they count little.
	inFailure := map[int]bool{} // word index
	failureKeys := map[int]bool{}
	covered := map[int]bool{}
	for _, c := range order {
		for i := range spans[c] {
			covered[keyWord[i]] = true
			if ix.concepts[c].Kind == lexicon.Failure {
				inFailure[keyWord[i]] = true
				failureKeys[i] = true
			}
		}
	}

	// Word and identifier groups.
	seen := map[string]bool{}
	wordGroup := map[string]int{} // part → index of its group
	for wi, w := range words {
		if len(w.parts) > 1 && keepTerm(w.whole) && !seen["="+w.whole] {
			seen["="+w.whole] = true
			g := Group{Kind: GroupIdentifier, Label: w.whole, Weight: identifierWeight,
				Alts: []Alt{{Terms: []string{w.whole}, Weight: 1}}}
			if inFailure[wi] {
				g.Weight *= insideFailureWeight
			}
			q.Groups = append(q.Groups, g)
		}
		for _, p := range w.parts {
			if stopwords[p] || !keepTerm(p) || seen[p] {
				continue
			}
			seen[p] = true
			g := Group{Kind: GroupWord, Label: p, Weight: wordWeight, Alts: []Alt{{Terms: []string{p}, Weight: 1}}}
			switch {
			case w.namespace:
				g.Weight = namespaceWeight
			case inFailure[wi]:
				g.Weight *= insideFailureWeight
			}
			base := p
			if s := koreanStem(p); s != p && keepTerm(s) {
				g.Alts = append(g.Alts, Alt{Terms: []string{s}, Weight: stemWeight, Note: "stem"})
			}
			if c, ok := q.Corrections[p]; ok {
				g.Alts = append(g.Alts, Alt{Terms: []string{c}, Weight: typoWeight, Note: "typo"})
				base = c
			}
			for _, t := range v.variants(base, maxVariants) {
				if t != p {
					g.Alts = append(g.Alts, Alt{Terms: []string{t}, Weight: variantWeight, Note: "variant"})
				}
			}
			// A word the lexicon translated, which no document holds as
			// written, is carried by its concept.
			g.Covered = covered[wi] && v.DF(p) == 0 && v.DF(q.Corrections[p]) == 0
			wordGroup[p] = len(q.Groups)
			q.Groups = append(q.Groups, g)
		}
	}

	// Concept and term groups: every spelling of each concept named. A
	// domain term said by one English word adds its synonyms to that word
	// ("db" for database); said in Korean it is a group of its own, the
	// only way the word can meet an English log.
	for _, ci := range order {
		c := ix.concepts[ci]
		var alts []Alt
		have := map[string]int{}
		for _, s := range ix.spellings {
			if s.concept != ci || s.terms == nil {
				continue
			}
			w := 1.0
			if s.sp.Partial {
				w = partialWeight
			}
			key := strings.Join(s.terms, " ")
			if j, ok := have[key]; ok {
				alts[j].Weight = max(alts[j].Weight, w)
				continue
			}
			have[key] = len(alts)
			alts = append(alts, Alt{Terms: s.terms, Weight: w, Note: s.sp.Text})
		}
		if len(alts) == 0 {
			continue
		}
		if c.Kind == lexicon.Failure {
			q.Groups = append(q.Groups, Group{Kind: GroupConcept, Label: c.Name, Weight: conceptWeight, Alts: alts})
			continue
		}
		if len(spans[ci]) == 1 {
			for i := range spans[ci] {
				if gi, ok := wordGroup[keyPart[i]]; ok && !isHangul(keyPart[i]) {
					g := &q.Groups[gi]
					for _, a := range alts {
						if !slices.ContainsFunc(g.Alts, func(b Alt) bool { return slices.Equal(a.Terms, b.Terms) }) {
							g.Alts = append(g.Alts, Alt{Terms: a.Terms, Weight: synonymWeight, Note: a.Note})
						}
					}
					alts = nil
				}
			}
			if alts == nil {
				continue
			}
		}
		g := Group{Kind: GroupTerm, Label: c.Name, Weight: termWeightEnglish, Alts: alts}
		inside := true
		for i := range spans[ci] {
			if isHangul(words[keyWord[i]].whole) {
				g.Weight = termWeightKorean
			}
			inside = inside && failureKeys[i]
		}
		if inside {
			g.Weight *= insideFailureWeight
		}
		q.Groups = append(q.Groups, g)
	}
	return q
}

// Params are the query as the hybrid SQL queries take it: every
// alternative's terms, its group's index and its weight (the group's times
// the alternative's).
func (q Query) Params() (terms [][]string, groups []uint16, weights []float32) {
	for gi, g := range q.Groups {
		for _, a := range g.Alts {
			terms = append(terms, a.Terms)
			groups = append(groups, uint16(gi))
			weights = append(weights, float32(g.Weight*a.Weight))
		}
	}
	if terms == nil {
		terms, groups, weights = [][]string{}, []uint16{}, []float32{}
	}
	return terms, groups, weights
}

// Probe is one term of every alternative the store can hold: a document
// holding none of them holds no alternative, so the hybrid queries score
// only the documents that hold a probe term (which the text index finds).
// Each alternative is probed by its rarest term in v, so that a spelling
// like "could not connect to server" does not bring in every document
// that says "not"; an alternative with a term v does not hold is left out
// (it cannot match), unless v is nil. An alternative whose rarest term is
// in more than a fifth of the documents ("error", "during") is not probed
// either: such a word alone makes no document a candidate worth scoring,
// and scoring every document is what would make a query slow. When that
// leaves nothing, the three rarest of them are probed after all.
func (q Query) Probe(v *Vocabulary) []string {
	seen := map[string]bool{}
	out := []string{}
	type common struct {
		term string
		df   int
	}
	var commons []common
	for _, g := range q.Groups {
		for _, a := range g.Alts {
			best, bestDF := "", 0
			for _, t := range a.Terms {
				df := v.DF(t)
				if v != nil && df == 0 {
					best = ""
					break
				}
				switch {
				case best == "",
					v != nil && df < bestDF,
					v == nil && stopwords[best] && !stopwords[t],
					v == nil && stopwords[best] == stopwords[t] && len(t) > len(best):
					best, bestDF = t, df
				}
			}
			if best == "" || seen[best] {
				continue
			}
			seen[best] = true
			if v != nil && bestDF*maxProbeShare > v.Docs() {
				commons = append(commons, common{best, bestDF})
				continue
			}
			out = append(out, best)
		}
	}
	if len(out) == 0 && len(commons) > 0 {
		slices.SortFunc(commons, func(a, b common) int { return a.df - b.df })
		for _, c := range commons[:min(3, len(commons))] {
			out = append(out, c.term)
		}
	}
	slices.Sort(out)
	return out
}

// maxProbeShare: a term in more than 1/maxProbeShare of the documents is
// too common to probe with.
const maxProbeShare = 5

// GroupStats estimates, for every group, how many stored documents hold
// one of its alternatives (df: the most any one alternative's rarest term
// is held — the union's lower bound, as the alternatives of a concept
// mostly say the same thing of the same documents) and the group's BM25
// rarity, idf = ln(1 + (N - df + 0.5) / (df + 0.5)). Without a vocabulary
// every group has df 0 and idf 1.
func (q Query) GroupStats(v *Vocabulary) (df []uint64, idf []float64) {
	df = make([]uint64, len(q.Groups))
	idf = make([]float64, len(q.Groups))
	n := float64(v.Docs())
	for gi, g := range q.Groups {
		most := 0
		for _, a := range g.Alts {
			least := -1
			for _, t := range a.Terms {
				if d := v.DF(t); least < 0 || d < least {
					least = d
				}
			}
			most = max(most, least)
		}
		df[gi] = uint64(min(most, v.Docs()))
		if v == nil {
			idf[gi] = 1
			continue
		}
		d := float64(df[gi])
		idf[gi] = math.Log(1 + (n-d+0.5)/(d+0.5))
	}
	return df, idf
}

// Concepts are the failure concepts the query names.
func (q Query) Concepts() []string {
	var out []string
	for _, g := range q.Groups {
		if g.Kind == GroupConcept {
			out = append(out, g.Label)
		}
	}
	return out
}

// Empty reports whether the query has nothing to match.
func (q Query) Empty() bool { return len(q.Groups) == 0 }

// altAt maps a flat alternative index (as in Params) to its group and
// alternative.
func (q Query) altAt(i int) (int, int, bool) {
	for gi, g := range q.Groups {
		if i < len(g.Alts) {
			return gi, i, true
		}
		i -= len(g.Alts)
	}
	return 0, 0, false
}

func subset(a, b map[int]bool) bool {
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
