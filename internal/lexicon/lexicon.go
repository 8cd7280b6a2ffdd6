// Package lexicon is a bilingual (English and Korean) vocabulary of software
// failures: for each kind of failure — a connection refused, a pool
// exhausted, a null dereference, a timeout — the ways the main ecosystems
// spell it (Linux errno and signal names and texts, HTTP reason phrases,
// gRPC codes, the exception classes of Java, Go, Python, .NET and Node,
// database error texts) and the ways Korean writes it. Error search uses it
// on both sides: a query that names a failure in one spelling finds stored
// errors that name it in another ("ECONNREFUSED" finds "connect: connection
// refused", "결제 시간 초과" finds "payment … timed out").
//
// Every spelling names the public source it comes from (Sources); none
// comes from the sample shop's own classes or messages (TestNoSampleShop
// checks). A few general domain words (payment, order, database, memory …)
// are kept as Term concepts so that a Korean query's nouns meet an English
// log's.
package lexicon

import "slices"

// Kind says what a concept is.
type Kind uint8

const (
	// Failure is a kind of failure.
	Failure Kind = iota
	// Term is a general domain word and its translations.
	Term
)

// Lang is a spelling's language.
type Lang uint8

const (
	English Lang = iota // also identifiers, codes and errno names
	Korean
)

// Spelling is one way of writing a concept.
type Spelling struct {
	Text   string
	Lang   Lang
	Source SourceID
	// Partial marks a spelling that says the concept only loosely (a
	// component's name, "connection pool"); search weighs it less.
	Partial bool
}

// Concept is a kind of failure, or a domain term, with its spellings.
type Concept struct {
	Name      string // snake_case, unique
	Kind      Kind
	About     string
	Spellings []Spelling
}

// Concepts returns the lexicon. The slice is shared: do not modify it.
func Concepts() []Concept { return concepts }

// Lookup returns the concept of a name.
func Lookup(name string) (Concept, bool) {
	i := slices.IndexFunc(concepts, func(c Concept) bool { return c.Name == name })
	if i < 0 {
		return Concept{}, false
	}
	return concepts[i], true
}

// from builds spellings of one source.
func from(src SourceID, lang Lang, texts ...string) []Spelling {
	out := make([]Spelling, len(texts))
	for i, t := range texts {
		out[i] = Spelling{Text: t, Lang: lang, Source: src}
	}
	return out
}

// partial builds partial spellings of one source.
func partial(src SourceID, lang Lang, texts ...string) []Spelling {
	out := from(src, lang, texts...)
	for i := range out {
		out[i].Partial = true
	}
	return out
}

func spellings(groups ...[]Spelling) []Spelling {
	var out []Spelling
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}
