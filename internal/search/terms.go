package search

import (
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// The term analyzer. A text's terms are its words lower-cased, whole
// ("nullpointerexception", "reserve_stock") and split at case changes,
// underscores and dots ("null", "pointer", "exception", "reserve",
// "stock"), so a query finds an identifier by its parts and by its whole.
// Template placeholders ("<*>", "<NUM>") say only that a value was there and
// are dropped, so a template mined Drain-style and one masked by our
// normaliser have the same terms.
//
// Stored templates are analyzed by ClickHouse (materialized columns of
// log_templates and error_patterns, migration 0009) and queries by Go, so
// the rules are written once, as RE2 patterns, which ClickHouse and Go's
// regexp read the same way; TermsSQL renders them for the migration and
// TestTermsMatchClickHouse compares both analyzers on real logs.
const (
	placeholderRE = `<[*_.:A-Za-z0-9-]{1,24}>`
	wordRE        = `[\p{L}\p{N}_]+`
	partRE        = `[\p{L}\p{N}]+`
	camelRE       = `([\p{Ll}\p{N}])(\p{Lu})`
	acronymRE     = `(\p{Lu}+)(\p{Lu}\p{Ll})`
	// errorTypeRE finds the exception or error class a message leads with
	// (after a bracketed prefix such as "[main]").
	errorTypeRE = `^[^\p{L}]*(?:\[[^\]]*\][^\p{L}]*)?([\p{L}_][\p{L}\p{N}_.$]*(?:Error|Exception|Failure|Fault|Panic|Timeout))`
	// Terms longer than maxTermRunes or digit runs longer than
	// maxDigits (ids, timestamps) are dropped.
	maxTermRunes = 40
	maxDigits    = 5
)

var (
	placeholder = regexp.MustCompile(placeholderRE)
	word        = regexp.MustCompile(wordRE)
	part        = regexp.MustCompile(partRE)
	camel       = regexp.MustCompile(camelRE)
	acronym     = regexp.MustCompile(acronymRE)
	errorType   = regexp.MustCompile(errorTypeRE)
	longDigits  = regexp.MustCompile(`^[0-9]{` + itoa(maxDigits+1) + `,}$`)
)

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// Terms are a text's distinct terms, sorted.
func Terms(text string) []string {
	text = placeholder.ReplaceAllString(text, " ")
	whole := word.FindAllString(strings.ToLower(text), -1)
	split := acronym.ReplaceAllString(camel.ReplaceAllString(text, "$1 $2"), "$1 $2")
	parts := part.FindAllString(strings.ToLower(split), -1)
	out := make([]string, 0, len(whole)+len(parts))
	for _, t := range append(whole, parts...) {
		if keepTerm(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func keepTerm(t string) bool {
	n := utf8.RuneCountInString(t)
	return n >= 2 && n <= maxTermRunes && !longDigits.MatchString(t)
}

// TypeTerms are the terms of the error class a text leads with, none when
// it names none.
func TypeTerms(text string) []string {
	m := errorType.FindStringSubmatch(text)
	if m == nil {
		return nil
	}
	return Terms(m[1])
}

// TermsSQL renders the analyzer as a ClickHouse expression over a String
// expression, giving what Terms gives in Go.
func TermsSQL(expr string) string {
	x := "replaceRegexpAll(" + expr + ", " + sqlString(placeholderRE) + ", ' ')"
	split := "replaceRegexpAll(replaceRegexpAll(" + x + ", " + sqlString(camelRE) + ", '\\\\1 \\\\2'), " + sqlString(acronymRE) + ", '\\\\1 \\\\2')"
	return "arraySort(arrayDistinct(arrayFilter(t -> lengthUTF8(t) BETWEEN 2 AND " + itoa(maxTermRunes) +
		" AND NOT match(t, " + sqlString(longDigits.String()) + "), arrayConcat(extractAll(lowerUTF8(" + x + "), " + sqlString(wordRE) +
		"), extractAll(lowerUTF8(" + split + "), " + sqlString(partRE) + ")))))"
}

// TypeTermsSQL renders TypeTerms as a ClickHouse expression.
func TypeTermsSQL(expr string) string {
	return TermsSQL("extract(" + expr + ", " + sqlString(errorTypeRE) + ")")
}

func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
