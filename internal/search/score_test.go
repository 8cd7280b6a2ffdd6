package search

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A document scores for a group with its best alternative only, more for
// holding it in its template than in its example body, more again when it
// is the error class it leads with; shorter templates score higher.
func TestScorer(t *testing.T) {
	q := Query{Groups: []Group{
		{Kind: GroupConcept, Label: "connection_refused", Weight: 2, Alts: []Alt{
			{Terms: []string{"connection", "refused"}, Weight: 1},
			{Terms: []string{"econnrefused"}, Weight: 1},
		}},
		{Kind: GroupWord, Label: "payment", Weight: 1, Alts: []Alt{{Terms: []string{"payment"}, Weight: 1}}},
	}}
	s := q.Scorer([]float64{2, 1}, 4)
	assert.ElementsMatch(t, []string{"connection", "refused", "econnrefused", "payment"}, s.QueryTerms())

	both := Doc{Terms: []string{"connection", "refused", "econnrefused"}, TemplateTerms: []string{"connection", "refused", "econnrefused"}, TemplateLen: 4}
	one := Doc{Terms: []string{"econnrefused"}, TemplateTerms: []string{"econnrefused"}, TemplateLen: 4}
	scBoth, mBoth := s.Score(both)
	scOne, mOne := s.Score(one)
	assert.Equal(t, []int{0, 1}, mBoth)
	assert.Equal(t, []int{1}, mOne)
	assert.InDelta(t, scOne, scBoth, 1e-12, "two spellings of one concept count once")

	body := Doc{Terms: []string{"econnrefused"}, TemplateLen: 4}
	typed := Doc{Terms: []string{"econnrefused"}, TemplateTerms: []string{"econnrefused"}, TypeTerms: []string{"econnrefused"}, TemplateLen: 4}
	scBody, _ := s.Score(body)
	scTyped, _ := s.Score(typed)
	assert.InDelta(t, scOne*0.5, scBody, 1e-12, "the example body counts half")
	assert.InDelta(t, scOne*1.3, scTyped, 1e-12, "the error class adds 0.3")

	long := one
	long.TemplateLen = 40
	scLong, _ := s.Score(long)
	assert.Less(t, scLong, scOne, "a long template scores below a short one")

	withPayment := Doc{Terms: []string{"econnrefused", "payment"}, TemplateTerms: []string{"econnrefused", "payment"}, TemplateLen: 4}
	scPay, _ := s.Score(withPayment)
	// BM25's norm at the mean length is 2.2 / (1 + 1.2) = 1.
	assert.InDelta(t, 2*2+1*1, scPay, 1e-6)

	ranked := s.Rank([]uint64{9, 3, 5, 7}, []Doc{one, withPayment, {Terms: []string{"nothing"}, TemplateLen: 1}, one}, 3)
	require.Len(t, ranked, 3, "a document holding nothing is not ranked")
	assert.Equal(t, []uint64{3, 7, 9}, []uint64{ranked[0].Key, ranked[1].Key, ranked[2].Key}, "best first, ties by key")
}
