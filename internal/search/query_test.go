package search

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// storeVocab is a small store's vocabulary: what its documents say.
func storeVocab() *Vocabulary {
	df := map[string]int{}
	for _, doc := range []string{
		`UpstreamConnectionError: Get "http://<*>/recommendations": dial tcp <*>: connect: connection refused`,
		`CartDBError: timed out acquiring connection from pool after <*>`,
		`panic serving GET /carts/{id}: runtime error: invalid memory address or nil pointer dereference`,
		`Failed password for invalid user <*> from <*> port <*> ssh2`,
		`pam_unix(sshd:auth): authentication failure; logname= uid=<*>`,
		`ciod: LOGIN chdir(<*>) failed: No such file or directory`,
	} {
		for _, t := range Terms(doc) {
			df[t]++
		}
	}
	return NewVocabulary(df, 6, 8)
}

func group(q Query, label string) (Group, bool) {
	i := slices.IndexFunc(q.Groups, func(g Group) bool { return g.Label == label })
	if i < 0 {
		return Group{}, false
	}
	return q.Groups[i], true
}

func hasAlt(g Group, terms ...string) bool {
	return slices.ContainsFunc(g.Alts, func(a Alt) bool { return slices.Equal(a.Terms, terms) })
}

func TestAnalyzeErrnoFindsThePhrase(t *testing.T) {
	q := Analyze("ECONNREFUSED", storeVocab())
	assert.Equal(t, []string{"connection_refused"}, q.Concepts())
	g, ok := group(q, "connection_refused")
	require.True(t, ok)
	assert.Equal(t, GroupConcept, g.Kind)
	assert.True(t, hasAlt(g, "connection", "refused"), "the errno's text as another spelling")
	assert.True(t, hasAlt(g, "connectexception"), "Java's class, whole")
	assert.False(t, hasAlt(g, "connect", "exception"), "not its parts: any message with both words would match")
}

func TestAnalyzeTyposAgainstTheStore(t *testing.T) {
	q := Analyze("conection refusd", storeVocab())
	assert.Equal(t, map[string]string{"conection": "connection", "refusd": "refused"}, q.Corrections)
	assert.Contains(t, q.Concepts(), "connection_refused", "the corrected words name the failure")
	g, ok := group(q, "conection")
	require.True(t, ok)
	assert.True(t, hasAlt(g, "connection"))
}

func TestAnalyzeIdentifiers(t *testing.T) {
	q := Analyze("NullPointerException", storeVocab())
	id, ok := group(q, "nullpointerexception")
	require.True(t, ok)
	assert.Equal(t, GroupIdentifier, id.Kind)
	for _, p := range []string{"null", "pointer", "exception"} {
		_, ok := group(q, p)
		assert.True(t, ok, "part %s", p)
	}
	g, ok := group(q, "null_dereference")
	require.True(t, ok)
	assert.True(t, hasAlt(g, "dereference", "nil", "pointer"), "Go's spelling of it")
	// The words of a named failure count little on their own: the concept
	// carries them.
	null, _ := group(q, "null")
	assert.Less(t, null.Weight, g.Weight/3)
}

func TestAnalyzeNamespacesCountLittle(t *testing.T) {
	q := Analyze("java.io.FileNotFoundException", storeVocab())
	java, ok := group(q, "java")
	require.True(t, ok)
	assert.InDelta(t, namespaceWeight, java.Weight, 1e-9)
	assert.Contains(t, q.Concepts(), "file_not_found")
	assert.NotContains(t, q.Concepts(), "not_found", "NotFound inside FileNotFoundException is the file's")
}

func TestAnalyzeKorean(t *testing.T) {
	q := Analyze("결제 시간 초과", storeVocab())
	assert.Contains(t, q.Concepts(), "timeout")
	pay, ok := group(q, "payment")
	require.True(t, ok, "결제 is the domain term payment")
	assert.Equal(t, GroupTerm, pay.Kind)
	assert.True(t, hasAlt(pay, "payment"))
	for _, w := range []string{"결제", "시간", "초과"} {
		g, ok := group(q, w)
		require.True(t, ok, w)
		assert.True(t, g.Covered, "%s is carried by its translation", w)
	}

	q = Analyze("DB 연결 풀이 부족해요", storeVocab())
	assert.Contains(t, q.Concepts(), "connection_pool_exhausted", "particles and endings cut off")
	q = Analyze("시간초과가 발생했습니다", storeVocab())
	assert.Contains(t, q.Concepts(), "timeout", "a compound written without its space")
	q = Analyze("권한 없음", storeVocab())
	assert.Contains(t, q.Concepts(), "permission_denied")
	assert.NotContains(t, q.Concepts(), "not_found", "없음 inside 권한 없음 is the permission's")
}

func TestAnalyzeSynonymsJoinTheWord(t *testing.T) {
	q := Analyze("database", storeVocab())
	g, ok := group(q, "database")
	require.True(t, ok)
	assert.Equal(t, GroupWord, g.Kind)
	assert.True(t, hasAlt(g, "db"), "a synonym is another way to hold the word")
	_, separate := group(q, "database_term")
	assert.False(t, separate)
}

func TestParamsAreParallel(t *testing.T) {
	q := Analyze("java.net.ConnectException: Connection refused (결제 시간 초과)", storeVocab())
	terms, groups, weights := q.Params()
	require.Equal(t, len(terms), len(groups))
	require.Equal(t, len(terms), len(weights))
	prev := uint16(0)
	for i := range terms {
		assert.NotEmpty(t, terms[i])
		assert.GreaterOrEqual(t, groups[i], prev, "groups are contiguous")
		assert.Less(t, int(groups[i]), len(q.Groups))
		assert.Positive(t, weights[i])
		prev = groups[i]
	}
	empty := Analyze("   <*> !!", nil)
	assert.True(t, empty.Empty())
	terms, groups, weights = empty.Params()
	assert.NotNil(t, terms, "an empty array parameter, not NULL")
	assert.Empty(t, groups)
	assert.Empty(t, weights)
}

func TestExplain(t *testing.T) {
	q := Analyze("connection refused", storeVocab())
	terms, _, _ := q.Params()
	var matched []int
	for i, ts := range terms {
		if strings.Join(ts, " ") == "econnrefused" || strings.Join(ts, " ") == "connection" {
			matched = append(matched, i)
		}
	}
	df := make([]uint64, len(q.Groups))
	idf := make([]float64, len(q.Groups))
	for i := range df {
		df[i], idf[i] = 1, 2
	}
	m := q.Explain(matched, df, idf)
	assert.Equal(t, []string{"connection"}, m.Words)
	assert.Equal(t, []string{`connection_refused as "ECONNREFUSED"`}, m.Concepts)
	assert.Greater(t, m.Coverage, 0.5, "the concept is most of the query")
	assert.Less(t, m.Coverage, 1.0, "but not the word refused")
	assert.Zero(t, q.Explain(nil, df, idf).Coverage)
}

func TestProbeTakesEachAlternativesRarestTerm(t *testing.T) {
	v := NewVocabulary(map[string]int{"connection": 5, "refused": 2, "could": 40, "not": 60, "connect": 9, "server": 30, "econnrefused": 1}, 100, 10)
	q := Query{Groups: []Group{{Alts: []Alt{
		{Terms: []string{"connection", "refused"}},
		{Terms: []string{"connect", "could", "not", "server"}},
		{Terms: []string{"econnrefused"}},
		{Terms: []string{"connectexception"}}, // no document holds it: it cannot match
	}}}}
	assert.Equal(t, []string{"connect", "econnrefused", "refused"}, q.Probe(v))
	assert.Equal(t, []string{"connect", "connectexception", "connection", "econnrefused"}, q.Probe(nil),
		"without a vocabulary: the longest word that is not a function word")
	assert.Equal(t, []string{}, Query{}.Probe(v))

	// Words in most documents are not probed, unless nothing else is left.
	q = Query{Groups: []Group{{Alts: []Alt{{Terms: []string{"during"}}}}, {Alts: []Alt{{Terms: []string{"refused"}}}}}}
	common := NewVocabulary(map[string]int{"during": 90, "error": 95, "refused": 2}, 100, 10)
	assert.Equal(t, []string{"refused"}, q.Probe(common))
	q = Query{Groups: []Group{{Alts: []Alt{{Terms: []string{"during"}}}}, {Alts: []Alt{{Terms: []string{"error"}}}}}}
	assert.Equal(t, []string{"during", "error"}, q.Probe(common))
}

func TestGroupStats(t *testing.T) {
	v := NewVocabulary(map[string]int{"refused": 4, "econnrefused": 1, "connection": 50}, 100, 10)
	q := Query{Groups: []Group{
		{Alts: []Alt{{Terms: []string{"refused"}}}},
		{Alts: []Alt{{Terms: []string{"econnrefused"}}, {Terms: []string{"connection", "refused"}}}},
		{Alts: []Alt{{Terms: []string{"nothing"}}}},
	}}
	df, idf := q.GroupStats(v)
	assert.Equal(t, []uint64{4, 4, 0}, df, "a group: its most held alternative, which holds its rarest term")
	assert.Greater(t, idf[2], idf[0], "what no document holds is the rarest")
	assert.InDelta(t, 3.1, idf[0], 0.05, "ln(1 + (100 - 4 + 0.5) / (4 + 0.5))")
	df, idf = q.GroupStats(nil)
	assert.Equal(t, []uint64{0, 0, 0}, df)
	assert.Equal(t, []float64{1, 1, 1}, idf)
}
