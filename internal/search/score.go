package search

import "slices"

// Doc is a stored document's terms as migration 0009 materializes them;
// only those among the query's terms need be given.
type Doc struct {
	Terms         []string // search_terms: everything it says
	TemplateTerms []string // search_template_terms: its template's alone
	TypeTerms     []string // search_type_terms: the error class it leads with
	// TemplateLen is how many template terms it has, BM25's document
	// length.
	TemplateLen int
}

// QueryTerms are the distinct terms of the query's alternatives: all a
// document's terms the scorer reads.
func (s *Scorer) QueryTerms() []string {
	out := make([]string, len(s.index))
	for t, i := range s.index {
		out[i] = t
	}
	return out
}

// Scorer scores documents for a query by BM25 with binary term frequency,
// exactly as the lexical ranking of schema/queries/similar_error_search.sql
// does (TestScorerMatchesTheSQL holds the two together): a document scores
// for a group with its best alternative, weight × the group's IDF × where
// it holds all the alternative's terms (template 1, also its error class
// +0.3, example body only 0.5), times BM25's length norm (k1 1.2, b 0.25)
// over its template's terms. Values are rounded through float32 where the
// SQL binds them as Float32, so that both order documents alike.
type Scorer struct {
	index   map[string]int // query term → bit
	alts    [][]uint64     // each alternative's terms as a bit set
	groups  []uint16
	weights []float64 // alternative weight (group's × its own)
	idf     []float64 // its group's IDF
	avgLen  float64
	words   int
}

// Scorer prepares the query for scoring with its groups' IDF (GroupStats)
// and the documents' mean number of template terms.
func (q Query) Scorer(idf []float64, avgLen float64) *Scorer {
	terms, groups, weights := q.Params()
	s := &Scorer{index: map[string]int{}, groups: groups, avgLen: float64(float32(avgLen))}
	for _, ts := range terms {
		for _, t := range ts {
			if _, ok := s.index[t]; !ok {
				s.index[t] = len(s.index)
			}
		}
	}
	s.words = (len(s.index) + 63) / 64
	for i, ts := range terms {
		bits := make([]uint64, s.words)
		for _, t := range ts {
			b := s.index[t]
			bits[b/64] |= 1 << (b % 64)
		}
		s.alts = append(s.alts, bits)
		s.weights = append(s.weights, float64(weights[i]))
		s.idf = append(s.idf, float64(float32(idfAt(idf, int(groups[i])))))
	}
	return s
}

func (s *Scorer) bits(terms []string) []uint64 {
	bits := make([]uint64, s.words)
	for _, t := range terms {
		if b, ok := s.index[t]; ok {
			bits[b/64] |= 1 << (b % 64)
		}
	}
	return bits
}

func holds(doc, alt []uint64) bool {
	for i, a := range alt {
		if doc[i]&a != a {
			return false
		}
	}
	return true
}

// Score is a document's lexical score and the alternatives it holds
// (indices into the query's Params, in order).
func (s *Scorer) Score(d Doc) (float64, []int) {
	all, tpl, typ := s.bits(d.Terms), s.bits(d.TemplateTerms), s.bits(d.TypeTerms)
	var matched []int
	sum, groupBest := 0.0, 0.0
	for i, alt := range s.alts {
		if i > 0 && s.groups[i] != s.groups[i-1] {
			sum, groupBest = sum+groupBest, 0
		}
		if !holds(all, alt) {
			continue
		}
		where := 0.5
		if holds(tpl, alt) {
			where = 1.0
			if holds(typ, alt) {
				where += 0.3
			}
		}
		c := where * s.weights[i] * s.idf[i]
		if c > 0 {
			matched = append(matched, i)
		}
		groupBest = max(groupBest, c)
	}
	sum += groupBest
	return sum * 2.2 / (1 + 1.2*(0.75+0.25*float64(d.TemplateLen)/s.avgLen)), matched
}

// Scored is a document's place in a lexical ranking.
type Scored struct {
	Key     uint64
	Score   float64
	Matched []int
}

// Rank scores documents and returns the best n with a positive score,
// best first (ties by key, as the SQL orders them).
func (s *Scorer) Rank(keys []uint64, docs []Doc, n int) []Scored {
	var out []Scored
	for i, d := range docs {
		if sc, m := s.Score(d); sc > 0 {
			out = append(out, Scored{Key: keys[i], Score: sc, Matched: m})
		}
	}
	slices.SortFunc(out, func(a, b Scored) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out[:min(n, len(out))]
}
