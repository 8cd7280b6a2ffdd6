package searcheval

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every label names a document of the corpus, and the set has what the
// issue asks for: at least 60 queries of every kind.
func TestQueriesNameCorpusDocuments(t *testing.T) {
	qs, err := Queries()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(qs), 60)
	shop, err := ShopDocs()
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, d := range shop {
		ids[d.ID] = true
	}
	lh, err := LoghubDocs(LoghubDir("../.."))
	loghub := err == nil
	if !loghub {
		t.Logf("Loghub labels not checked: %v", err)
	}
	for _, d := range lh {
		ids[d.ID] = true
	}
	kinds := map[string]int{}
	for _, q := range qs {
		kinds[q.Kind]++
		require.NotEmpty(t, q.Relevant, q.ID)
		for _, r := range q.Relevant {
			if !loghub && len(r) > 7 && r[:7] == "loghub:" {
				continue
			}
			assert.True(t, ids[r], "query %s: no document %s", q.ID, r)
		}
	}
	for _, k := range Kinds {
		assert.Positive(t, kinds[k], "no query of kind %s", k)
	}
}

func TestScore(t *testing.T) {
	assert.Equal(t, Scores{P1: 1, P5: 1, MRR: 1}, Score([]bool{true, true, false}, 2))
	assert.Equal(t, Scores{P1: 0, P5: 0.4, MRR: 0.5}, Score([]bool{false, true, false, false, true, true}, 9))
	assert.Equal(t, Scores{}, Score([]bool{false, false}, 1))
	assert.Equal(t, Scores{P5: 0, MRR: 1.0 / 6}, Score([]bool{false, false, false, false, false, true}, 1))
}
