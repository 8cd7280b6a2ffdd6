package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTerms(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"NullPointerException", []string{"exception", "null", "nullpointerexception", "pointer"}},
		{"HTTPServerError ipv4Addr", []string{"addr", "error", "http", "httpservererror", "ipv4", "ipv4addr", "server"}},
		{"reserve_stock failed", []string{"failed", "reserve", "reserve_stock", "stock"}},
		{"java.net.ConnectException: Connection refused", []string{"connect", "connectexception", "connection", "exception", "java", "net", "refused"}},
		// Placeholders of either template form say nothing.
		{"dial tcp <*>: connect: <IP> refused after <NUM>ms", []string{"after", "connect", "dial", "ms", "refused", "tcp"}},
		// Hangul words are terms; ids and long numbers are not.
		{"결제 시간초과 order 123456 port 8080 a", []string{"8080", "order", "port", "결제", "시간초과"}},
	} {
		assert.Equal(t, c.want, Terms(c.in), c.in)
	}
	assert.Equal(t, []string{"exception", "java", "lang", "null", "nullpointerexception", "pointer"}, TypeTerms("[main] java.lang.NullPointerException: x was null"))
	assert.Nil(t, TypeTerms("connection refused"))
}

func TestKoreanStem(t *testing.T) {
	for in, want := range map[string]string{
		"연결이": "연결", "거부됨": "거부", "부족해요": "부족", "초과되었습니다": "초", "초과": "초", "풀이": "풀", "부족으로": "부족",
		"장애": "장애", "0으로": "0", "timeout": "timeout", "이": "이",
	} {
		assert.Equal(t, want, koreanStem(in), in)
	}
}

func TestLightStem(t *testing.T) {
	same := [][]string{{"refused", "refuse", "refusing"}, {"timed", "time"}, {"errors", "error"}, {"forcing", "force"}, {"dividing", "divide", "divided"}}
	for _, group := range same {
		for _, w := range group[1:] {
			assert.Equal(t, lightStem(group[0]), lightStem(w), "%s ~ %s", group[0], w)
		}
	}
	assert.Equal(t, "status", lightStem("status"), "a word ending in -us is not a plural")
	assert.NotEqual(t, lightStem("connection"), lightStem("connect"), "derivations are the vocabulary's variants, not stems")
}

func TestEditDistance(t *testing.T) {
	assert.Equal(t, 0, editDistance("refused", "refused", 2))
	assert.Equal(t, 1, editDistance("conection", "connection", 2))
	assert.Equal(t, 1, editDistance("refsued", "refused", 2), "a transposition counts once")
	assert.Equal(t, 2, editDistance("authentification", "authentication", 2))
	assert.Equal(t, 3, editDistance("memory", "heap", 2), "beyond the limit: limit+1")
}
