package embed

import (
	"context"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/otelcol-agentic/otelcol-agentic/internal/bitmix"
)

// hashVersion goes into Model(). Bump it whenever the features, weights or
// hashing change, because stored vectors from the old algorithm are then no
// longer comparable with new query vectors.
const hashVersion = "hash-v3"

// Feature weights. Words carry the signal that makes two different errors
// alike (the exception name, the verb, the component); n-grams catch
// identifiers that share a stem ("getUserById" vs "getUserByName") and
// spelling variants. Each group is normalised on its own before mixing, so a
// text of a few long tokens (many n-grams) is not all n-grams. The values
// were checked on the loghub 2k sets (TestLoghubRetrieval): word shares from
// 0.4 to 0.9 and sub-word weights from 0.3 to 1 all land within 0.02 of each
// other there, so they are set by the NullPointerException/
// NullReferenceException case instead, which needs sub-words.
const (
	wordShare  = 0.5 // share of the squared norm given to word features
	subWeight  = 0.5 // a camelCase/snake_case part, relative to a whole token
	namedPHW   = 0.3 // a named placeholder like <IP>: some signal, not much
	minNGram   = 3
	maxNGram   = 5
	maxNGramRs = 32 // n-grams of longer tokens (hex, base64 blobs) are noise
)

// The error type. A message that leads with an exception or error class
// ("InventoryDBError: timed out …", "java.lang.NullPointerException at …")
// is first of all an error of that type: the leading type gets its own
// feature group holding typeShare of the squared norm, so errors of one type
// sit within 1-typeShare of each other in cosine distance whatever their
// text, and errors of different types at least typeShare apart unless their
// texts match. A wrapped cause ("UpstreamServiceError: payment returned 503
// (PaymentTimeoutError: …)") is a lesser feature of the same group — the
// innermost cause, at causeWeight — so wrappers of one cause sit together
// within their type; a message whose only error class is a cause gets
// causeShare for it.
var (
	typeShare   = 0.6
	causeWeight = 0.3
	causeShare  = 0.3
)

const (
	maxTypeOffset = 5 // word tokens allowed before the leading type ("[main] Caused by: java.io.…")
	nsType        = 't'
	nsCause       = 'c'
)

// Namespaces keep a word and an n-gram with the same spelling ("err") apart.
const (
	nsWord  byte = 'w'
	nsNGram byte = 'n'
)

// Hash is the offline provider: deterministic signed feature hashing. It is
// exported so that tests and tools can build it without a Config.
//
// The output depends only on the text and the dimension: no seeds, no
// per-process state, so vectors written by the collector compare with query
// vectors computed by the MCP server. It is bit-identical across processes
// on one CPU architecture and equal to within float32 rounding across
// architectures (math.Log may differ in the last bit).
type Hash struct {
	dims  int
	model string
	pool  sync.Pool // *hashScratch, to keep Embed allocation-light on the hot path
}

// NewHash returns the hash provider with the given dimension (must be > 0).
func NewHash(dims int) *Hash {
	if dims <= 0 {
		panic("embed: NewHash dims must be > 0")
	}
	h := &Hash{dims: dims, model: hashVersion + "-" + strconv.Itoa(dims)}
	h.pool.New = func() any { return new(hashScratch) }
	return h
}

// Model returns e.g. "hash-v2-384": the dimension is part of the name because
// the bucket assignment depends on it.
func (h *Hash) Model() string { return h.model }

// Dims returns the vector length.
func (h *Hash) Dims() int { return h.dims }

// Embed never fails except on a cancelled context; it checks the context
// between texts so that a huge batch can still be abandoned.
func (h *Hash) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		if i&63 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out[i] = h.EmbedOne(t)
	}
	return out, nil
}

// EmbedOne embeds a single text into a freshly allocated vector.
func (h *Hash) EmbedOne(text string) []float32 {
	sc := h.pool.Get().(*hashScratch)
	defer func() {
		sc.leadTok = "" // do not keep the text alive in the pool
		h.pool.Put(sc)
	}()
	sc.reset()
	sc.extract(text)
	v := make([]float32, h.dims)
	if !sc.project(v) {
		return EmptyVector(h.dims)
	}
	return v
}

// LeadingErrorType is the exception or error class a message leads with
// ("InventoryDBError" for "InventoryDBError: timed out …", "NullPointerException"
// for "java.lang.NullPointerException at …"), as the hash provider sees it,
// or "" when it names none near its start. Errors of one leading type embed
// within 1-typeShare (0.4) cosine distance of each other, so a search for
// such a message can use a tighter cut-off than one for free text.
func LeadingErrorType(text string) string {
	sc := new(hashScratch)
	sc.extract(text)
	return strings.Clone(sc.leadTok)
}

// A feature is packed into one uint64 so that sorting, which dominates the
// cost, is a plain integer sort: the high 62 bits are the mixed hash of the
// feature's text, the low 2 bits its kind. Sorting then puts the same text
// seen as different kinds (a whole word and a sub-word) next to each other.
const (
	kindNGram uint64 = iota
	kindNamedPH
	kindSub
	kindWord
	kindMask uint64 = 3
)

var kindWeight = [4]float64{kindNGram: 1, kindNamedPH: namedPHW, kindSub: subWeight, kindWord: 1}

func feat(h, kind uint64) uint64 { return bitmix.Mix64(h)&^kindMask | kind }

type hashScratch struct {
	concept uint64 // hash of the error concept (conceptOf), 0 if none
	words   int    // word tokens seen
	lead    uint64 // hash of the leading error type, 0 if none
	leadTok string // the leading error type as written
	cause   uint64 // hash of the last error type after it (the innermost cause)
	feats   []uint64
	weights []float64 // merged weight of feats[i], filled by project
	word    []byte    // lower-cased current token
	offs    []int     // rune start offsets in word, plus len(word)
	spans   [][2]int  // sub-words of word as [start,end) byte offsets
}

func (s *hashScratch) reset() {
	s.feats = s.feats[:0]
	s.words, s.lead, s.cause, s.leadTok, s.concept = 0, 0, 0, "", 0
}

// extract tokenises text into word runs (letters, digits, underscore) and
// placeholders. Everything else separates tokens. Invalid UTF-8 decodes to
// U+FFFD one byte at a time, which is deterministic and never panics.
func (s *hashScratch) extract(text string) {
	start := -1
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == '<' {
			if n := placeholderLen(text[i:]); n > 0 {
				if start >= 0 {
					s.token(text[start:i])
					start = -1
				}
				s.placeholder(text[i : i+n])
				i += n
				continue
			}
		}
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			s.token(text[start:i])
			start = -1
		}
		i += size
	}
	if start >= 0 {
		s.token(text[start:])
	}
	s.concept = conceptOf(s.leadTok, s.lead == 0 && s.cause == 0, text)
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

// placeholderLen recognises template masks: "<*>" and named ones such as
// "<IP>" or "<NUM>" produced by template normalisers. They say "a variable
// was here", which every template has, so they must not make unrelated
// templates look alike. Returns 0 if s does not start with one.
func placeholderLen(s string) int {
	// s[0] == '<'
	for j := 1; j < len(s) && j <= 25; j++ {
		c := s[j]
		switch {
		case c == '>':
			if j == 1 {
				return 0
			}
			return j + 1
		case c == '*' || c == '_' || c == '-' || c == '.' || c == ':' ||
			(c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'):
		default:
			return 0
		}
	}
	return 0
}

func (s *hashScratch) placeholder(p string) {
	if strings.Trim(p[1:len(p)-1], "*") == "" {
		return // "<*>", "<**>": a mask with no name says nothing
	}
	// Named placeholders are matched by their name only, case-insensitively.
	h := fnvByte(fnvOffset, nsWord)
	h = fnvByte(h, '<')
	for i := 1; i < len(p)-1; i++ {
		h = fnvByte(h, lowerASCII(p[i]))
	}
	s.feats = append(s.feats, feat(h, kindNamedPH))
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

type runeClass uint8

const (
	clsOther runeClass = iota
	clsLower
	clsUpper
	clsDigit
	clsSep
)

func classOf(r rune) runeClass {
	switch {
	case r == '_':
		return clsSep
	case unicode.IsDigit(r):
		return clsDigit
	case unicode.IsUpper(r):
		return clsUpper
	case unicode.IsLower(r):
		return clsLower
	default:
		return clsOther
	}
}

// token adds the features of one word run: the whole lower-cased token, its
// sub-words, and its character n-grams.
func (s *hashScratch) token(tok string) {
	if errorClass(tok) {
		h := fnvByte(fnvOffset, nsType)
		for i := 0; i < len(tok); i++ {
			h = fnvByte(h, lowerASCII(tok[i]))
		}
		if s.lead == 0 && s.cause == 0 && s.words <= maxTypeOffset {
			s.lead, s.leadTok = h, tok
		} else {
			s.cause = h
		}
	}
	s.words++
	s.word = s.word[:0]
	s.offs = s.offs[:0]
	s.spans = s.spans[:0]
	// Sub-word boundaries come from the original casing, so they are found
	// while lower-casing: "HTTPServerError" -> http|server|error,
	// "get_user_by_id" -> get|user|by|id, "ipv4Addr" -> ipv|4|addr.
	from := 0 // start of the current sub-word in s.word
	cut := func(at int) {
		if at > from {
			s.spans = append(s.spans, [2]int{from, at})
		}
		from = at
	}
	prev, prev2 := clsSep, clsSep
	for i := 0; i < len(tok); {
		r, size := utf8.DecodeRuneInString(tok[i:])
		cls := classOf(r)
		switch {
		case cls == clsSep:
			cut(len(s.word))
		case prev == clsSep:
			from = len(s.word)
		case cls == clsUpper && prev == clsLower:
			cut(len(s.word))
		case cls == clsLower && prev == clsUpper && prev2 == clsUpper:
			// "HTTPServer": the cut goes before the last upper-case rune.
			cut(s.offs[len(s.offs)-1])
		case (cls == clsDigit) != (prev == clsDigit):
			cut(len(s.word))
		}
		s.offs = append(s.offs, len(s.word))
		s.word = utf8.AppendRune(s.word, unicode.ToLower(r))
		prev2, prev = prev, cls
		i += size
	}
	if prev != clsSep {
		cut(len(s.word))
	}
	s.offs = append(s.offs, len(s.word))
	if len(s.word) == 0 {
		return
	}
	s.feats = append(s.feats, feat(hashBytes(nsWord, s.word), kindWord))
	// Sub-words let "getUserById" meet "user" and "NullPointerException"
	// meet "NullReferenceException". A token that is its own only part adds
	// nothing.
	if !(len(s.spans) == 1 && s.spans[0] == [2]int{0, len(s.word)}) {
		for _, sp := range s.spans {
			s.feats = append(s.feats, feat(hashBytes(nsWord, s.word[sp[0]:sp[1]]), kindSub))
		}
	}
	s.ngrams()
}

// errorClass reports whether a token names an exception or error class:
// an identifier with an upper-case letter and a prefix before one of the
// usual suffixes ("ValueError", "NullPointerException", "SocketTimeout",
// "RPCFailure"); a bare "Error" is not one.
func errorClass(tok string) bool {
	for _, suf := range [...]string{"Error", "Exception", "Failure", "Fault", "Panic", "Timeout"} {
		if len(tok) > len(suf) && strings.HasSuffix(tok, suf) {
			for i := 0; i < len(tok)-len(suf); i++ {
				if c := tok[i]; c >= 'A' && c <= 'Z' {
					return true
				}
			}
			return false
		}
	}
	return false
}

// ngrams emits rune n-grams of " token " (the spaces mark word boundaries,
// so a prefix n-gram differs from the same letters mid-word).
func (s *hashScratch) ngrams() {
	nr := len(s.offs) - 1
	if nr > maxNGramRs {
		return
	}
	// Positions -1 and nr stand for the boundary markers.
	for n := minNGram; n <= maxNGram; n++ {
		for i := -1; i+n <= nr+1; i++ {
			h := fnvByte(fnvOffset, nsNGram)
			from, to := i, i+n // rune positions, inclusive-exclusive
			if from < 0 {
				h = fnvByte(h, ' ')
				from = 0
			}
			end := to
			if end > nr {
				end = nr
			}
			if end > from {
				h = fnvBytes(h, s.word[s.offs[from]:s.offs[end]])
			}
			if to > nr {
				h = fnvByte(h, ' ')
			}
			s.feats = append(s.feats, feat(h, kindNGram))
		}
	}
}

// project merges repeated features with sublinear weighting, normalises the
// word and n-gram groups separately, and adds them into v by signed hashing.
// It reports false when there were no features.
func (s *hashScratch) project(v []float32) bool {
	if len(s.feats) == 0 {
		return false
	}
	slices.Sort(s.feats)
	// Collapse runs of the same text into one feature of weight
	// (1+ln tf)·w, w being the largest of its kinds: a repeated word shows
	// emphasis, not a proportionally stronger signal. The merged weights are
	// kept in s.weights, parallel to the shortened s.feats.
	out := s.feats[:0]
	s.weights = s.weights[:0]
	var sq [2]float64
	for i := 0; i < len(s.feats); {
		id := s.feats[i] &^ kindMask
		w := 0.0
		j := i
		for ; j < len(s.feats) && s.feats[j]&^kindMask == id; j++ {
			w = max(w, kindWeight[s.feats[j]&kindMask])
		}
		w *= tfWeight(j - i)
		g := groupOf(s.feats[i])
		sq[g] += w * w
		out = append(out, s.feats[i])
		s.weights = append(s.weights, w)
		i = j
	}
	s.feats = out
	// The error-type group: the leading type at weight 1 and the innermost
	// cause at causeWeight (distinct namespaces, so a cause does not meet
	// the same class leading another message).
	var types [3]uint64
	var typeW [3]float64
	typeSq, rest := 0.0, 1.0
	if s.lead != 0 {
		types[0], typeW[0] = s.lead, 1
		typeSq, rest = 1, 1-typeShare
		if s.cause != 0 && s.cause != s.lead {
			types[1], typeW[1] = bitmix.Mix64(s.cause^nsCause), causeWeight
			typeSq += causeWeight * causeWeight
		}
		if s.concept != 0 {
			// A class that names a concept ("NullPointerException"): the
			// concept leads, the spelling of this ecosystem follows.
			typeW[0] = conceptClassWeight
			types[2], typeW[2] = s.concept, 1
			typeSq += conceptClassWeight*conceptClassWeight - 1 + 1 // the lead's 1 becomes the class weight; the concept adds 1
		}
	} else if s.cause != 0 {
		types[1], typeW[1] = bitmix.Mix64(s.cause^nsCause), 1
		typeSq, rest = 1, 1-causeShare
	} else if s.concept != 0 {
		// No error class, but the words say what kind of error it is ("nil
		// pointer dereference"): the concept stands in for the type.
		types[2], typeW[2] = s.concept, 1
		typeSq, rest = 1, 1-typeShare
	}
	var scale [2]float64
	share := [2]float64{wordShare * rest, (1 - wordShare) * rest}
	for g := range scale {
		if sq[g] > 0 {
			scale[g] = math.Sqrt(share[g] / sq[g])
		}
	}
	if typeSq > 0 {
		ts := math.Sqrt((1 - rest) / typeSq)
		dims := uint64(len(v))
		for i, id := range types {
			if typeW[i] == 0 {
				continue
			}
			id = bitmix.Mix64(id)
			b, _ := bits.Mul64(id, dims)
			x := float32(typeW[i] * ts)
			if id&4 != 0 {
				x = -x
			}
			v[b] += x
		}
	}
	dims := uint64(len(v))
	for i, f := range s.feats {
		id := f &^ kindMask
		// Bucket from the high half of a 64x64 multiply (cheaper than %),
		// sign from a low bit, which that high half barely depends on.
		b, _ := bits.Mul64(id, dims)
		x := float32(s.weights[i] * scale[groupOf(f)])
		if id&4 != 0 {
			x = -x
		}
		v[b] += x
	}
	return normalize(v)
}

// groupOf is 1 for n-grams, 0 for word-like features.
func groupOf(f uint64) int {
	if f&kindMask == kindNGram {
		return 1
	}
	return 0
}

// tfWeight is 1+ln(tf), tabulated because almost every tf is small.
func tfWeight(tf int) float64 {
	if tf < len(tfTable) {
		return tfTable[tf]
	}
	return 1 + math.Log(float64(tf))
}

var tfTable = func() (t [32]float64) {
	for i := 1; i < len(t); i++ {
		t[i] = 1 + math.Log(float64(i))
	}
	return t
}()

// FNV-1a 64. The standard library's hash/fnv would do, but it goes through
// an interface and a []byte per feature; this inlines into the n-gram loop.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvByte(h uint64, c byte) uint64 { return (h ^ uint64(c)) * fnvPrime }

func fnvBytes(h uint64, p []byte) uint64 {
	for _, c := range p {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

func hashBytes(ns byte, p []byte) uint64 { return fnvBytes(fnvByte(fnvOffset, ns), p) }

// FNV1a64 is the 64-bit FNV-1a hash of s, used by Cached.Embed as the cache
// key when the caller has no template hash.
func FNV1a64(s string) uint64 {
	h := fnvOffset
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

// IsHashModel reports whether a recorded model name is the hash provider's
// (of any version and dimension).
func IsHashModel(model string) bool { return strings.HasPrefix(model, "hash-") }
