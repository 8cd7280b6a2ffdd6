package search

import (
	"testing"
	"unicode/utf8"
)

// Query text comes from MCP arguments: any text must analyse without
// panicking into parameters the hybrid queries accept.
func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{"connection refused", "ECONNREFUSED", "결제 시간 초과", "java.net.ConnectException: x",
		"DB 연결 풀이 부족해요", "<*> <NUM>", "a.b.c.d.e", "\x00\xff", "NullPointerExeption", strings1k()} {
		f.Add(s)
	}
	v := storeVocab()
	f.Fuzz(func(t *testing.T, text string) {
		q := Analyze(text, v)
		terms, groups, weights := q.Params()
		if len(terms) != len(groups) || len(terms) != len(weights) {
			t.Fatalf("params of different lengths: %d %d %d", len(terms), len(groups), len(weights))
		}
		for i, ts := range terms {
			if len(ts) == 0 {
				t.Fatalf("alternative %d holds no term", i)
			}
			for _, term := range ts {
				if term == "" || !utf8.ValidString(term) {
					t.Fatalf("bad term %q", term)
				}
			}
			if int(groups[i]) >= len(q.Groups) || weights[i] <= 0 {
				t.Fatalf("alternative %d: group %d of %d, weight %v", i, groups[i], len(q.Groups), weights[i])
			}
		}
		df := make([]uint64, len(q.Groups))
		idf := make([]float64, len(q.Groups))
		all := make([]int, len(terms))
		for i := range all {
			all[i] = i
		}
		if c := q.Explain(all, df, idf).Coverage; c < 0 || c > 1 {
			t.Fatalf("coverage %v", c)
		}
	})
}

func strings1k() string {
	b := make([]byte, 0, 1024)
	for len(b) < 1000 {
		b = append(b, "timeoutError "...)
	}
	return string(b)
}
