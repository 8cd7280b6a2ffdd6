package search

import (
	"fmt"
	"math"
	"slices"
)

// Match explains why a document matched a query lexically.
type Match struct {
	// Words are the query's words found in the document (as typed; a typo
	// or variant says which stored word it met: "conection→connection").
	Words []string `json:"words,omitempty"`
	// Concepts are the failures the query names that the document names too,
	// with the spelling it uses: "connection_refused as \"ECONNREFUSED\"".
	Concepts []string `json:"concepts,omitempty"`
	// Coverage is the share of the query's information (its groups weighted
	// by rarity in the store) the document holds, 0 to 1.
	Coverage float64 `json:"coverage"`
}

// Explain builds a document's Match from the alternatives it holds
// (indices into the query's Params), and for every group how many stored
// documents hold any of its alternatives (df) and its rarity (idf), as the
// hybrid queries return them.
func (q Query) Explain(matched []int, df []uint64, idf []float64) Match {
	var m Match
	best := make([]float64, len(q.Groups))
	bestAlt := make([]int, len(q.Groups))
	for i := range bestAlt {
		bestAlt[i] = -1
	}
	for _, i := range matched {
		gi, ai, ok := q.altAt(i)
		if !ok {
			continue
		}
		if w := q.Groups[gi].Alts[ai].Weight; w > best[gi] {
			best[gi], bestAlt[gi] = w, ai
		}
	}
	var got, total float64
	for gi, g := range q.Groups {
		w := g.Weight * idfAt(idf, gi)
		if !g.Covered {
			total += w
			got += w * best[gi]
		}
		ai := bestAlt[gi]
		if ai < 0 {
			continue
		}
		a := g.Alts[ai]
		switch g.Kind {
		case GroupWord, GroupIdentifier:
			if a.Note == "" || a.Note == "stem" {
				m.Words = append(m.Words, g.Label)
			} else {
				m.Words = append(m.Words, g.Label+"→"+a.Terms[0])
			}
		case GroupConcept, GroupTerm:
			m.Concepts = append(m.Concepts, fmt.Sprintf("%s as %q", g.Label, a.Note))
		}
	}
	if total > 0 {
		m.Coverage = math.Round(got/total*1000) / 1000
	}
	slices.Sort(m.Words)
	return m
}

func idfAt(idf []float64, i int) float64 {
	if i < len(idf) {
		return idf[i]
	}
	return 1
}
