package logtemplate

import (
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinerConfig tunes a Miner. The zero value of a field takes its default
// (DefaultMinerConfig).
type MinerConfig struct {
	// Similarity is the least share of a template's tokens a line must
	// equal to join it; below it the line starts a template of its own.
	Similarity float64
	// MaxValues is how many distinct words a position of a template may
	// take before it becomes a placeholder. Until then each word keeps its
	// own template ("stored as values" and "stored as bytes" stay apart),
	// since words that distinguish events take few values and words that
	// are values take many; 1 makes every differing word a placeholder at
	// once (Drain).
	MaxValues int
	// Depth is how many leading tokens route a line to its candidates
	// (after its token count); tokens with a digit or a placeholder route
	// as a placeholder.
	Depth int
	// MaxChildren bounds the distinct tokens one routing node keeps; past it
	// further tokens share the placeholder branch.
	MaxChildren int
	// MaxTemplates bounds the templates held; the least recently matched
	// one is evicted to make room.
	MaxTemplates int
	// MaxCandidates bounds the templates one routing leaf holds (the work
	// of matching a line that hits no cached line is proportional to it);
	// the leaf's least recently matched template is evicted to make room.
	MaxCandidates int
	// CacheSize bounds the cache of masked lines already matched.
	CacheSize int
	// MaxLineBytes bounds a masked line: a longer one is cut at its last
	// space within the bound and ends in one placeholder for the rest, so a
	// template holds at most MaxLineBytes+4 bytes.
	MaxLineBytes int
}

// DefaultMinerConfig holds the settings chosen by leave-one-system-out over
// the public Loghub-2.0 samples (TestLoghubLeaveOneSystemOut).
func DefaultMinerConfig() MinerConfig {
	return MinerConfig{Similarity: 0.5, MaxValues: 3, Depth: 2, MaxChildren: 64, MaxTemplates: 10000, MaxCandidates: 128, CacheSize: 65536, MaxLineBytes: 1024}
}

func (c MinerConfig) withDefaults() MinerConfig {
	d := DefaultMinerConfig()
	if c.Similarity <= 0 {
		c.Similarity = d.Similarity
	}
	if c.MaxValues <= 0 {
		c.MaxValues = d.MaxValues
	}
	if c.Depth <= 0 {
		c.Depth = d.Depth
	}
	if c.MaxChildren <= 0 {
		c.MaxChildren = d.MaxChildren
	}
	if c.MaxTemplates <= 0 {
		c.MaxTemplates = d.MaxTemplates
	}
	if c.MaxCandidates <= 0 {
		c.MaxCandidates = d.MaxCandidates
	}
	if c.CacheSize <= 0 {
		c.CacheSize = d.CacheSize
	}
	if c.MaxLineBytes <= 0 {
		c.MaxLineBytes = d.MaxLineBytes
	}
	return c
}

// Match is the template a line was grouped under.
type Match struct {
	Template string
	Hash     uint64
	// Replaces lists the hashes this template had before it generalised (a
	// constant became a placeholder) or absorbed another template, when
	// this line is the first to carry the new hash: occurrences stored
	// under those hashes belong to Hash from now on.
	Replaces []uint64
}

// Miner groups log lines online into templates: each line is masked by
// Normalize, then matched against the templates seen so far that have its
// token count and leading tokens (a Drain-style parse tree). A line close
// enough to one joins it; a position where the lines of a template take more
// than MaxValues distinct words becomes a placeholder, and fewer distinct
// words each keep a template of their own. Otherwise the line starts a
// template. Masked lines already matched are cached (as LILAC's parsing
// cache does), so a repeated line costs one map look-up after masking. A
// Miner is safe for concurrent use and its memory is bounded by
// MinerConfig.
type Miner struct {
	cfg MinerConfig

	mu     sync.Mutex
	byLen  map[int]*node
	cache  map[string]cached
	lru    cluster // sentinel of the recency list: lru.next is the newest
	n      int
	tick   uint64
	evicts uint64
}

type node struct {
	children map[string]*node
	leaf     []*cluster
}

type cached struct {
	c        *cluster
	version  uint32
	template string
	hash     uint64
}

type cluster struct {
	// tokens are the first line's, with a placeholder where the template
	// varies; values are the other distinct words seen at each other
	// position (nil until there is one).
	tokens  []string
	values  [][]string
	version uint32 // counts the positions that became placeholders
	// given are the templates handed out for this cluster, bounded.
	given      []*given
	leaf       *node
	dead       bool
	used       uint64 // Miner.tick when last matched
	prev, next *cluster
}

// given is one template of a cluster: older are the hashes it had before
// positions became placeholders; pending says they are not yet handed out
// as Match.Replaces.
type given struct {
	template string
	hash     uint64
	older    []uint64
	pending  bool
}

// Bounds of what one cluster remembers: templates handed out, and old
// hashes per template.
const (
	maxGiven = 64
	maxOlder = 64
)

// NewMiner returns an empty Miner.
func NewMiner(cfg MinerConfig) *Miner {
	m := &Miner{cfg: cfg.withDefaults(), byLen: map[int]*node{}, cache: map[string]cached{}}
	m.lru.next, m.lru.prev = &m.lru, &m.lru
	return m
}

// Add groups one log body and returns its template.
func (m *Miner) Add(body string) Match {
	return m.add(Normalize(body).Template, false)
}

// Learn feeds a template stored earlier (by this process before a restart,
// or by another collector) to the miner, as if a line with that text had
// arrived. Hashes it replaces are handed out with the next line matched to
// the new template, so that they are re-pointed only once it is stored.
func (m *Miner) Learn(template string) Match {
	return m.add(template, true)
}

// Len is the number of clusters held.
func (m *Miner) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.n
}

// Evictions is the number of clusters evicted to stay within the bounds.
func (m *Miner) Evictions() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.evicts
}

// Templates returns the templates handed out by the clusters held, the
// most recently matched cluster first.
func (m *Miner) Templates() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for c := m.lru.next; c != &m.lru; c = c.next {
		for _, g := range c.given {
			out = append(out, g.template)
		}
	}
	return out
}

func (m *Miner) add(masked string, learn bool) Match {
	masked = cutLine(masked, m.cfg.MaxLineBytes)
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.cache[masked]; ok && !e.c.dead && e.c.version == e.version {
		m.touch(e.c)
		return Match{Template: e.template, Hash: e.hash}
	}
	tokens := strings.Split(masked, " ")
	if masked == "" {
		tokens = nil
	}
	leaf := m.route(tokens)
	c := m.best([]*node{leaf}, tokens)
	if c == nil {
		c = m.create(leaf, tokens)
	} else {
		m.touch(c)
		m.widen(c, tokens)
	}
	template := masked
	for i, t := range c.tokens {
		if t == Placeholder && tokens[i] != Placeholder {
			template = maskedJoin(c.tokens, tokens)
			break
		}
	}
	g := c.give(template)
	r := Match{Template: g.template, Hash: g.hash}
	if g.pending && !learn {
		r.Replaces = append([]uint64(nil), g.older...)
		g.pending = false
	}
	if len(m.cache) >= m.cfg.CacheSize {
		for k := range m.cache {
			delete(m.cache, k)
			break
		}
	}
	m.cache[masked] = cached{c: c, version: c.version, template: g.template, hash: g.hash}
	return r
}

// cutLine cuts a masked line longer than limit (+ the placeholder it may
// already end in, so that cutting twice changes nothing) at its last space
// within limit, or within limit at a rune start if it has none, and ends it
// in a placeholder.
func cutLine(s string, limit int) string {
	if len(s) <= limit+len(" "+Placeholder) {
		return s
	}
	i := strings.LastIndexByte(s[:limit+1], ' ')
	if i <= 0 {
		i = limit
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
	}
	return s[:i] + " " + Placeholder
}

// maskedJoin is tokens with a placeholder wherever mask has one.
func maskedJoin(mask, tokens []string) string {
	var b strings.Builder
	for i, t := range tokens {
		if i > 0 {
			b.WriteByte(' ')
		}
		if mask[i] == Placeholder {
			t = Placeholder
		}
		b.WriteString(t)
	}
	return b.String()
}

// give returns the cluster's entry for template, adding it if new.
func (c *cluster) give(template string) *given {
	for _, g := range c.given {
		if g.template == template {
			return g
		}
	}
	g := &given{template: template, hash: HashTemplate(template)}
	if len(c.given) >= maxGiven {
		copy(c.given, c.given[1:])
		c.given = c.given[:len(c.given)-1]
	}
	c.given = append(c.given, g)
	return g
}

// routeKey is the branch a leading token takes: tokens that carry a digit
// or a placeholder are likely values and share one branch.
func routeKey(tok string) string {
	if strings.Contains(tok, Placeholder) {
		return Placeholder
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] >= '0' && tok[i] <= '9' {
			return Placeholder
		}
	}
	return tok
}

func (m *Miner) route(tokens []string) *node {
	n := m.byLen[len(tokens)]
	if n == nil {
		n = &node{}
		m.byLen[len(tokens)] = n
	}
	for i := 0; i < m.cfg.Depth && i < len(tokens); i++ {
		k := routeKey(tokens[i])
		child := n.children[k]
		if child == nil {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			if len(n.children) >= m.cfg.MaxChildren {
				k = Placeholder
				child = n.children[k]
			}
			if child == nil {
				child = &node{}
				n.children[k] = child
			}
		}
		n = child
	}
	return n
}

// best is the cluster most similar to tokens, if similar enough: the share
// of positions where the cluster varies or has already seen the line's
// word, ties going to the cluster with fewer placeholders (the more
// specific one).
func (m *Miner) best(leaves []*node, tokens []string) *cluster {
	if len(tokens) == 0 {
		for _, l := range leaves {
			if len(l.leaf) > 0 {
				return l.leaf[0]
			}
		}
		return nil
	}
	var best *cluster
	bestSim, bestParams := -1, 0
	for _, leaf := range leaves {
		for _, c := range leaf.leaf {
			same, params := 0, 0
			for i, t := range c.tokens {
				switch {
				case t == Placeholder:
					params++
					same++
				case t == tokens[i] || slices.Contains(c.values[i], tokens[i]):
					same++
				}
			}
			if same > bestSim || (same == bestSim && params < bestParams) {
				best, bestSim, bestParams = c, same, params
			}
		}
	}
	if best == nil || float64(bestSim) < m.cfg.Similarity*float64(len(tokens)) {
		return nil
	}
	return best
}

func (m *Miner) create(leaf *node, tokens []string) *cluster {
	if len(leaf.leaf) >= m.cfg.MaxCandidates {
		oldest := leaf.leaf[0]
		for _, c := range leaf.leaf {
			if c.used < oldest.used {
				oldest = c
			}
		}
		m.evict(oldest)
	}
	if m.n >= m.cfg.MaxTemplates {
		m.evict(m.lru.prev)
	}
	c := &cluster{tokens: tokens, values: make([][]string, len(tokens)), leaf: leaf}
	leaf.leaf = append(leaf.leaf, c)
	m.n++
	m.touch(c)
	return c
}

// widen records the line's words in c; a position that passes MaxValues
// distinct words, or meets a placeholder, becomes a placeholder, and the
// templates handed out so far are re-pointed at their wider forms.
func (m *Miner) widen(c *cluster, tokens []string) {
	changed := false
	for i, t := range c.tokens {
		if t == Placeholder {
			continue
		}
		if t == tokens[i] || slices.Contains(c.values[i], tokens[i]) {
			continue
		}
		if 1+len(c.values[i]) < m.cfg.MaxValues && routeKey(tokens[i]) != Placeholder && routeKey(t) != Placeholder {
			c.values[i] = append(c.values[i], tokens[i])
			continue
		}
		if !changed {
			c.tokens = append([]string(nil), c.tokens...)
			changed = true
		}
		c.tokens[i] = Placeholder
		c.values[i] = nil
	}
	if !changed {
		return
	}
	c.version++
	old := c.given
	c.given = nil
	for _, g := range old {
		t := maskedJoin(c.tokens, strings.Split(g.template, " "))
		if t == g.template {
			c.given = append(c.given, g)
			continue
		}
		n := c.give(t)
		n.older = appendOlder(n.older, g.older...)
		n.older = appendOlder(n.older, g.hash)
		n.pending = true
	}
}

func appendOlder(older []uint64, hs ...uint64) []uint64 {
	for _, h := range hs {
		if !slices.Contains(older, h) {
			older = append(older, h)
		}
	}
	if len(older) > maxOlder {
		older = append(older[:0], older[len(older)-maxOlder:]...)
	}
	return older
}

func (m *Miner) touch(c *cluster) {
	m.tick++
	c.used = m.tick
	if c.prev != nil {
		c.prev.next, c.next.prev = c.next, c.prev
	}
	c.next, c.prev = m.lru.next, &m.lru
	m.lru.next.prev = c
	m.lru.next = c
}

func (m *Miner) evict(c *cluster) {
	if c == &m.lru {
		return
	}
	c.prev.next, c.next.prev = c.next, c.prev
	c.prev, c.next = nil, nil
	l := c.leaf.leaf
	for i, d := range l {
		if d == c {
			l[i] = l[len(l)-1]
			l[len(l)-1] = nil
			c.leaf.leaf = l[:len(l)-1]
			break
		}
	}
	c.dead = true
	m.n--
	m.evicts++
}
