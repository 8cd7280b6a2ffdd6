package logtemplate

import "strings"

// Byte classes for the ASCII range. One table lookup per byte keeps the
// scanner branch-light. Bytes >= 0x80 have no class bits; the scanner
// treats them as letters unless they decode to a Unicode space (invalid
// UTF-8 included, which is written out as U+FFFD).
const (
	cDigit uint32 = 1 << iota
	cUpper
	cLower
	cSpace     // whitespace and control bytes: both become field separators
	cCollapse  // separators that may sit between two placeholders that merge into one
	cKey       // may appear in the key of key=value
	cHost      // may appear in a host name
	cEmail     // may appear in the local part of an e-mail address
	cHex       // hexadecimal digit
	cOpen      // may precede an opening quote or the start of a path
	cValueStop // ends an unquoted value in key=value
	cPathStop  // ends a file system path
	cUser      // may appear in a user name
	cQuote     // opens a quoted value
	cIdent     // may appear in a quoted code identifier
	cIdentMark // shows that a quoted word is a code identifier rather than a plain value
	cCompound  // joins the parts of an identifier: letters, digits, '_' and '-'
	cWord      // continues a word for the whole-word checks (key=, e-mail, host, UUID)
	cPunct     // punctuation that no rule reads, so it is always copied as is
	cPathStart // punctuation that may start a path after an opener ('/', "./", "~/")
	cWordNext  // after the first segment of a word, may lead into a key, a host, an e-mail or hex groups
)

const cAlpha = cUpper | cLower
const cAlnum = cAlpha | cDigit

var class [256]uint32

func init() {
	for c := 0; c < 256; c++ {
		var f uint32
		switch {
		case c >= '0' && c <= '9':
			f |= cDigit | cKey | cHost | cEmail | cHex | cUser | cIdent
		case c >= 'A' && c <= 'Z':
			f |= cUpper | cKey | cHost | cEmail | cUser | cIdent | cIdentMark
			if c <= 'F' {
				f |= cHex
			}
		case c >= 'a' && c <= 'z':
			f |= cLower | cKey | cHost | cEmail | cUser | cIdent
			if c <= 'f' {
				f |= cHex
			}
		case c < 0x20 || c == ' ' || c == 0x7f:
			f |= cSpace | cCollapse | cValueStop | cPathStop | cOpen
		}
		class[c] = f
	}
	add := func(chars string, f uint32) {
		for i := 0; i < len(chars); i++ {
			class[chars[i]] |= f
		}
	}
	add(".,:;-_/+#=@|\\~", cCollapse)
	add("_.-$", cKey)
	add(".-", cHost)
	add("._%+-", cEmail)
	add("._-@", cUser)
	add("([{=:,<'\"`", cOpen)
	add(",;&)]}>|", cValueStop)
	add("\"'`<>|)]},;?", cPathStop)
	add("'\"`", cQuote)
	add("_$.:()[]<>-", cIdent)
	add("_$.:(", cIdentMark)
	for c := 0; c < 256; c++ {
		if class[c]&cAlnum != 0 {
			class[c] |= cCompound
		}
	}
	add("_-", cCompound)
	for c := 0; c < 256; c++ {
		if class[c]&(cKey|cEmail|cHost|cCompound) != 0 {
			class[c] |= cWord
		}
	}
	add("@", cWord)
	// All but the punctuation that step may read as the start of something:
	// a quote, a placeholder, a signed number, a word ('_') or a path.
	for c := 0x21; c < 0x7f; c++ {
		if class[c]&cAlnum == 0 && !strings.ContainsRune("_<-+'\"`/.~", rune(c)) {
			class[c] |= cPunct
		}
	}
	add("/.~", cPathStart)
	add(":=$.@%+", cWordNext)
}

// set is a small case-insensitive set of ASCII words. Most lookups are for
// words that are not in it, so a filter on the length and first letter
// answers most of them with one load; the rest probe a small open-addressed
// table keyed by the length and the first, middle and last letters, which
// needs no hashing of the whole word and rarely more than one comparison.
type set struct {
	slots []string // power-of-two sized; "" marks a free slot
	mask  uint32
	// first[n] has bit firstBit(w[0]) set for each word w of length n.
	first [maxSetWord]uint64
}

// Longest word a set lookup considers; longer words are never members.
const maxSetWord = 24

// wordSet builds a set of lowercase words.
func wordSet(words ...string) *set {
	size := 16
	for size < 4*len(words) {
		size *= 2
	}
	s := &set{slots: make([]string, size), mask: uint32(size - 1)}
	for _, w := range words {
		if len(w) >= maxSetWord {
			continue // has would never find it
		}
		s.first[len(w)] |= 1 << firstBit(w[0])
		h := setHash(w)
		for s.slots[h&s.mask] != "" && s.slots[h&s.mask] != w {
			h++
		}
		s.slots[h&s.mask] = w
	}
	return s
}

// setHash mixes the length and three letters of w, lowercased; w is not
// empty.
func setHash(w string) uint32 {
	k := uint32(lower(w[0]))<<24 | uint32(lower(w[len(w)/2]))<<16 | uint32(lower(w[len(w)-1]))<<8 | uint32(len(w))
	return (k * 0x9e3779b1) >> 16
}

func (s *set) has(w string) bool {
	if len(w) == 0 || len(w) >= maxSetWord || s.first[len(w)]&(1<<firstBit(w[0])) == 0 {
		return false
	}
	for h := setHash(w); ; h++ {
		cand := s.slots[h&s.mask]
		if cand == "" {
			return false
		}
		if len(cand) == len(w) && equalLower(w, cand) {
			return true
		}
	}
}

// firstBit maps a byte and its uppercase form (for letters) to the same
// bit of set.first.
func firstBit(c byte) byte {
	return (c | 0x20) & 63
}

// equalLower reports whether w with ASCII letters lowercased equals the
// (lowercase) set word s of the same length.
func equalLower(w, s string) bool {
	for i := 0; i < len(s); i++ {
		if lower(w[i]) != s[i] {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Technical names that contain digits but name a thing rather than an
// instance: masking them would erase the difference between, say, an x509
// error and a sha256 one.
var digitWords = wordSet(
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
var dateWords = wordSet(
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
	"january", "february", "march", "april", "june", "july", "august", "september", "october",
	"november", "december",
	"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun",
	"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)

// Units written as a separate word after a number ("330.0 B", "15 ms").
// Absorbing them into the number's placeholder keeps "12 KB" and "1.2 MB"
// (or "1 second" and "2 seconds") in the same template.
var unitWords = wordSet(
	"b", "kb", "mb", "gb", "tb", "pb", "eb", "kib", "mib", "gib", "tib", "pib", "byte", "bytes",
	"ns", "us", "µs", "ms", "s", "sec", "secs", "msec", "msecs", "millis", "min", "mins", "hr", "hrs",
	"nanosecond", "nanoseconds", "microsecond", "microseconds", "millisecond", "milliseconds",
	"second", "seconds", "minute", "minutes", "hour", "hours", "day", "days",
)

// Function words that follow "user" in fixed text ("user not found",
// "user is locked"), which must not be mistaken for a user name.
var userStopWords = wordSet(
	"a", "an", "the", "is", "was", "are", "were", "be", "been", "not", "no", "has", "had", "have",
	"does", "did", "do", "with", "without", "from", "to", "for", "in", "on", "at", "by", "of", "and",
	"or", "as", "if", "unknown", "name", "id", "account", "session", "cannot", "can", "could",
	"should", "must", "may", "will", "already", "exists", "exist", "info", "data", "request",
	"requests", "agent", "input", "mode", "space", "level", "error", "errors",
)

// After "for" in an authentication message these words start a longer
// phrase ("for invalid user X", "for this account") rather than being the
// account name itself.
var forStopWords = wordSet(
	"invalid", "illegal", "user", "users", "username", "this", "that", "all", "any", "each",
	"every", "some", "more", "too", "many", "new", "existing", "current", "remote", "local",
	"none", "service", "host", "client", "server", "domain", "realm", "group", "role", "key",
	"token", "method", "methods", "retry", "attempt", "attempts", "connection", "publickey",
	"password", "login",
)

// Words that make a message about authentication. In such a message the
// word after "for" is the account ("Failed password for root from ...",
// "Too many authentication failures for admin").
var authWords = wordSet(
	"password", "passwords", "passwd", "publickey", "authentication", "authenticate",
	"authenticated", "auth", "login", "logon", "credentials", "credential", "sudo", "kerberos",
	"keyboard-interactive", "hostbased", "gssapi-with-mic",
)

// Keys whose value is the human-readable part of a logfmt line; their value
// is normalised like free text instead of being masked whole.
var messageKeys = wordSet(
	"msg", "message", "err", "error", "errmsg", "error_message", "exception", "exc", "reason",
	"cause", "level", "lvl", "severity", "logger", "caller", "component", "event", "description",
	"detail", "details", "summary", "status_message", "type", "kind", "op", "operation",
)

// First labels of Java/.NET style dotted names, which look like host names
// but name code and must be kept.
var codeRoots = wordSet(
	"org", "com", "net", "io", "java", "javax", "jdk", "sun", "android", "androidx", "kotlin",
	"scala", "akka", "dev", "me", "system", "microsoft", "google", "apache",
)

// Extensions of source files: in a path like /src/app/handler.go the
// directory is deployment detail but the file name is a code location.
var sourceExts = wordSet(
	"go", "java", "kt", "kts", "scala", "groovy", "py", "pyx", "rb", "js", "mjs", "cjs", "jsx", "ts",
	"tsx", "c", "cc", "cpp", "cxx", "h", "hh", "hpp", "rs", "cs", "fs", "vb", "php", "swift", "m",
	"mm", "ex", "exs", "erl", "hrl", "clj", "cljs", "lua", "pl", "pm", "sh", "dart", "zig", "nim",
	"jl", "r", "hs", "ml", "vue", "svelte",
)

var httpMethods = wordSet("get", "post", "put", "delete", "patch", "head", "options", "connect", "trace")
