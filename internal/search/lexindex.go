package search

import (
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/otelcol-agentic/otelcol-agentic/internal/lexicon"
)

// lexSpelling is a lexicon spelling compiled for matching.
type lexSpelling struct {
	concept int // index into lexIndex.concepts
	sp      lexicon.Spelling
	keys    []string // what a query must say, in order (matchKeys)
	terms   []string // what a document must hold (all of them) to say it
}

// lexIndex is the lexicon compiled once per process.
type lexIndex struct {
	concepts  []lexicon.Concept
	spellings []lexSpelling
	byFirst   map[string][]int
	// words are the lexicon's English parts, for correcting a query's typos
	// even where the store does not hold the word yet.
	words *Vocabulary
}

var (
	lexOnce sync.Once
	lex     *lexIndex
)

func theLexicon() *lexIndex {
	lexOnce.Do(func() { lex = compileLexicon(lexicon.Concepts()) })
	return lex
}

func compileLexicon(cs []lexicon.Concept) *lexIndex {
	ix := &lexIndex{concepts: cs, byFirst: map[string][]int{}}
	words := map[string]int{}
	add := func(s lexSpelling) {
		if len(s.keys) == 0 {
			return
		}
		ix.byFirst[s.keys[0]] = append(ix.byFirst[s.keys[0]], len(ix.spellings))
		ix.spellings = append(ix.spellings, s)
	}
	for ci, c := range cs {
		for _, sp := range c.Spellings {
			parts := partsOf(sp.Text)
			keys := matchKeys(parts, nil)
			terms := docTerms(sp.Text)
			add(lexSpelling{concept: ci, sp: sp, keys: keys, terms: terms})
			if sp.Lang == lexicon.Korean && len(keys) > 1 {
				// Korean often writes a compound without its space:
				// 시간 초과 and 시간초과.
				add(lexSpelling{concept: ci, sp: sp, keys: []string{strings.Join(keys, "")}, terms: terms})
			}
			if sp.Lang == lexicon.English {
				for _, p := range parts {
					if !isHangul(p) {
						words[p] = 1
					}
				}
			}
		}
	}
	ix.words = NewVocabulary(words, 0, 0)
	return ix
}

// matchKeys turns parts into lexicon matching keys: English stopwords
// dropped, Korean endings cut, inflections folded. fix, if not nil, may
// replace a part first (a typo's correction).
func matchKeys(parts []string, fix func(string) string) []string {
	var keys []string
	for _, p := range parts {
		if stopwords[p] {
			continue
		}
		if fix != nil {
			p = fix(p)
		}
		keys = append(keys, lightStem(koreanStem(p)))
	}
	return keys
}

// docTerms are the terms a document must hold to say a spelling: each
// word of it, an identifier of several parts whole ("MemoryError" is
// "memoryerror", not "memory" and "error", which any message about memory
// holds). nil when the spelling says nothing on its own: only function
// words, or a word too short to be a term ("i/o timeout" would be just
// "timeout").
func docTerms(text string) []string {
	var out []string
	useful := false
	for _, w := range splitWords(text) {
		t := w.whole
		if len(w.parts) == 1 {
			t = w.parts[0]
		}
		if !keepTerm(t) {
			return nil
		}
		out = append(out, t)
		if isHangul(t) || strings.ContainsFunc(t, unicode.IsDigit) || !stopwords[t] {
			useful = true
		}
	}
	if !useful {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lexMatch is a spelling found in a query.
type lexMatch struct {
	spelling   int
	start, end int // span of matching units
}

// match finds every spelling whose keys occur contiguously in keys.
func (ix *lexIndex) match(keys []string) []lexMatch {
	var out []lexMatch
	for i, k := range keys {
		for _, si := range ix.byFirst[k] {
			sk := ix.spellings[si].keys
			if i+len(sk) <= len(keys) && slices.Equal(keys[i:i+len(sk)], sk) {
				out = append(out, lexMatch{spelling: si, start: i, end: i + len(sk)})
			}
		}
	}
	return out
}
