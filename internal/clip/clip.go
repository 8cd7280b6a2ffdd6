// Package clip shortens text to a byte budget without splitting a UTF-8
// character: the one truncation every component, program and report uses.
package clip

import "unicode/utf8"

// String returns s cut to at most n bytes, at a character boundary.
func String(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Marked is String followed by "…" when s was cut, for text a person reads.
func Marked(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return String(s, n) + "…"
}
