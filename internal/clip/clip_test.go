package clip

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestString(t *testing.T) {
	assert.Equal(t, "abc", String("abc", 3))
	assert.Equal(t, "ab", String("abc", 2))
	assert.Empty(t, String("abc", 0))
	assert.Empty(t, String("abc", -1))
	// "é" is two bytes: a cut inside it keeps neither.
	assert.Equal(t, "caf", String("café", 4))
	assert.Equal(t, "café", String("café", 5))
	assert.Equal(t, "한", String("한국", 4))
}

func TestMarked(t *testing.T) {
	assert.Equal(t, "short", Marked("short", 10))
	assert.Equal(t, "caf…", Marked("café au lait", 4))
	assert.Equal(t, "한…", Marked("한국어", 5))
}

func FuzzString(f *testing.F) {
	for _, s := range []string{"", "abc", "café", "한국어", "\xff\xfe"} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := String(s, n)
		if len(got) > max(n, 0) || got != s[:len(got)] {
			t.Fatalf("String(%q, %d) = %q: not a prefix within the budget", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q split a character", s, n, got)
		}
	})
}
