package logtemplate

import (
	"fmt"
	"math/rand/v2"
	"runtime"
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
	// Every later line of the template carries them too (whoever stores a
	// line can store the re-pointing with it); Aliases lists them once.
	again := m.Add("job failed on alpha after 5 retries")
	assert.Equal(t, r.Hash, again.Hash)
	assert.ElementsMatch(t, hashes, again.Replaces)
	as := m.Aliases()
	require.Len(t, as, 1)
	assert.Equal(t, r.Hash, as[0].Canonical)
	assert.ElementsMatch(t, hashes, as[0].Old)
	assert.Empty(t, m.Aliases(), "listed once")
	assert.Equal(t, 1, m.Len())
}

func TestMinerPlaceholderWidensAtOnce(t *testing.T) {
	m := NewMiner(MinerConfig{})
	a := m.Add("cannot open file data.txt now")
	assert.Equal(t, "cannot open file data.txt now", a.Template)
	b := m.Learn("cannot open file <*> now")
	assert.Equal(t, "cannot open file <*> now", b.Template, "a template learned is matched like a line")
	assert.Equal(t, []uint64{a.Hash}, b.Replaces)
	c := m.Add("cannot open file data.txt now")
	assert.Equal(t, b.Hash, c.Hash, "a cached line follows its template")
	assert.Equal(t, []uint64{a.Hash}, c.Replaces)
	// A learned wider template re-points the older one: listed by Aliases
	// (a sync writes them at once) and carried by the next lines.
	m2 := NewMiner(MinerConfig{})
	x := m2.Add("disk write failed on sda")
	m2.Learn("disk write failed on <*>")
	assert.Equal(t, []Alias{{Canonical: HashTemplate("disk write failed on <*>"), Old: []uint64{x.Hash}}}, m2.Aliases())
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

// isPlaceholders says whether a template has no word but placeholders.
func isPlaceholders(t string) bool {
	for _, w := range strings.Fields(t) {
		if w != Placeholder {
			return false
		}
	}
	return true
}

// Distinct messages never collapse into a template of placeholders alone,
// which every line of its length would then join: a line joins a template
// only on a word they share.
func TestMinerDoesNotCollapseDistinctMessages(t *testing.T) {
	m := NewMiner(MinerConfig{})
	// A value then one word that differs every time: the numbers are
	// masked, so the lines share nothing but a placeholder.
	words := []string{"apples", "oranges", "pears", "plums", "figs", "limes", "kiwis", "dates"}
	seen := map[uint64]bool{}
	for i, w := range words {
		r := m.Add(fmt.Sprintf("%d %s", 10+i, w))
		assert.Equal(t, "<*> "+w, r.Template)
		seen[r.Hash] = true
	}
	assert.Len(t, seen, len(words))
	// Messages of the same length with no word in common.
	msgs := []string{"disk full", "cache miss", "queue stalled", "lease lost", "socket closed", "token expired",
		"quota exceeded", "checksum mismatch", "shard moved", "leader changed"}
	got := map[string]bool{}
	for pass := 0; pass < 3; pass++ {
		for _, s := range msgs {
			r := m.Add(s)
			assert.Equal(t, s, r.Template, "a message like no other keeps its words")
			got[r.Template] = true
		}
	}
	assert.Len(t, got, len(msgs))
	// Three words, each line sharing one word with the line before: a
	// chain that Drain's similarity alone would fold into "<*> <*> <*>".
	chain := []string{"alpha beta gamma", "alpha delta epsilon", "zeta delta eta", "zeta theta iota", "kappa theta lambda", "kappa mu nu"}
	for _, s := range chain {
		r := m.Add(s)
		assert.False(t, isPlaceholders(r.Template), "%q became %q", s, r.Template)
	}
	for _, tpl := range m.Templates() {
		assert.False(t, isPlaceholders(tpl) && strings.Contains(tpl, " "), "a template of placeholders alone: %q", tpl)
	}
	// A line of placeholders alone still has its template.
	assert.Equal(t, Placeholder, m.Add("550e8400-e29b-41d4-a716-446655440000").Template)
}

// A flood of lines that never repeat (ids as whole messages, random words,
// random bytes), mixed into a stream of recurring events, adds at most the
// budget of new templates, keeps the miner's memory bounded, and leaves
// the recurring events their own templates.
func TestMinerFloodOfUniqueLinesIsBounded(t *testing.T) {
	cfg := DefaultMinerConfig()
	m := NewMiner(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	letters := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	word := func() string {
		b := make([]byte, 3+rng.IntN(8))
		for i := range b {
			b[i] = letters[rng.IntN(len(letters))]
		}
		return string(b)
	}
	unique := func(i int) string {
		switch i % 8 {
		case 0, 1, 2: // an id as the whole message
			return fmt.Sprintf("%016x%08x", rng.Uint64(), i)
		case 3, 4: // words never seen before
			ws := make([]string, 1+rng.IntN(12))
			for k := range ws {
				ws[k] = word()
			}
			return strings.Join(ws, " ")
		case 5, 6: // random bytes
			b := make([]byte, 1+rng.IntN(512))
			for k := range b {
				b[k] = byte(rng.IntN(256))
			}
			return string(b)
		default: // word salad past MaxLineBytes
			var sb strings.Builder
			for sb.Len() < 2*cfg.MaxLineBytes {
				sb.WriteString(word())
				sb.WriteByte(' ')
			}
			return sb.String()
		}
	}
	// Recurring events, a few values each.
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	event := func(i int) string {
		switch i % 4 {
		case 0:
			return fmt.Sprintf("user %s logged in from 10.0.%d.7", names[i%len(names)], i%256)
		case 1:
			return fmt.Sprintf("failed to flush segment %d of %s", i, names[i%len(names)])
		case 2:
			return fmt.Sprintf("lease on shard %s lost after %d ms", names[i%len(names)], i)
		default:
			return fmt.Sprintf("connection to %s reset by peer", names[i%len(names)])
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	const flood = 200000
	templates := map[uint64]bool{}
	eventTemplates := map[uint64]bool{}
	recurring := 0
	for i := 0; i < flood; i++ {
		templates[m.Add(unique(i)).Hash] = true
		if i%10 == 0 { // a recurring event every ten flood lines
			r := m.Add(event(i / 10))
			eventTemplates[r.Hash] = true
			templates[r.Hash] = true
			recurring++
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := m.Stats()
	grown := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("%d unique lines and %d recurring: %d templates handed out, %d held (%d on probation), %d lines overflowed, %d evictions, heap grew %.1f MiB",
		flood, recurring, len(templates), st.Templates, st.Probation, st.Overflow, st.Evictions, float64(grown)/(1<<20))
	// The budget: NewTemplates at first, one more per RefillEvery matched
	// lines, plus the overflow template and the event templates.
	limit := cfg.NewTemplates + (flood+recurring)/cfg.RefillEvery + 1 + len(eventTemplates)
	assert.LessOrEqual(t, len(templates), limit)
	assert.Less(t, len(templates), flood/20, "a flood of unique lines must not give each its template")
	assert.LessOrEqual(t, st.Templates, cfg.MaxTemplates)
	assert.LessOrEqual(t, st.Probation, cfg.MaxProbation)
	assert.Greater(t, st.Overflow, uint64(flood/2), "lines like no other wait on probation")
	assert.Less(t, grown, int64(64<<20), "the miner's memory is bounded")
	// Each event's templates: its first few values apart, then the wider
	// one (MaxValues).
	assert.LessOrEqual(t, len(eventTemplates), 4*cfg.MaxValues, "the recurring events keep their templates")
	for _, tpl := range m.Templates() {
		assert.LessOrEqual(t, len(tpl), cfg.MaxLineBytes+len(" "+Placeholder))
	}
	// A line on probation that repeats becomes a template of its own.
	r1 := m.Add("quasar ingest stalled behind compaction")
	r2 := m.Add("quasar ingest stalled behind compaction")
	assert.Equal(t, OverflowHash, r1.Hash, "the budget is spent: the first line waits")
	assert.Equal(t, "quasar ingest stalled behind compaction", r2.Template, "a second line like it is a template")
	runtime.KeepAlive(m)
}
