// Words: how Normalize reads a word (plain words, words joined by - or _,
// runs of letters and digits) and decides whether it is a value; account
// names and date words.

package logtemplate

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

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
