package logtemplate

// This file is a frozen copy of the normaliser as it was before the
// optimisation of normalize.go and tables.go (commit 99899c8), with every
// package-level name prefixed by "ref". TestNormalizeMatchesReference and
// FuzzNormalizeMatchesReference compare Normalize against it: the fast
// scanner must produce byte-identical templates and hashes. When a rule is
// changed on purpose, change it here too (or regenerate this copy) so the
// differential tests keep guarding the speed-only changes.

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Placeholder replaces every masked span of a template.
const refPlaceholder = "<*>"

// Buffers that grew beyond this (huge lines) are not kept in the pool, so one
// pathological line does not pin memory for the life of the process.
const refMaxPooledBuf = 64 << 10

// Longest run hexColonEnd looks at; longer than any MAC or IPv6 text form.
const refMaxHexColon = 48

// Result of normalising one log body.
type refResult struct {
	Template string // masked text, e.g. "connection to <*> timed out after <*>"
	Hash     uint64 // FNV-1a 64 of Template; stable across processes and Go versions
}

// Normalize turns a log body into its template and the template's hash.
// It never fails: any byte sequence yields a valid UTF-8 template.
func refNormalize(body string) refResult {
	n := refPool.Get().(*refNormalizer)
	n.reset(body)
	n.scan(0, len(body), false)
	t := string(n.out)
	n.src = ""
	if cap(n.out) <= refMaxPooledBuf {
		refPool.Put(n)
	}
	return refResult{Template: t, Hash: refHashTemplate(t)}
}

var refPool = sync.Pool{New: func() any { return &refNormalizer{out: make([]byte, 0, 256)} }}

type refNormalizer struct {
	src string
	out []byte

	pendingSpace bool

	// Placeholder merging: phEnd is len(out) right after the last placeholder
	// (-1 if none) and sepOnly says that only separators were written since,
	// so a new placeholder can swallow them and merge with the previous one.
	phEnd   int
	sepOnly bool

	// A month or weekday name is written provisionally; if a placeholder
	// follows it, the output is rewound to dateStart so the name joins the
	// date's placeholder.
	dateStart   int
	datePhEnd   int
	dateSepOnly bool

	userNext    refPrincipal // the next field may be a user name
	authContext bool         // an authentication word was seen, so "for X" names an account
	afterMethod bool         // the previous field was an HTTP method, so a path is a URL route

	// Look-ahead memos that keep adversarial lines linear (see quoted, path).
	noCloserBefore [len(refQuoteChars)]int
	noPathBefore   int

	wordsUntil int // src offset up to which segments are known not to be variable
}

const refQuoteChars = "'\"`"

// principal says why the next field may be a user name.
type refPrincipal uint8

const (
	refPrincipalNone refPrincipal = iota
	refPrincipalUser              // after "user" / "username"
	refPrincipalFor               // after "for" in a line about authentication
)

func (n *refNormalizer) reset(src string) {
	n.src = src
	if cap(n.out) < len(src)+8 && len(src) <= refMaxPooledBuf {
		n.out = make([]byte, 0, len(src)+8)
	}
	n.out = n.out[:0]
	n.pendingSpace = false
	n.phEnd = -1
	n.sepOnly = false
	n.dateStart = -1
	n.userNext = refPrincipalNone
	n.authContext = false
	n.afterMethod = false
	n.noCloserBefore = [len(refQuoteChars)]int{}
	n.noPathBefore = 0
	n.wordsUntil = 0
}

// scan normalises src[lo:hi]. It is re-entered once for the inside of a
// quoted span that is kept (inQuote), where quotes are no longer special.
func (n *refNormalizer) scan(lo, hi int, inQuote bool) {
	src := n.src
	fieldStart := -1
	i := lo
	for i < hi {
		c := src[i]
		size := 1
		space := false
		if c < utf8.RuneSelf {
			space = refClass[c]&refCSpace != 0
		} else {
			var r rune
			r, size = utf8.DecodeRuneInString(src[i:hi])
			space = r != utf8.RuneError && unicode.IsSpace(r)
		}
		if space {
			if fieldStart >= 0 {
				n.endField(src[fieldStart:i])
				fieldStart = -1
			}
			if len(n.out) > 0 {
				n.pendingSpace = true
			}
			i += size
			continue
		}
		if fieldStart < 0 {
			fieldStart = i
			if n.userNext != refPrincipalNone {
				why := n.userNext
				n.userNext = refPrincipalNone
				if end := n.userValue(i, hi, why); end > i {
					n.placeholder()
					i = end
					continue
				}
			}
		}
		i = n.step(i, lo, hi, inQuote)
	}
	if fieldStart >= 0 {
		n.endField(src[fieldStart:hi])
	}
}

// endField records facts about a whitespace-delimited field that change how
// the next field is read.
func (n *refNormalizer) endField(f string) {
	for len(f) > 0 && strings.IndexByte(":;,.", f[len(f)-1]) >= 0 {
		f = f[:len(f)-1]
	}
	n.userNext = refPrincipalNone
	n.afterMethod = false
	switch {
	case len(f) < 3:
	case (len(f) == 4 || len(f) == 8) && (strings.EqualFold(f, "user") || strings.EqualFold(f, "username")):
		n.userNext = refPrincipalUser
	case len(f) == 3 && n.authContext && strings.EqualFold(f, "for"):
		n.userNext = refPrincipalFor
	case !n.authContext && refAuthWords.has(f):
		n.authContext = true
	case refIsUpperWord(f) && refHttpMethods.has(f):
		n.afterMethod = true
	}
}

// step consumes one unit (placeholder, quoted span, path, key=value, shaped
// word, segment or punctuation byte) at src[i] and returns the next offset.
func (n *refNormalizer) step(i, lo, hi int, inQuote bool) int {
	src := n.src
	c := src[i]
	prev := refPrevClassByte(src, lo, i)
	if c == '<' && strings.HasPrefix(src[i:hi], refPlaceholder) {
		n.placeholder()
		return i + len(refPlaceholder)
	}
	open := prev < utf8.RuneSelf && refClass[prev]&refCOpen != 0
	if open {
		if c < utf8.RuneSelf && refClass[c]&refCQuote != 0 && !inQuote {
			if end, ok := n.quoted(i, hi, refQuoteAuto); ok {
				return end
			}
		}
		if end, ok := n.path(i, hi); ok {
			return end
		}
	}
	if c >= utf8.RuneSelf || refClass[c]&refCAlnum != 0 || c == '_' {
		// A word glued to a placeholder is the tail of a masked word; it
		// must not start a key or a shaped word, or re-normalising the
		// template would read it differently from the original.
		glued := i-lo >= len(refPlaceholder) && src[i-len(refPlaceholder):i] == refPlaceholder
		// Whole-word checks run only where a word starts, so each look-ahead
		// stays inside its own word and the scan remains linear. Non-ASCII
		// characters are letters here, as they are in segments.
		if !glued && (i == lo || prev < utf8.RuneSelf && refClass[prev]&refCWord == 0) {
			if end, ok := n.keyValue(i, hi, inQuote); ok {
				return end
			}
			if end, ok := n.shape(i, hi); ok {
				return end
			}
		}
		if i == lo || prev < utf8.RuneSelf && refClass[prev]&refCCompound == 0 {
			end := refCompoundEnd(src, i, hi)
			if refIsVariableCompound(src[i:end]) {
				n.placeholder()
				return end
			}
			// Its segments are all words (or it is a known name such as
			// utf-8), so segment need not classify them again.
			n.wordsUntil = end
		}
		if c != '_' {
			return n.segment(i, hi)
		}
	}
	if (c == '-' || c == '+') && i+1 < hi && refClass[src[i+1]]&refCDigit != 0 &&
		(i == lo || prev < utf8.RuneSelf && refClass[prev]&refCAlnum == 0) {
		end := refSegmentEnd(src, i+1, hi)
		if refIsVariable(src[i+1 : end]) {
			n.placeholder()
			return end
		}
	}
	n.punct(c)
	return i + 1
}

// prevClassByte returns the byte that stands for the character before i
// when deciding where words start: ' ' at the start of the scanned range
// and for any Unicode space, 0x80 for any other non-ASCII character. Using
// the character rather than the raw byte keeps decisions identical when a
// template (where those spaces became ' ') is normalised again.
func refPrevClassByte(src string, lo, i int) byte {
	if i <= lo {
		return ' '
	}
	b := src[i-1]
	if b < utf8.RuneSelf {
		return b
	}
	r, _ := utf8.DecodeLastRuneInString(src[lo:i])
	if r != utf8.RuneError && unicode.IsSpace(r) {
		return ' '
	}
	return utf8.RuneSelf
}

// spaceAt reports whether a whitespace or control character starts at j.
func refSpaceAt(src string, j, hi int) bool {
	b := src[j]
	if b < utf8.RuneSelf {
		return refClass[b]&refCSpace != 0
	}
	r, _ := utf8.DecodeRuneInString(src[j:hi])
	return r != utf8.RuneError && unicode.IsSpace(r)
}

// segmentEnd returns the end of the run of letters and digits starting at i.
// Non-ASCII runes count as letters so that words in any script stay intact.
func refSegmentEnd(src string, i, hi int) int {
	for i < hi {
		b := src[i]
		if b < utf8.RuneSelf {
			if refClass[b]&refCAlnum == 0 {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:hi])
		if r != utf8.RuneError && unicode.IsSpace(r) {
			return i
		}
		i += size
	}
	return i
}

func (n *refNormalizer) segment(i, hi int) int {
	src := n.src
	j := refSegmentEnd(src, i, hi)
	if j == i {
		// Unreachable (scan consumes spaces before step); kept so that the
		// scanner advances whatever segmentEnd does.
		n.literal(src[i : i+1])
		return i + 1
	}
	seg := src[i:j]
	if i >= n.wordsUntil && refIsVariable(seg) {
		n.placeholder()
		return j
	}
	if j-i <= 12 {
		if n.phEnd == len(n.out) && n.pendingSpace && refUnitWords.has(seg) {
			n.pendingSpace = false
			return j
		}
		if refClass[seg[0]]&refCUpper != 0 && refDateWords.has(seg) {
			n.dateWord(seg)
			return j
		}
	}
	n.literal(seg)
	return j
}

// isVariable decides whether a run of letters and digits is an instance
// value (id, number, counter, generated name) rather than a word.
func refIsVariable(seg string) bool {
	k := 0
	for k < len(seg) && refClass[seg[k]]&refCDigit == 0 {
		k++
	}
	if k == len(seg) {
		return false // most segments are plain words
	}
	var digits, upper, lower, runs, run, maxRun int
	for k := 0; k < len(seg); k++ {
		b := seg[k]
		f := refClass[b]
		if b >= utf8.RuneSelf {
			f = refCLower
		}
		switch {
		case f&refCDigit != 0:
			digits++
			run++
			if run == 1 {
				runs++
			}
			if run > maxRun {
				maxRun = run
			}
			continue
		case f&refCUpper != 0:
			upper++
		default:
			lower++
		}
		run = 0
	}
	if digits == 0 {
		return false
	}
	if digits == len(seg) || refClass[seg[0]]&refCDigit != 0 {
		return true
	}
	if refDigitWords.has(seg) {
		return false
	}
	// API versions such as v1 or V2.
	if (seg[0] == 'v' || seg[0] == 'V') && len(seg) <= 3 && digits == len(seg)-1 {
		return false
	}
	// camelCase code names with one short number inside (Slf4jLogger,
	// Base64Encoder, HttpServer2) are identifiers; random mixed-case ids
	// have more digit runs, and a trailing multi-digit number is a counter
	// (GeneratedMethodAccessor42).
	trailing := refClass[seg[len(seg)-1]]&refCDigit != 0
	if upper > 0 && lower > 0 && runs == 1 && maxRun <= 2 && !(trailing && maxRun > 1) && len(seg) >= 4 {
		return false
	}
	return true
}

// compoundEnd returns the end of a word joined by '_' or '-' (rdd_42_7,
// ip-10-0-0-5, task_0020_m_000003) starting at i. Trailing joiners are not
// part of the word ("44312->10.0.0.1" must keep its arrow).
func refCompoundEnd(src string, i, hi int) int {
	start := i
	for i < hi {
		b := src[i]
		if b < utf8.RuneSelf {
			if refClass[b]&refCCompound == 0 {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(src[i:hi])
		if r != utf8.RuneError && unicode.IsSpace(r) {
			break
		}
		i += size
	}
	for i > start+1 && (src[i-1] == '-' || src[i-1] == '_') {
		i--
	}
	return i
}

// isVariableCompound reports whether a '_'/'-' joined word holds an
// instance value in any part. The whole word is then masked: its fixed
// parts (rdd_, broadcast_, attempt_..._m_) name the kind of id, and keeping
// them would split one event into one template per id kind.
func refIsVariableCompound(w string) bool {
	start := 0
	for k := 0; k <= len(w); k++ {
		if k == len(w) || w[k] == '_' || w[k] == '-' {
			if k > start && refIsVariable(w[start:k]) {
				return !refDigitWords.has(w) // utf-8, x86_64
			}
			start = k + 1
		}
	}
	return false
}

// keyValue handles key=value: the key is kept and the value masked whole,
// since in key=value output the key names the field and the value is data.
func (n *refNormalizer) keyValue(i, hi int, inQuote bool) (int, bool) {
	src := n.src
	j := i
	for j < hi && refClass[src[j]]&refCKey != 0 {
		j++
	}
	if j >= hi || src[j] != '=' || j+1 < hi && src[j+1] == '=' || refClass[src[i]]&refCAlpha == 0 && src[i] != '_' {
		return i, false
	}
	n.literal(src[i:j])
	n.punct('=')
	v := j + 1
	if v >= hi {
		return v, true
	}
	mode := refQuoteMask
	if refMessageKeys.has(src[i:j]) {
		mode = refQuoteKeep
	}
	if refClass[src[v]]&refCQuote != 0 && !inQuote {
		if end, ok := n.quoted(v, hi, mode); ok {
			return end, true
		}
	}
	if mode == refQuoteKeep {
		return v, true
	}
	if strings.HasPrefix(src[v:hi], refPlaceholder) {
		// Already a template: anything glued to the placeholder came from
		// text after the original value, so it is not part of the value.
		n.placeholder()
		return v + len(refPlaceholder), true
	}
	e := v
	for e < hi && (src[e] >= utf8.RuneSelf && !refSpaceAt(src, e, hi) || src[e] < utf8.RuneSelf && refClass[src[e]]&(refCValueStop|refCQuote) == 0) {
		e++
	}
	if strings.Contains(src[v:e], "://") {
		return v, true // a URL names an endpoint; only its ids are masked
	}
	e = refTrimOpeners(src, v, e)
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
func (n *refNormalizer) quoted(i, hi int, mode refQuoteMode) (int, bool) {
	src := n.src
	q := src[i]
	// Where an earlier search for this quote character found no closing
	// quote, a search from a later opening quote will not find one either;
	// resuming there keeps a line of many unmatched quotes linear. (A
	// length cap would not be idempotent: masking changes lengths.)
	k := strings.IndexByte(refQuoteChars, q)
	j := max(i+1, n.noCloserBefore[k])
	// A closing quote ends a word: "don't" has none. A placeholder counts
	// as a word so that re-normalising a template ("`a`<*>", made from
	// "`a`42") pairs the quotes as the first pass did. Backslash escapes are
	// deliberately not honoured: the backslash may be masked away, and the
	// pairing must not change when it is.
	// A signed number or a path right after the quote counts as a word
	// too: it may be masked whole, leaving a placeholder there.
	for ; j < hi; j++ {
		if src[j] == q && !refWordGoesOn(src, j+1, hi) && !refSignedNumberAt(src, j+1, hi) && !refPathLike(src[j+1:min(hi, j+4)]) {
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
		if mode == refQuoteKeep || mode == refQuoteAuto && (isKey || refKeepQuoted(content)) {
			n.scan(i+1, j, true)
		} else {
			n.placeholder()
		}
	}
	n.punct(q)
	return j + 1, true
}

type refQuoteMode uint8

const (
	refQuoteAuto refQuoteMode = iota // decide by the content (keepQuoted)
	refQuoteMask                     // value of key="...": always data
	refQuoteKeep                     // value of msg="...": free text
)

func refKeepQuoted(s string) bool {
	if strings.Contains(s, refPlaceholder) || strings.Contains(s, "://") || refPathLike(s) {
		return true
	}
	for k := 0; k < len(s); k++ {
		if refClass[s[k]]&refCSpace != 0 {
			return true
		}
	}
	if len(s) > 128 {
		return false
	}
	c := s[0]
	if refClass[c]&refCAlpha == 0 && c != '_' && c != '$' {
		return false
	}
	mark := false
	for k := 0; k < len(s); k++ {
		f := refClass[s[k]]
		if s[k] >= utf8.RuneSelf || f&(refCAlnum|refCIdent) == 0 {
			return false
		}
		if f&refCIdentMark != 0 {
			mark = true
		}
	}
	return mark
}

func refPathLike(s string) bool {
	return len(s) > 1 && (s[0] == '/' && s[1] != '/' && !refSpaceAt(s, 1, len(s)) ||
		strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../") || strings.HasPrefix(s, "~/") ||
		len(s) > 2 && refClass[s[0]]&refCAlpha != 0 && s[1] == ':' && (s[2] == '\\' || s[2] == '/'))
}

// path masks a file system path whole: directory names are deployment
// detail (user names, job ids, mount points) whose digits are only
// sometimes present. A source file name at the end is kept as a code
// location. Paths after an HTTP method are routes and are left to the
// per-segment rules, which mask only the ids in them.
func (n *refNormalizer) path(i, hi int) (int, bool) {
	src := n.src
	if n.afterMethod || i < n.noPathBefore || !refPathLike(src[i:min(hi, i+3)]) {
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
		if b == '<' && strings.HasPrefix(src[j:hi], refPlaceholder) {
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
		} else if b < utf8.RuneSelf && refClass[b]&refCPathStop != 0 || b >= utf8.RuneSelf && refSpaceAt(src, j, hi) {
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
	j = refTrimOpeners(src, i+1, j)
	n.placeholder()
	if lastSep >= 0 && refIsSourceFile(src[lastSep+1:j]) {
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
func refWordGoesOn(src string, j, hi int) bool {
	if j >= hi {
		return false
	}
	if src[j] >= utf8.RuneSelf {
		return !refSpaceAt(src, j, hi)
	}
	// '_' too: a word may start with it (_id, __init__) and is then masked
	// or kept together with it.
	return refClass[src[j]]&refCAlnum != 0 || src[j] == '_' || strings.HasPrefix(src[j:hi], refPlaceholder)
}

func refSignedNumberAt(src string, j, hi int) bool {
	return j+1 < hi && (src[j] == '-' || src[j] == '+') && refClass[src[j+1]]&refCDigit != 0
}

// trimOpeners drops characters that open a quote or a path from the end of
// a span about to be masked. Left in the span they would vanish into the
// placeholder while having decided, in this pass, how the next character
// is read; re-normalising the template must decide it the same way.
func refTrimOpeners(src string, lo, e int) int {
	for e > lo && refClass[src[e-1]]&refCOpen != 0 {
		e--
	}
	return e
}

func refIsSourceFile(base string) bool {
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return false
	}
	for k := 0; k < dot; k++ {
		b := base[k]
		if b >= utf8.RuneSelf || refClass[b]&(refCAlnum) == 0 && b != '_' && b != '-' {
			return false
		}
	}
	return refSourceExts.has(base[dot+1:])
}

// shape recognises whole words whose parts look like words but are
// instance data: UUIDs, colon-separated hex (MAC, IPv6, clock times),
// e-mail addresses and host names that contain digits.
func (n *refNormalizer) shape(i, hi int) (int, bool) {
	src := n.src
	if end := refUuidEnd(src, i, hi); end > 0 {
		n.placeholder()
		return end, true
	}
	hexEnd, hexOK := refHexColonEnd(src, i, hi)
	hostEnd, hostOK, emailEnd := refHostOrEmailEnd(src, i, hi)
	switch {
	case emailEnd > 0:
		n.placeholder()
		return emailEnd, true
	case hexOK:
		n.placeholder()
		return hexEnd, true
	case hostOK:
		n.placeholder()
		return hostEnd, true
	}
	return i, false
}

func refUuidEnd(src string, i, hi int) int {
	const l = 36
	if hi-i < l {
		return 0
	}
	for k := 0; k < l; k++ {
		b := src[i+k]
		if k == 8 || k == 13 || k == 18 || k == 23 {
			if b != '-' {
				return 0
			}
		} else if refClass[b]&refCHex == 0 {
			return 0
		}
	}
	if refWordGoesOn(src, i+l, hi) {
		return 0
	}
	return i + l
}

// hexColonEnd matches groups of at most four hex digits joined by at least
// two colons with at least one decimal digit: MAC addresses, IPv6 and
// hh:mm:ss times. The run crosses ':' and so may be re-scanned from each
// group; the length cap (longer than any IPv6 text form) keeps that linear.
func refHexColonEnd(src string, i, hi int) (int, bool) {
	colons, group, digits := 0, 0, 0
	if hi > i+refMaxHexColon {
		hi = i + refMaxHexColon
	}
	j := i
	for ; j < hi; j++ {
		b := src[j]
		if b == ':' {
			colons++
			group = 0
			continue
		}
		f := refClass[b]
		if f&refCHex == 0 {
			break
		}
		if f&refCDigit != 0 {
			digits++
		}
		group++
		if group > 4 {
			return j, false
		}
	}
	if refWordGoesOn(src, j, hi) {
		return j, false
	}
	for j > i && src[j-1] == ':' {
		j-- // see trimOpeners
		colons--
	}
	return j, colons >= 2 && digits > 0
}

// hostOrEmailEnd scans a dotted name. A host name counts as instance data
// when any label has a digit (ip-10-0-0-5.ec2.internal, web-42.example.com);
// service names without digits (api.example.com) are kept.
func refHostOrEmailEnd(src string, i, hi int) (hostEnd int, hostOK bool, emailEnd int) {
	j, dots, hostChars := i, 0, true
	for j < hi && refClass[src[j]]&refCEmail != 0 {
		switch src[j] {
		case '.':
			dots++
		case '_', '%', '+':
			hostChars = false
		}
		j++
	}
	if j < hi && src[j] == '@' {
		if j > i {
			e := j + 1
			for e < hi && refClass[src[e]]&refCHost != 0 {
				e++
			}
			if refOkDomain(src[j+1:e], false) && !refWordGoesOn(src, e, hi) {
				emailEnd = e
			}
		}
		return j, false, emailEnd
	}
	if !hostChars || dots < 2 || j < hi && src[j] == '(' || refWordGoesOn(src, j, hi) {
		return j, false, 0
	}
	for j > i && src[j-1] == '.' {
		j--
	}
	return j, refOkDomain(src[i:j], true), 0
}

// okDomain checks the domain of an e-mail address (host=false) or a host
// name (host=true). Host names need two dots, a lowercase alphabetic last
// label of TLD length, a first label that is not a code package root
// (org.apache..., com.example...) and a digit somewhere.
func refOkDomain(s string, host bool) bool {
	dots := strings.Count(s, ".")
	if dots < 1 || host && dots < 2 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if len(last) < 2 || len(last) > 10 && host {
		return false
	}
	for k := 0; k < len(last); k++ {
		if refClass[last[k]]&refCLower == 0 && (host || refClass[last[k]]&refCUpper == 0) {
			return false
		}
	}
	if !host {
		return !strings.Contains(s, "..")
	}
	if strings.Contains(s, "..") || s[0] == '.' || s[0] == '-' {
		return false
	}
	first := s[:strings.IndexByte(s, '.')]
	if refCodeRoots.has(first) {
		return false
	}
	for k := 0; k < len(s); k++ {
		if refClass[s[k]]&refCDigit != 0 {
			return true
		}
	}
	return false
}

// userValue returns the end of a user name following the word "user" (or
// "for" in an authentication message), or i if the field does not look
// like one.
func (n *refNormalizer) userValue(i, hi int, why refPrincipal) int {
	src := n.src
	j := i
	for j < hi && refClass[src[j]]&refCUser != 0 {
		j++
	}
	if j == i || refClass[src[i]]&refCAlnum == 0 {
		return i
	}
	if j < hi && !refSpaceAt(src, j, hi) && (src[j] >= utf8.RuneSelf || !strings.ContainsRune(",;:)]}", rune(src[j]))) {
		return i
	}
	if refUserStopWords.has(src[i:j]) || why == refPrincipalFor && refForStopWords.has(src[i:j]) {
		return i
	}
	return j
}

// dateWord writes a month or weekday name. Next to a date's numbers it
// becomes part of the date placeholder; elsewhere ("May I", "Sun Java") it
// stays a word.
func (n *refNormalizer) dateWord(w string) {
	if n.phEnd >= 0 && n.sepOnly {
		n.placeholder()
		return
	}
	n.flushSpace()
	if n.dateStart < 0 {
		n.dateStart = len(n.out)
		n.datePhEnd = n.phEnd
		n.dateSepOnly = n.sepOnly
	}
	n.out = append(n.out, w...)
	n.sepOnly = false
}

func (n *refNormalizer) placeholder() {
	if n.dateStart >= 0 {
		n.out = n.out[:n.dateStart]
		n.phEnd = n.datePhEnd
		n.sepOnly = n.dateSepOnly
		n.dateStart = -1
		n.pendingSpace = false
	}
	if n.phEnd >= 0 && n.sepOnly {
		n.out = n.out[:n.phEnd] // merge with the previous placeholder
		n.pendingSpace = false
		return
	}
	n.flushSpace()
	n.out = append(n.out, refPlaceholder...)
	n.phEnd = len(n.out)
	n.sepOnly = true
}

func (n *refNormalizer) flushSpace() {
	if n.pendingSpace {
		n.out = append(n.out, ' ')
		n.pendingSpace = false
	}
}

func (n *refNormalizer) punct(c byte) {
	if c != ',' {
		n.dateStart = -1
	}
	n.flushSpace()
	if c >= utf8.RuneSelf {
		n.out = append(n.out, "\uFFFD"...)
		n.sepOnly = false
		return
	}
	n.out = append(n.out, c)
	if refClass[c]&refCCollapse == 0 {
		n.sepOnly = false
	}
}

// literal copies text that survives normalisation, replacing invalid UTF-8
// so that templates are always valid strings.
func (n *refNormalizer) literal(s string) {
	n.dateStart = -1
	n.flushSpace()
	n.sepOnly = false
	for len(s) > 0 {
		k := 0
		for k < len(s) && s[k] < utf8.RuneSelf {
			k++
		}
		n.out = append(n.out, s[:k]...)
		s = s[k:]
		if len(s) == 0 {
			return
		}
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 {
			n.out = append(n.out, "\uFFFD"...)
		} else {
			n.out = append(n.out, s[:size]...)
		}
		s = s[size:]
	}
}

func refIsUpperWord(s string) bool {
	for k := 0; k < len(s); k++ {
		if refClass[s[k]]&refCUpper == 0 {
			return false
		}
	}
	return true
}

// Byte classes for the ASCII range. One table lookup per byte keeps the
// scanner branch-light. Bytes >= 0x80 have no class bits; the scanner
// treats them as letters unless they decode to a Unicode space (invalid
// UTF-8 included, which is written out as U+FFFD).
const (
	refCDigit uint32 = 1 << iota
	refCUpper
	refCLower
	refCSpace     // whitespace and control bytes: both become field separators
	refCCollapse  // separators that may sit between two placeholders that merge into one
	refCKey       // may appear in the key of key=value
	refCHost      // may appear in a host name
	refCEmail     // may appear in the local part of an e-mail address
	refCHex       // hexadecimal digit
	refCOpen      // may precede an opening quote or the start of a path
	refCValueStop // ends an unquoted value in key=value
	refCPathStop  // ends a file system path
	refCUser      // may appear in a user name
	refCQuote     // opens a quoted value
	refCIdent     // may appear in a quoted code identifier
	refCIdentMark // shows that a quoted word is a code identifier rather than a plain value
	refCCompound  // joins the parts of an identifier: letters, digits, '_' and '-'
	refCWord      // continues a word for the whole-word checks (key=, e-mail, host, UUID)
)

const refCAlpha = refCUpper | refCLower
const refCAlnum = refCAlpha | refCDigit

var refClass [256]uint32

func init() {
	for c := 0; c < 256; c++ {
		var f uint32
		switch {
		case c >= '0' && c <= '9':
			f |= refCDigit | refCKey | refCHost | refCEmail | refCHex | refCUser | refCIdent
		case c >= 'A' && c <= 'Z':
			f |= refCUpper | refCKey | refCHost | refCEmail | refCUser | refCIdent | refCIdentMark
			if c <= 'F' {
				f |= refCHex
			}
		case c >= 'a' && c <= 'z':
			f |= refCLower | refCKey | refCHost | refCEmail | refCUser | refCIdent
			if c <= 'f' {
				f |= refCHex
			}
		case c < 0x20 || c == ' ' || c == 0x7f:
			f |= refCSpace | refCCollapse | refCValueStop | refCPathStop | refCOpen
		}
		refClass[c] = f
	}
	add := func(chars string, f uint32) {
		for i := 0; i < len(chars); i++ {
			refClass[chars[i]] |= f
		}
	}
	add(".,:;-_/+#=@|\\~", refCCollapse)
	add("_.-$", refCKey)
	add(".-", refCHost)
	add("._%+-", refCEmail)
	add("._-@", refCUser)
	add("([{=:,<'\"`", refCOpen)
	add(",;&)]}>|", refCValueStop)
	add("\"'`<>|)]},;?", refCPathStop)
	add("'\"`", refCQuote)
	add("_$.:()[]<>-", refCIdent)
	add("_$.:(", refCIdentMark)
	for c := 0; c < 256; c++ {
		if refClass[c]&refCAlnum != 0 {
			refClass[c] |= refCCompound
		}
	}
	add("_-", refCCompound)
	for c := 0; c < 256; c++ {
		if refClass[c]&(refCKey|refCEmail|refCHost|refCCompound) != 0 {
			refClass[c] |= refCWord
		}
	}
	add("@", refCWord)
}

// set is a small case-insensitive set of ASCII words. Most lookups are for
// words that are not in it, so the length and first-letter filters answer
// them without hashing.
type refSet struct {
	words map[string]struct{}
	lens  uint64    // bit n is set if a word has length n (< 64)
	first [256]bool // lowercased first bytes of the words
}

func refWordSet(words ...string) *refSet {
	s := &refSet{words: make(map[string]struct{}, len(words))}
	for _, w := range words {
		s.words[w] = struct{}{}
		if len(w) < 64 {
			s.lens |= 1 << len(w)
		}
		s.first[w[0]] = true
	}
	return s
}

func (s *refSet) has(w string) bool {
	if len(w) == 0 || len(w) >= 24 || s.lens&(1<<len(w)) == 0 || !s.first[refLower(w[0])] {
		return false
	}
	// Lowercase into a stack buffer: m[string(b)] does not allocate.
	var buf [24]byte
	for i := 0; i < len(w); i++ {
		buf[i] = refLower(w[i])
	}
	_, ok := s.words[string(buf[:len(w)])]
	return ok
}

func refLower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Technical names that contain digits but name a thing rather than an
// instance: masking them would erase the difference between, say, an x509
// error and a sha256 one.
var refDigitWords = refWordSet(
	"int8", "int16", "int32", "int64", "int128", "uint8", "uint32", "uint32", "uint64", "uint128",
	"float32", "float64", "complex64", "complex128", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64",
	"f32", "f64", "utf8", "utf16", "utf32", "ucs2", "latin1", "cp1252", "base32", "base64", "base58",
	"md4", "md5", "sha1", "sha2", "sha3", "sha224", "sha256", "sha384", "sha512", "crc32", "crc64", "x509",
	"pkcs1", "pkcs7", "pkcs8", "pkcs12", "ed25519", "x25519", "p256", "p384", "p521", "secp256k1", "aes128",
	"aes256", "chacha20", "poly1305", "rc4", "des3", "ipv4", "ipv6", "http1", "http2", "http3", "h2", "h2c",
	"h3", "oauth1", "oauth2", "s3", "ec2", "gcp2", "k8s", "k3s", "i18n", "l10n", "a11y", "log4j", "log4j2",
	"slf4j", "x86", "x64", "arm64", "amd64", "aarch64", "i386", "i686", "win32", "win64", "e2e", "p2p",
	"mp3", "mp4", "h264", "h265", "3des", "2fa", "mfa2", "tls1", "tls12", "tls13", "ssl3", "sslv3",
	"tlsv1", "python2", "python3", "py2", "py3", "es5", "es6", "es2015", "node16", "node18", "node20",
	"jdk8", "jdk11", "jdk17", "jdk21", "java8", "java11", "java17", "java21", "gzip2", "bzip2", "lz4",
	"zstd2", "go1", "v8", "utf-8", "utf-16", "utf-32", "iso-8859-1", "iso-8859-15", "windows-1252",
	"sha-1", "sha-2", "sha-3", "sha-256", "sha-384", "sha-512", "aes-128", "aes-256", "aes-128-gcm",
	"aes-256-gcm", "chacha20-poly1305", "x86_64", "x86-64", "p-256", "p-384", "p-521", "http-2",
	"ipv4-only", "ipv6-only", "e2e-test", "s3-bucket",
)

// Month and weekday names only vary together with the numbers of a date, so
// they are masked when they sit next to a masked number (see dateWord).
var refDateWords = refWordSet(
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"january", "february", "march", "april", "june", "july", "august", "september", "october",
	"november", "december",
	"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

// Units written as a separate word after a number ("330.0 B", "15 ms").
// Absorbing them into the number's placeholder keeps "12 KB" and "1.2 MB"
// (or "1 second" and "2 seconds") in the same template.
var refUnitWords = refWordSet(
	"b", "kb", "mb", "gb", "tb", "pb", "eb", "kib", "mib", "gib", "tib", "pib", "byte", "bytes",
	"ns", "us", "µs", "ms", "s", "sec", "secs", "msec", "msecs", "millis", "min", "mins", "hr", "hrs",
	"nanosecond", "nanoseconds", "microsecond", "microseconds", "millisecond", "milliseconds",
	"second", "seconds", "minute", "minutes", "hour", "hours", "day", "days",
)

// Function words that follow "user" in fixed text ("user not found",
// "user is locked"), which must not be mistaken for a user name.
var refUserStopWords = refWordSet(
	"a", "an", "the", "is", "was", "are", "were", "be", "been", "not", "no", "has", "had", "have",
	"does", "did", "do", "with", "without", "from", "to", "for", "in", "on", "at", "by", "of", "and",
	"or", "as", "if", "unknown", "name", "id", "account", "session", "cannot", "can", "could",
	"should", "must", "may", "will", "already", "exists", "exist", "info", "data", "request",
	"requests", "agent", "input", "mode", "space", "level", "error", "errors",
)

// After "for" in an authentication message these words start a longer
// phrase ("for invalid user X", "for this account") rather than being the
// account name itself.
var refForStopWords = refWordSet(
	"invalid", "illegal", "user", "users", "username", "this", "that", "all", "any", "each",
	"every", "some", "more", "too", "many", "new", "existing", "current", "remote", "local",
	"none", "service", "host", "client", "server", "domain", "realm", "group", "role", "key",
	"token", "method", "methods", "retry", "attempt", "attempts", "connection", "publickey",
	"password", "login",
)

// Words that make a message about authentication. In such a message the
// word after "for" is the account ("Failed password for root from ...",
// "Too many authentication failures for admin").
var refAuthWords = refWordSet(
	"password", "passwords", "passwd", "publickey", "authentication", "authenticate",
	"authenticated", "auth", "login", "logon", "credentials", "credential", "sudo", "kerberos",
	"keyboard-interactive", "hostbased", "gssapi-with-mic",
)

// Keys whose value is the human-readable part of a logfmt line; their value
// is normalised like free text instead of being masked whole.
var refMessageKeys = refWordSet(
	"msg", "message", "err", "error", "errmsg", "error_message", "exception", "exc", "reason",
	"cause", "level", "lvl", "severity", "logger", "caller", "component", "event", "description",
	"detail", "details", "summary", "status_message", "type", "kind", "op", "operation",
)

// First labels of Java/.NET style dotted names, which look like host names
// but name code and must be kept.
var refCodeRoots = refWordSet(
	"org", "com", "net", "io", "java", "javax", "jdk", "sun", "android", "androidx", "kotlin",
	"scala", "akka", "dev", "me", "system", "microsoft", "google", "apache",
)

// Extensions of source files: in a path like /src/app/handler.go the
// directory is deployment detail but the file name is a code location.
var refSourceExts = refWordSet(
	"go", "java", "kt", "kts", "scala", "groovy", "py", "pyx", "rb", "js", "mjs", "cjs", "jsx", "ts",
	"tsx", "c", "cc", "cpp", "cxx", "h", "hh", "hpp", "rs", "cs", "fs", "vb", "php", "swift", "m",
	"mm", "ex", "exs", "erl", "hrl", "clj", "cljs", "lua", "pl", "pm", "sh", "dart", "zig", "nim",
	"jl", "r", "hs", "ml", "vue", "svelte",
)

var refHttpMethods = refWordSet("get", "post", "put", "delete", "patch", "head", "options", "connect", "trace")

// FNV-1a 64 parameters. The hash is persisted by callers (it keys templates
// in storage and is shown to users), so it must not depend on the Go version
// or on process-level seeding the way hash/maphash does; FNV-1a is tiny,
// fully specified and fast enough for templates of a few hundred bytes.
const (
	refFnvOffset64 = 14695981039346656037
	refFnvPrime64  = 1099511628211
)

// HashTemplate returns the stable 64-bit hash of a template (FNV-1a 64 over
// its bytes). Normalize(x).Hash == HashTemplate(Normalize(x).Template).
func refHashTemplate(template string) uint64 {
	h := uint64(refFnvOffset64)
	for i := 0; i < len(template); i++ {
		h ^= uint64(template[i])
		h *= refFnvPrime64
	}
	return h
}
