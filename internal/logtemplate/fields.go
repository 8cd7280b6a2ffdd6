// Fields with structure: key=value pairs, quoted text and paths.

package logtemplate

import (
	"strings"
	"unicode/utf8"
)

// keyValue handles key=value: the key is kept and the value masked whole,
// since in key=value output the key names the field and the value is data.
func (n *normalizer) keyValue(i, hi int, inQuote bool) (int, bool) {
	src := n.src
	j := i
	for j < hi && class[src[j]]&cKey != 0 {
		j++
	}
	if j >= hi || src[j] != '=' || j+1 < hi && src[j+1] == '=' || class[src[i]]&cAlpha == 0 && src[i] != '_' {
		return i, false
	}
	n.literal(src[i:j])
	n.punct('=')
	v := j + 1
	if v >= hi {
		return v, true
	}
	mode := quoteMask
	if messageKeys.has(src[i:j]) {
		mode = quoteKeep
	}
	if class[src[v]]&cQuote != 0 && !inQuote {
		if end, ok := n.quoted(v, hi, mode); ok {
			return end, true
		}
	}
	if mode == quoteKeep {
		return v, true
	}
	if strings.HasPrefix(src[v:hi], Placeholder) {
		// Already a template: anything glued to the placeholder came from
		// text after the original value, so it is not part of the value.
		n.placeholder()
		return v + len(Placeholder), true
	}
	e := v
	for e < hi && (src[e] >= utf8.RuneSelf && !spaceAt(src, e, hi) || src[e] < utf8.RuneSelf && class[src[e]]&(cValueStop|cQuote) == 0) {
		e++
	}
	if strings.Contains(src[v:e], "://") {
		return v, true // a URL names an endpoint; only its ids are masked
	}
	e = trimOpeners(src, v, e)
	if e > v {
		n.placeholder()
	}
	return e, true
}

// quoted handles a span between matching quotes. A single plain word or
// number inside quotes is a value ('safety', "bob", '42') and is masked.
// Code identifiers ("String.length()", 'orders_pkey'), paths and URLs name
// code or resources, and text with spaces is usually a nested message
// (desc = "transport: connection refused") or a request line; those are
// normalised like free text instead.
func (n *normalizer) quoted(i, hi int, mode quoteMode) (int, bool) {
	src := n.src
	q := src[i]
	// Where an earlier search for this quote character found no closing
	// quote, a search from a later opening quote will not find one either;
	// resuming there keeps a line of many unmatched quotes linear. (A
	// length cap would not be idempotent: masking changes lengths.)
	k := strings.IndexByte(quoteChars, q)
	j := max(i+1, n.noCloserBefore[k])
	// A closing quote ends a word: "don't" has none. A placeholder counts
	// as a word so that re-normalising a template ("`a`<*>", made from
	// "`a`42") pairs the quotes as the first pass did. Backslash escapes are
	// deliberately not honoured: the backslash may be masked away, and the
	// pairing must not change when it is.
	// A signed number or a path right after the quote counts as a word
	// too: it may be masked whole, leaving a placeholder there.
	for ; j < hi; j++ {
		if src[j] == q && !wordGoesOn(src, j+1, hi) && !signedNumberAt(src, j+1, hi) && !pathLike(src[j+1:min(hi, j+4)]) {
			break
		}
	}
	if j >= hi {
		n.noCloserBefore[k] = hi
		return i, false
	}
	content := src[i+1 : j]
	n.punct(q)
	if len(content) > 0 {
		// A quoted word followed by ':' is a key ({"user": ...}), not a value.
		isKey := j+1 < hi && src[j+1] == ':'
		if mode == quoteKeep || mode == quoteAuto && (isKey || keepQuoted(content)) {
			n.scan(i+1, j, true)
		} else {
			n.placeholder()
		}
	}
	n.punct(q)
	return j + 1, true
}

type quoteMode uint8

const (
	quoteAuto quoteMode = iota // decide by the content (keepQuoted)
	quoteMask                  // value of key="...": always data
	quoteKeep                  // value of msg="...": free text
)

func keepQuoted(s string) bool {
	if strings.Contains(s, Placeholder) || strings.Contains(s, "://") || pathLike(s) {
		return true
	}
	for k := 0; k < len(s); k++ {
		if class[s[k]]&cSpace != 0 {
			return true
		}
	}
	if len(s) > 128 {
		return false
	}
	c := s[0]
	if class[c]&cAlpha == 0 && c != '_' && c != '$' {
		return false
	}
	mark := false
	for k := 0; k < len(s); k++ {
		f := class[s[k]]
		if s[k] >= utf8.RuneSelf || f&(cAlnum|cIdent) == 0 {
			return false
		}
		if f&cIdentMark != 0 {
			mark = true
		}
	}
	return mark
}

func pathLike(s string) bool {
	return len(s) > 1 && (s[0] == '/' && s[1] != '/' && !spaceAt(s, 1, len(s)) ||
		strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~/") ||
		len(s) > 2 && class[s[0]]&cAlpha != 0 && s[1] == ':' && (s[2] == '\\' || s[2] == '/'))
}

// path masks a file system path whole: directory names are deployment
// detail (user names, job ids, mount points) whose digits are only
// sometimes present. A source file name at the end is kept as a code
// location. Paths after an HTTP method are routes and are left to the
// per-segment rules, which mask only the ids in them.
func (n *normalizer) path(i, hi int) (int, bool) {
	src := n.src
	if n.afterMethod || i < n.noPathBefore || !pathLike(src[i:min(hi, i+3)]) {
		return i, false
	}
	need := 1
	if src[i] == '/' {
		need = 2
	}
	seps, lastSep := 0, -1
	j := i
	for j < hi {
		b := src[j]
		if b == '<' && strings.HasPrefix(src[j:hi], Placeholder) {
			// Re-normalising a template: a path that the first pass masked
			// is a single placeholder, so text running into one was not
			// read as a path (it may be a rejected route, or the merge of
			// placeholders from separate words).
			n.noPathBefore = j
			return i, false
		}
		if b == '/' || b == '\\' {
			seps++
			lastSep = j
		} else if b < utf8.RuneSelf && class[b]&cPathStop != 0 || b >= utf8.RuneSelf && spaceAt(src, j, hi) {
			break
		} else if b == ':' && (j+1 >= hi || src[j+1] != '/' && src[j+1] != '\\') {
			break
		}
		j++
	}
	// A path that starts inside a rejected one ends where it ends and
	// has no more separators, so it would be rejected too.
	if j < hi && src[j] == '?' {
		n.noPathBefore = j
		return i, false // a URL route with a query string
	}
	if seps < need {
		n.noPathBefore = j
		return i, false
	}
	for j > i+1 && (src[j-1] == '.' || src[j-1] == '!') {
		j--
	}
	j = trimOpeners(src, i+1, j)
	n.placeholder()
	if lastSep >= 0 && isSourceFile(src[lastSep+1:j]) {
		n.punct(src[lastSep])
		n.scan(lastSep+1, j, true) // the name may still hold an id
	}
	return j, true
}

// wordGoesOn reports whether the word continues at j: with a letter or
// digit (any non-ASCII character but a space counts as a letter, as in
// segments), or with a placeholder that (in a template being normalised
// again) stands for the masked rest of the word. A shape that matches only
// a prefix of a word is not that shape.
func wordGoesOn(src string, j, hi int) bool {
	if j >= hi {
		return false
	}
	if src[j] >= utf8.RuneSelf {
		return !spaceAt(src, j, hi)
	}
	// '_' too: a word may start with it (_id, __init__) and is then masked
	// or kept together with it.
	return class[src[j]]&cAlnum != 0 || src[j] == '_' || strings.HasPrefix(src[j:hi], Placeholder)
}

func signedNumberAt(src string, j, hi int) bool {
	return j+1 < hi && (src[j] == '-' || src[j] == '+') && class[src[j+1]]&cDigit != 0
}

// trimOpeners drops characters that open a quote or a path from the end of
// a span about to be masked. Left in the span they would vanish into the
// placeholder while having decided, in this pass, how the next character
// is read; re-normalising the template must decide it the same way.
func trimOpeners(src string, lo, e int) int {
	for e > lo && class[src[e-1]]&cOpen != 0 {
		e--
	}
	return e
}

func isSourceFile(base string) bool {
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return false
	}
	for k := 0; k < dot; k++ {
		b := base[k]
		if b >= utf8.RuneSelf || class[b]&(cAlnum) == 0 && b != '_' && b != '-' {
			return false
		}
	}
	return sourceExts.has(base[dot+1:])
}
