package logtemplate

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMinerKeepsFewWordsApartAndWidensMany(t *testing.T) {
	m := NewMiner(MinerConfig{MaxValues: 3})
	var hashes []uint64
	for _, w := range []string{"alpha", "beta", "gamma"} {
		r := m.Add("job failed on " + w + " after 12 retries")
		assert.Equal(t, "job failed on "+w+" after <*> retries", r.Template)
		assert.Empty(t, r.Replaces)
		hashes = append(hashes, r.Hash)
	}
	// A fourth word: the position is a value, and every template handed
	// out for it is replaced by the wider one.
	r := m.Add("job failed on delta after 3 retries")
	assert.Equal(t, "job failed on <*> after <*> retries", r.Template)
	assert.Equal(t, HashTemplate(r.Template), r.Hash)
	assert.ElementsMatch(t, hashes, r.Replaces)
	// Handed out once: the next line of the template replaces nothing.
	again := m.Add("job failed on alpha after 5 retries")
	assert.Equal(t, r.Hash, again.Hash)
	assert.Empty(t, again.Replaces)
	assert.Equal(t, 1, m.Len())
}

func TestMinerPlaceholderWidensAtOnce(t *testing.T) {
	m := NewMiner(MinerConfig{})
	a := m.Add("cannot open file data.txt now")
	assert.Equal(t, "cannot open file data.txt now", a.Template)
	b := m.Learn("cannot open file <*> now")
	assert.Equal(t, "cannot open file <*> now", b.Template, "a template learned is matched like a line")
	assert.Empty(t, b.Replaces)
	c := m.Add("cannot open file data.txt now")
	assert.Equal(t, b.Hash, c.Hash, "a cached line follows its template")
	assert.Equal(t, []uint64{a.Hash}, c.Replaces)
	// A learned wider template hands its replacements to the next line.
	m2 := NewMiner(MinerConfig{})
	x := m2.Add("disk write failed on sda")
	l := m2.Learn("disk write failed on <*>")
	assert.Empty(t, l.Replaces, "a learned template replaces nothing until a line carries it")
	y := m2.Add("disk write failed on sdb")
	assert.Equal(t, "disk write failed on <*>", y.Template)
	assert.Equal(t, []uint64{x.Hash}, y.Replaces)
}

func TestMinerRoutesByLengthAndLeadingWords(t *testing.T) {
	m := NewMiner(MinerConfig{})
	a := m.Add("connection refused by upstream")
	b := m.Add("connection refused by upstream server")
	c := m.Add("request refused by upstream")
	assert.NotEqual(t, a.Hash, b.Hash, "different token counts never share a template")
	assert.NotEqual(t, a.Hash, c.Hash, "different first words never share a template")
	assert.Equal(t, 3, m.Len())
	assert.Equal(t, Match{Template: "", Hash: HashTemplate("")}, m.Add(""))
}

// A flood of unique lines (ids as whole messages, random bytes) stays
// within the bounds and evicts the least recently matched templates; a
// template in use survives it.
func TestMinerFloodStaysBounded(t *testing.T) {
	cfg := MinerConfig{MaxTemplates: 500, MaxCandidates: 32, CacheSize: 2000}
	m := NewMiner(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 40)
	keep := m.Add("payment declined for order 42: insufficient funds")
	for i := range 50000 {
		switch i % 3 {
		case 0:
			m.Add(fmt.Sprintf("%x", rng.Uint64()) + "z" + fmt.Sprintf("%x", rng.Uint64()))
		case 1:
			for j := range buf {
				buf[j] = byte(rng.UintN(256))
			}
			r := m.Add(string(buf))
			require.True(t, utf8.ValidString(r.Template))
		default:
			words := make([]byte, 0, 64)
			for range 1 + rng.IntN(8) {
				for range 1 + rng.IntN(6) {
					words = append(words, byte('a'+rng.IntN(26)))
				}
				words = append(words, ' ')
			}
			m.Add(string(words))
		}
		if i%100 == 0 {
			require.Equal(t, keep.Hash, m.Add("payment declined for order 7: insufficient funds").Hash)
		}
		require.LessOrEqual(t, m.Len(), cfg.MaxTemplates)
	}
	assert.Positive(t, m.Evictions())
	m.mu.Lock()
	defer m.mu.Unlock()
	assert.LessOrEqual(t, len(m.cache), cfg.CacheSize)
	var walk func(n *node)
	walk = func(n *node) {
		assert.LessOrEqual(t, len(n.leaf), cfg.MaxCandidates)
		assert.LessOrEqual(t, len(n.children), DefaultMinerConfig().MaxChildren+1)
		for _, c := range n.children {
			walk(c)
		}
	}
	for _, n := range m.byLen {
		walk(n)
	}
}

func TestMinerConcurrentUse(t *testing.T) {
	m := NewMiner(MinerConfig{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				r := m.Add(fmt.Sprintf("worker %d lost lease %d on shard s%d", g, i, i%7))
				if r.Hash != HashTemplate(r.Template) {
					t.Errorf("hash of %q", r.Template)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, m.Len())
}

// Two miners fed disjoint halves of one stream, each then learning the
// templates the other holds (as collectors sharing one store do), end with
// the same template set.
func TestMinersOnHalvesAgreeAfterLearning(t *testing.T) {
	for _, sys := range loadLoghub(t) {
		a, b := NewMiner(MinerConfig{}), NewMiner(MinerConfig{})
		for i, l := range sys.lines {
			if i%2 == 0 {
				a.Add(l.content)
			} else {
				b.Add(l.content)
			}
		}
		for round := 0; round < 3; round++ {
			ta, tb := a.Templates(), b.Templates()
			for _, x := range tb {
				a.Learn(x)
			}
			for _, x := range ta {
				b.Learn(x)
			}
		}
		ta, tb := a.Templates(), b.Templates()
		slices.Sort(ta)
		slices.Sort(tb)
		assert.Equal(t, ta, tb, sys.name)
	}
}

// A line longer than MaxLineBytes after masking is templated by its first
// MaxLineBytes bytes (cut at a space) and one placeholder for the rest:
// lines that differ only after the cut share a template, and learning the
// cut template again changes nothing.
func TestMinerCutsLongLines(t *testing.T) {
	m := NewMiner(MinerConfig{MaxLineBytes: 64})
	head := "upload failed for object with a rather long description of what went wrong"
	a := m.Add(head + " and then this tail")
	b := m.Add(head + " but another tail entirely")
	assert.Equal(t, a.Hash, b.Hash)
	assert.LessOrEqual(t, len(a.Template), 64+4)
	assert.True(t, strings.HasSuffix(a.Template, " <*>"), a.Template)
	assert.Equal(t, a.Hash, m.Learn(a.Template).Hash)
	assert.Equal(t, cutLine(a.Template, 64), a.Template)
	// No space to cut at: cut on a rune boundary.
	long := strings.Repeat("é", 100)
	c := cutLine(long, 63)
	assert.True(t, utf8.ValidString(c), c)
	assert.Equal(t, c, cutLine(c, 63))
}
