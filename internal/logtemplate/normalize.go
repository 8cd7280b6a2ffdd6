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
