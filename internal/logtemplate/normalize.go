package logtemplate

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Placeholder replaces every masked span of a template.
const Placeholder = "<*>"

// Buffers that grew beyond this (huge lines) are not kept in the pool, so one
// pathological line does not pin memory for the life of the process.
const maxPooledBuf = 64 << 10

// Longest run hexColonEnd looks at; longer than any MAC or IPv6 text form.
const maxHexColon = 48

// Result of normalising one log body.
type Result struct {
	Template string // masked text, e.g. "connection to <*> timed out after <*>"
	Hash     uint64 // FNV-1a 64 of Template; stable across processes and Go versions
}

// Normalize turns a log body into its template and the template's hash.
// It never fails: any byte sequence yields a valid UTF-8 template.
func Normalize(body string) Result {
	n := pool.Get().(*normalizer)
	n.reset(body)
	n.scan(0, len(body), false)
	t := string(n.out)
	n.src = ""
	if cap(n.out) <= maxPooledBuf {
		pool.Put(n)
	}
	return Result{Template: t, Hash: HashTemplate(t)}
}

var pool = sync.Pool{New: func() any { return &normalizer{out: make([]byte, 0, 256)} }}

type normalizer struct {
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

	userNext    principal // the next field may be a user name
	authContext bool      // an authentication word was seen, so "for X" names an account
	afterMethod bool      // the previous field was an HTTP method, so a path is a URL route

	// Look-ahead memos that keep adversarial lines linear (see quoted, path).
	noCloserBefore [len(quoteChars)]int
	noPathBefore   int

	wordsUntil int // src offset up to which segments are known not to be variable
}

const quoteChars = "'\"`"

// principal says why the next field may be a user name.
type principal uint8

const (
	principalNone principal = iota
	principalUser           // after "user" / "username"
	principalFor            // after "for" in a line about authentication
)

func (n *normalizer) reset(src string) {
	n.src = src
	if cap(n.out) < len(src)+8 && len(src) <= maxPooledBuf {
		n.out = make([]byte, 0, len(src)+8)
	}
	n.out = n.out[:0]
	n.pendingSpace = false
	n.phEnd = -1
	n.sepOnly = false
	n.dateStart = -1
	n.userNext = principalNone
	n.authContext = false
	n.afterMethod = false
	n.noCloserBefore = [len(quoteChars)]int{}
	n.noPathBefore = 0
	n.wordsUntil = 0
}

// scan normalises src[lo:hi]. It is re-entered once for the inside of a
// quoted span that is kept (inQuote), where quotes are no longer special.
func (n *normalizer) scan(lo, hi int, inQuote bool) {
	src := n.src
	fieldStart := -1
	i := lo
	for i < hi {
		c := src[i]
		size := 1
		space := false
		if c < utf8.RuneSelf {
			space = class[c]&cSpace != 0
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
			if n.userNext != principalNone {
				why := n.userNext
				n.userNext = principalNone
				if end := n.userValue(i, hi, why); end > i {
					n.placeholder()
					i = end
					continue
				}
			}
		}
		// Fast paths for the commonest units, plain words and punctuation
		// that no rule reads; step decides everything else.
		if c < utf8.RuneSelf {
			prev := byte(' ')
			if i > lo {
				prev = src[i-1]
			}
			f := class[c]
			if f&cAlnum != 0 && prev < utf8.RuneSelf {
				if end, ok := n.plainWord(i, lo, hi, prev, inQuote); ok {
					i = end
					continue
				}
			} else if f&cPunct != 0 || f&cPathStart != 0 && prev < utf8.RuneSelf && class[prev]&cOpen == 0 {
				n.punct(c)
				i++
				continue
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
func (n *normalizer) endField(f string) {
	for len(f) > 0 && isFieldTrail(f[len(f)-1]) {
		f = f[:len(f)-1]
	}
	n.userNext = principalNone
	n.afterMethod = false
	switch {
	case len(f) < 3:
	case isWord(f, "user") || isWord(f, "username"):
		n.userNext = principalUser
	case n.authContext && isWord(f, "for"):
		n.userNext = principalFor
	case !n.authContext && authWords.has(f):
		n.authContext = true
	case isUpperWord(f) && httpMethods.has(f):
		n.afterMethod = true
	}
}

// isFieldTrail reports whether c is punctuation that ends a field without
// belonging to its last word.
func isFieldTrail(c byte) bool {
	return c == ':' || c == ';' || c == ',' || c == '.'
}

// step consumes one unit (placeholder, quoted span, path, key=value, shaped
// word, segment or punctuation byte) at src[i] and returns the next offset.
// It is the general path: scan handles plain words (plainWord) and plain
// punctuation itself.
func (n *normalizer) step(i, lo, hi int, inQuote bool) int {
	src := n.src
	c := src[i]
	prev := prevClassByte(src, lo, i)
	if c == '<' && strings.HasPrefix(src[i:hi], Placeholder) {
		n.placeholder()
		return i + len(Placeholder)
	}
	open := prev < utf8.RuneSelf && class[prev]&cOpen != 0
	if open {
		if c < utf8.RuneSelf && class[c]&cQuote != 0 && !inQuote {
			if end, ok := n.quoted(i, hi, quoteAuto); ok {
				return end
			}
		}
		if end, ok := n.path(i, hi); ok {
			return end
		}
	}
	if c >= utf8.RuneSelf || class[c]&cAlnum != 0 || c == '_' {
		// A word glued to a placeholder is the tail of a masked word; it
		// must not start a key or a shaped word, or re-normalising the
		// template would read it differently from the original.
		glued := followsPlaceholder(src, lo, i)
		// Whole-word checks run only where a word starts, so each look-ahead
		// stays inside its own word and the scan remains linear. Non-ASCII
		// characters are letters here, as they are in segments.
		if !glued && (i == lo || prev < utf8.RuneSelf && class[prev]&cWord == 0) {
			if end, ok := n.keyValue(i, hi, inQuote); ok {
				return end
			}
			if end, ok := n.shape(i, hi); ok {
				return end
			}
		}
		if i == lo || prev < utf8.RuneSelf && class[prev]&cCompound == 0 {
			end := compoundEnd(src, i, hi)
			if isVariableCompound(src[i:end]) {
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
	if (c == '-' || c == '+') && i+1 < hi && class[src[i+1]]&cDigit != 0 &&
		(i == lo || prev < utf8.RuneSelf && class[prev]&cAlnum == 0) {
		end := segmentEnd(src, i+1, hi)
		if isVariable(src[i+1 : end]) {
			n.placeholder()
			return end
		}
	}
	n.punct(c)
	return i + 1
}

// plainWord is the fast path for the commonest unit, an ASCII word or
// number that starts a compound: a field, or a part of a dotted name, of a
// call or of a key=value pair. It finds the word's end once and runs only
// the whole-word rules that the byte after it can lead into, where step
// would run them all, each scanning the word again. prev is the ASCII byte
// before i (' ' at lo).
func (n *normalizer) plainWord(i, lo, hi int, prev byte, inQuote bool) (int, bool) {
	src := n.src
	if i > lo && class[prev]&cCompound != 0 {
		return i, false // inside a compound: only its first segment starts here
	}
	j, digits := i, uint32(0)
	for j < hi {
		f := class[src[j]]
		if f&cAlnum == 0 {
			break
		}
		digits |= f & cDigit
		j++
	}
	if j < hi {
		b := src[j]
		if b >= utf8.RuneSelf {
			// A non-ASCII letter continues the segment, a Unicode space
			// needs decoding.
			return i, false
		}
		if class[b]&cCompound != 0 {
			return n.compound(i, lo, hi, prev, inQuote) // '_' or '-'
		}
		if class[b]&cWordNext != 0 && (i == lo || class[prev]&cWord == 0) && !followsPlaceholder(src, lo, i) {
			if end, ok := n.wholeWord(i, j, hi, prev, inQuote); ok {
				return end, true
			}
		}
	}
	// A compound of one segment: isVariableCompound in short.
	seg := src[i:j]
	if digits != 0 && isVariable(seg) && !digitWords.has(seg) {
		n.placeholder()
		return j, true
	}
	n.wordsUntil = j
	if n.mayFold(seg) && n.foldWord(seg) {
		return j, true
	}
	n.dateStart = -1
	n.flushSpace()
	n.sepOnly = false
	n.out = append(n.out, seg...)
	return j, true
}

// compound is plainWord for a word whose first segment is followed by '_'
// or '-' (rdd_42_7, ip-10-0-0-5, Back-off, utf-8). It does what step would
// do at i and then, for a compound that is kept, what step would do for
// each of its segments and joiners.
func (n *normalizer) compound(i, lo, hi int, prev byte, inQuote bool) (int, bool) {
	src := n.src
	if (i == lo || class[prev]&cWord == 0) && !followsPlaceholder(src, lo, i) {
		if end, ok := n.keyValue(i, hi, inQuote); ok {
			return end, true
		}
		if end, ok := n.shape(i, hi); ok {
			return end, true
		}
	}
	end := compoundEnd(src, i, hi)
	w := src[i:end]
	if isVariableCompound(w) {
		n.placeholder()
		return end, true
	}
	for k := 1; k < len(w); k++ {
		if w[k] == '-' && (w[k-1] == '_' || w[k-1] == '-') {
			// A '-' that follows a joiner may sign a number (step);
			// nothing has been written yet, so step can take over.
			return i, false
		}
	}
	n.wordsUntil = end
	for k := i; ; {
		e := k
		for e < end && src[e] != '_' && src[e] != '-' {
			e++
		}
		if seg := src[k:e]; len(seg) > 0 && !n.foldWord(seg) {
			n.literal(seg)
		}
		if e == end {
			return end, true
		}
		n.punct(src[e])
		k = e + 1
	}
}

// followsPlaceholder reports whether the word at i is glued to a
// placeholder before it.
func followsPlaceholder(src string, lo, i int) bool {
	return i-lo >= len(Placeholder) && src[i-len(Placeholder):i] == Placeholder
}

// wholeWord runs, in step's order, the rules for a word starting at i that
// can match given src[j] (cWordNext), the byte after its first segment:
// a drive letter path needs ':' after one letter; key=value needs '=' at
// the end of the key, which may go on through '.' or '$'; colon-joined hex
// needs ':'; a host name needs '.', an e-mail address '@', possibly after
// '.', '%' or '+' (a UUID needs '-', which plainWord leaves to step). Of
// the shapes, only one can then match.
func (n *normalizer) wholeWord(i, j, hi int, prev byte, inQuote bool) (int, bool) {
	switch n.src[j] {
	case ':':
		if j == i+1 && class[prev]&cOpen != 0 {
			if end, ok := n.path(i, hi); ok {
				return end, true
			}
		}
		return n.hexColon(i, hi)
	case '=', '$':
		return n.keyValue(i, hi, inQuote)
	case '.':
		if end, ok := n.keyValue(i, hi, inQuote); ok {
			return end, true
		}
		return n.hostOrEmail(i, hi)
	case '@', '%', '+':
		return n.hostOrEmail(i, hi)
	}
	return i, false
}

// prevClassByte returns the byte that stands for the character before i
// when deciding where words start: ' ' at the start of the scanned range
// and for any Unicode space, 0x80 for any other non-ASCII character. Using
// the character rather than the raw byte keeps decisions identical when a
// template (where those spaces became ' ') is normalised again.
func prevClassByte(src string, lo, i int) byte {
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
func spaceAt(src string, j, hi int) bool {
	b := src[j]
	if b < utf8.RuneSelf {
		return class[b]&cSpace != 0
	}
	r, _ := utf8.DecodeRuneInString(src[j:hi])
	return r != utf8.RuneError && unicode.IsSpace(r)
}

// segmentEnd returns the end of the run of letters and digits starting at i.
// Non-ASCII runes count as letters so that words in any script stay intact.
func segmentEnd(src string, i, hi int) int {
	for i < hi {
		b := src[i]
		if b < utf8.RuneSelf {
			if class[b]&cAlnum == 0 {
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

func (n *normalizer) segment(i, hi int) int {
	src := n.src
	j := segmentEnd(src, i, hi)
	if j == i {
		// Unreachable (scan consumes spaces before step); kept so that the
		// scanner advances whatever segmentEnd does.
		n.literal(src[i : i+1])
		return i + 1
	}
	seg := src[i:j]
	if i >= n.wordsUntil && isVariable(seg) {
		n.placeholder()
		return j
	}
	if !n.foldWord(seg) {
		n.literal(seg)
	}
	return j
}

// mayFold is the inlined part of foldWord: whether seg could be a unit or
// a date word there, before looking it up.
func (n *normalizer) mayFold(seg string) bool {
	return len(seg) <= 12 && (n.phEnd == len(n.out) && n.pendingSpace || class[seg[0]]&cUpper != 0)
}

// foldWord handles a segment that is not variable but may vary together
// with a neighbouring number: a unit after a number joins the number's
// placeholder, and a month or weekday name may join a date's. It reports
// false if seg is to be copied as it is.
func (n *normalizer) foldWord(seg string) bool {
	if !n.mayFold(seg) {
		return false
	}
	if n.phEnd == len(n.out) && n.pendingSpace && unitWords.has(seg) {
		n.pendingSpace = false
		return true
	}
	if class[seg[0]]&cUpper != 0 && dateWords.has(seg) {
		n.dateWord(seg)
		return true
	}
	return false
}

// isVariable decides whether a run of letters and digits is an instance
// value (id, number, counter, generated name) rather than a word.
func isVariable(seg string) bool {
	k := 0
	for k < len(seg) && class[seg[k]]&cDigit == 0 {
		k++
	}
	if k == len(seg) {
		return false // most segments are plain words
	}
	if k == 0 {
		return true // a number, or an id that starts like one
	}
	var digits, upper, lower, runs, run, maxRun int
	for k := 0; k < len(seg); k++ {
		b := seg[k]
		f := class[b]
		if b >= utf8.RuneSelf {
			f = cLower
		}
		switch {
		case f&cDigit != 0:
			digits++
			run++
			if run == 1 {
				runs++
			}
			if run > maxRun {
				maxRun = run
			}
			continue
		case f&cUpper != 0:
			upper++
		default:
			lower++
		}
		run = 0
	}
	if digits == 0 {
		return false
	}
	if digits == len(seg) || class[seg[0]]&cDigit != 0 {
		return true
	}
	if digitWords.has(seg) {
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
	trailing := class[seg[len(seg)-1]]&cDigit != 0
	if upper > 0 && lower > 0 && runs == 1 && maxRun <= 2 && !(trailing && maxRun > 1) && len(seg) >= 4 {
		return false
	}
	return true
}

// compoundEnd returns the end of a word joined by '_' or '-' (rdd_42_7,
// ip-10-0-0-5, task_0020_m_000003) starting at i. Trailing joiners are not
// part of the word ("44312->10.0.0.1" must keep its arrow).
func compoundEnd(src string, i, hi int) int {
	start := i
	for i < hi {
		b := src[i]
		if b < utf8.RuneSelf {
			if class[b]&cCompound == 0 {
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
func isVariableCompound(w string) bool {
	start := 0
	for k := 0; k <= len(w); k++ {
		if k == len(w) || w[k] == '_' || w[k] == '-' {
			if k > start && isVariable(w[start:k]) {
				return !digitWords.has(w) // utf-8, x86_64
			}
			start = k + 1
		}
	}
	return false
}

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

// shape recognises whole words whose parts look like words but are
// instance data: UUIDs, colon-separated hex (MAC, IPv6, clock times),
// e-mail addresses and host names that contain digits.
func (n *normalizer) shape(i, hi int) (int, bool) {
	if end := uuidEnd(n.src, i, hi); end > 0 {
		n.placeholder()
		return end, true
	}
	// Hex groups end at their first ':', where neither a host name (which
	// needs two dots) nor an e-mail address (which needs '@') can go on, so
	// at most one of the two matches and the order of the tests is free.
	if end, ok := n.hexColon(i, hi); ok {
		return end, true
	}
	return n.hostOrEmail(i, hi)
}

// hexColon masks colon-joined hex groups at i (see hexColonEnd).
func (n *normalizer) hexColon(i, hi int) (int, bool) {
	if end, ok := hexColonEnd(n.src, i, hi); ok {
		n.placeholder()
		return end, true
	}
	return i, false
}

// hostOrEmail masks an e-mail address or a host name with a digit at i
// (see hostOrEmailEnd).
func (n *normalizer) hostOrEmail(i, hi int) (int, bool) {
	hostEnd, hostOK, emailEnd := hostOrEmailEnd(n.src, i, hi)
	switch {
	case emailEnd > 0:
		n.placeholder()
		return emailEnd, true
	case hostOK:
		n.placeholder()
		return hostEnd, true
	}
	return i, false
}

func uuidEnd(src string, i, hi int) int {
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
		} else if class[b]&cHex == 0 {
			return 0
		}
	}
	if wordGoesOn(src, i+l, hi) {
		return 0
	}
	return i + l
}

// hexColonEnd matches groups of at most four hex digits joined by at least
// two colons with at least one decimal digit: MAC addresses, IPv6 and
// hh:mm:ss times. The run crosses ':' and so may be re-scanned from each
// group; the length cap (longer than any IPv6 text form) keeps that linear.
func hexColonEnd(src string, i, hi int) (int, bool) {
	colons, group, digits := 0, 0, 0
	if hi > i+maxHexColon {
		hi = i + maxHexColon
	}
	j := i
	for ; j < hi; j++ {
		b := src[j]
		if b == ':' {
			colons++
			group = 0
			continue
		}
		f := class[b]
		if f&cHex == 0 {
			break
		}
		if f&cDigit != 0 {
			digits++
		}
		group++
		if group > 4 {
			return j, false
		}
	}
	if wordGoesOn(src, j, hi) {
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
func hostOrEmailEnd(src string, i, hi int) (hostEnd int, hostOK bool, emailEnd int) {
	j, dots, hostChars := i, 0, true
	for ; j < hi; j++ {
		f := class[src[j]]
		if f&cEmail == 0 {
			break
		}
		if f&cAlnum == 0 {
			switch src[j] {
			case '.':
				dots++
			case '_', '%', '+':
				hostChars = false
			}
		}
	}
	if j < hi && src[j] == '@' {
		if j > i {
			e := j + 1
			for e < hi && class[src[e]]&cHost != 0 {
				e++
			}
			if okDomain(src[j+1:e], false) && !wordGoesOn(src, e, hi) {
				emailEnd = e
			}
		}
		return j, false, emailEnd
	}
	if !hostChars || dots < 2 || j < hi && src[j] == '(' || wordGoesOn(src, j, hi) {
		return j, false, 0
	}
	for j > i && src[j-1] == '.' {
		j--
	}
	return j, okDomain(src[i:j], true), 0
}

// okDomain checks the domain of an e-mail address (host=false) or a host
// name (host=true). Host names need two dots, a lowercase alphabetic last
// label of TLD length, a first label that is not a code package root
// (org.apache..., com.example...) and a digit somewhere.
func okDomain(s string, host bool) bool {
	dots := strings.Count(s, ".")
	if dots < 1 || host && dots < 2 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if len(last) < 2 || len(last) > 10 && host {
		return false
	}
	for k := 0; k < len(last); k++ {
		if class[last[k]]&cLower == 0 && (host || class[last[k]]&cUpper == 0) {
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
	if codeRoots.has(first) {
		return false
	}
	for k := 0; k < len(s); k++ {
		if class[s[k]]&cDigit != 0 {
			return true
		}
	}
	return false
}

// userValue returns the end of a user name following the word "user" (or
// "for" in an authentication message), or i if the field does not look
// like one.
func (n *normalizer) userValue(i, hi int, why principal) int {
	src := n.src
	j := i
	for j < hi && class[src[j]]&cUser != 0 {
		j++
	}
	if j == i || class[src[i]]&cAlnum == 0 {
		return i
	}
	if j < hi && !spaceAt(src, j, hi) && (src[j] >= utf8.RuneSelf || !strings.ContainsRune(",;:)]}", rune(src[j]))) {
		return i
	}
	if userStopWords.has(src[i:j]) || why == principalFor && forStopWords.has(src[i:j]) {
		return i
	}
	return j
}

// dateWord writes a month or weekday name. Next to a date's numbers it
// becomes part of the date placeholder; elsewhere ("May I", "Sun Java") it
// stays a word.
func (n *normalizer) dateWord(w string) {
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

func (n *normalizer) placeholder() {
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
	n.out = append(n.out, Placeholder...)
	n.phEnd = len(n.out)
	n.sepOnly = true
}

func (n *normalizer) flushSpace() {
	if n.pendingSpace {
		n.out = append(n.out, ' ')
		n.pendingSpace = false
	}
}

func (n *normalizer) punct(c byte) {
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
	if class[c]&cCollapse == 0 {
		n.sepOnly = false
	}
}

// literal copies text that survives normalisation, replacing invalid UTF-8
// so that templates are always valid strings.
func (n *normalizer) literal(s string) {
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

// isWord reports whether f is the lowercase ASCII word w in any case. (No
// other character folds to an ASCII letter in the same number of bytes, so
// this is strings.EqualFold for these words.)
func isWord(f, w string) bool {
	return len(f) == len(w) && equalLower(f, w)
}

func isUpperWord(s string) bool {
	for k := 0; k < len(s); k++ {
		if class[s[k]]&cUpper == 0 {
			return false
		}
	}
	return true
}
