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
	// NewTemplates is the budget of new templates: a line that matches no
	// template spends one, and every RefillEvery lines that match a
	// template earn one back, up to NewTemplates. With the budget spent, a
	// line that matches nothing is put on probation: it gets
	// OverflowTemplate, and only a later line like it (one that shows it
	// repeats) makes it a template of its own. A flood of lines that never
	// repeat (ids as whole messages, random bytes) therefore adds at most
	// NewTemplates templates however long it lasts.
	NewTemplates int
	// RefillEvery is how many matched lines earn back one new template.
	RefillEvery int
	// MaxProbation bounds the lines held on probation; the oldest is
	// dropped to make room.
	MaxProbation int
}

// DefaultMinerConfig holds the settings chosen by leave-one-system-out over
// the public Loghub-2.0 samples (TestLoghubLeaveOneSystemOut).
func DefaultMinerConfig() MinerConfig {
	return MinerConfig{Similarity: 0.5, MaxValues: 3, Depth: 2, MaxChildren: 64, MaxTemplates: 10000, MaxCandidates: 128, CacheSize: 65536, MaxLineBytes: 1024,
		NewTemplates: 1000, RefillEvery: 100, MaxProbation: 1024}
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
	if c.NewTemplates <= 0 {
		c.NewTemplates = d.NewTemplates
	}
	if c.RefillEvery <= 0 {
		c.RefillEvery = d.RefillEvery
	}
	if c.MaxProbation <= 0 {
		c.MaxProbation = d.MaxProbation
	}
	return c
}

// OverflowTemplate is the template of the lines on probation: lines that
// matched no template while the budget of new templates was spent
// (MinerConfig.NewTemplates). Learn ignores it.
const OverflowTemplate = "<*> (a line like no other, not templated: the budget of new templates is spent)"

// OverflowHash is HashTemplate(OverflowTemplate).
var OverflowHash = HashTemplate(OverflowTemplate)

// Match is the template a line was grouped under.
type Match struct {
	Template string
	Hash     uint64
	// Replaces lists the hashes this template had before it generalised (a
	// constant became a placeholder) or absorbed another template:
	// occurrences stored under those hashes belong to Hash from now on.
	// Every line of the template carries them, so that whoever stores the
	// line can store the re-pointing with it (the embedding processor
	// attaches them to one record of the template per batch). The slice is
	// shared: read it, do not change it.
	Replaces []uint64
}

// Alias re-points the hashes Old at the template Canonical.
type Alias struct {
	Canonical uint64
	Old       []uint64
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

	// credit is the budget of new templates in units of one matched line
	// (a new template costs RefillEvery).
	credit int
	// probation holds the clusters on probation, oldest at probHead once
	// full (a ring).
	probation []*cluster
	probHead  int
	overflow  uint64 // lines given OverflowTemplate
	// dirty are the templates that took older hashes since the last
	// Aliases, bounded by MaxTemplates.
	dirty []*given
}

type node struct {
	children map[string]*node
	leaf     []*cluster
}

type cached struct {
	c       *cluster
	version uint32
	g       *given
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
	probation  bool   // one line so far, taken while the budget was spent
	used       uint64 // Miner.tick when last matched
	prev, next *cluster
}

// given is one template of a cluster: older are the hashes it had before
// positions became placeholders (replaced whole when they change, never
// changed in place: Match.Replaces shares them); pending says they are
// not yet handed out by Aliases.
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
	m.credit = m.cfg.NewTemplates * m.cfg.RefillEvery
	return m
}

// Add groups one log body and returns its template.
func (m *Miner) Add(body string) Match {
	return m.add(Normalize(body).Template, false)
}

// Learn feeds a template stored earlier (by this process before a restart,
// or by another collector) to the miner, as if a line with that text had
// arrived, but without spending the budget of new templates. Hashes the
// templates it widens replace ride with their next lines and are listed by
// Aliases.
func (m *Miner) Learn(template string) Match {
	if template == OverflowTemplate {
		return Match{Template: OverflowTemplate, Hash: OverflowHash}
	}
	return m.add(template, true)
}

// Aliases returns the re-pointings found since the last call: every
// template that took older hashes, with all of them (an older hash
// re-pointed before is listed again at its newest template).
func (m *Miner) Aliases() []Alias {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alias
	for _, g := range m.dirty {
		if g.pending {
			g.pending = false
			out = append(out, Alias{Canonical: g.hash, Old: g.older})
		}
	}
	m.dirty = nil
	return out
}

// MinerStats counts what a Miner holds and what its bounds turned away.
type MinerStats struct {
	Templates int    // clusters held, on probation or not
	Probation int    // clusters on probation
	Evictions uint64 // clusters evicted to stay within the bounds
	Overflow  uint64 // lines given OverflowTemplate
}

// Stats returns the miner's counts.
func (m *Miner) Stats() MinerStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := MinerStats{Templates: m.n, Evictions: m.evicts, Overflow: m.overflow}
	for _, c := range m.probation {
		if c != nil && c.probation && !c.dead {
			s.Probation++
		}
	}
	return s
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
		m.earn(learn)
		return Match{Template: e.g.template, Hash: e.g.hash, Replaces: e.g.older}
	}
	tokens := strings.Split(masked, " ")
	if masked == "" {
		tokens = nil
	}
	leaf := m.route(tokens)
	c := m.best([]*node{leaf}, tokens)
	switch {
	case c == nil && !learn && m.credit < m.cfg.RefillEvery:
		// Over budget: the line waits on probation for one like it.
		c = m.create(leaf, tokens)
		c.probation = true
		m.onProbation(c)
		m.overflow++
		return Match{Template: OverflowTemplate, Hash: OverflowHash}
	case c == nil:
		if !learn {
			m.credit -= m.cfg.RefillEvery
		}
		c = m.create(leaf, tokens)
	default:
		m.touch(c)
		if c.probation {
			c.probation = false // a second line: it repeats
		} else {
			m.earn(learn)
		}
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
	if len(m.cache) >= m.cfg.CacheSize {
		for k := range m.cache {
			delete(m.cache, k)
			break
		}
	}
	m.cache[masked] = cached{c: c, version: c.version, g: g}
	return Match{Template: g.template, Hash: g.hash, Replaces: g.older}
}

// earn adds a matched line's share of a new template to the budget.
func (m *Miner) earn(learn bool) {
	if !learn && m.credit < m.cfg.NewTemplates*m.cfg.RefillEvery {
		m.credit++
	}
}

// onProbation puts c in the ring of clusters on probation, evicting the
// oldest still on probation when the ring is full.
func (m *Miner) onProbation(c *cluster) {
	if len(m.probation) < m.cfg.MaxProbation {
		m.probation = append(m.probation, c)
		return
	}
	if old := m.probation[m.probHead]; old.probation && !old.dead {
		m.evict(old)
	}
	m.probation[m.probHead] = c
	m.probHead = (m.probHead + 1) % len(m.probation)
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
	constant := slices.ContainsFunc(tokens, func(t string) bool { return t != Placeholder })
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
			// A line joins a template only on a word they share, so that
			// no template becomes placeholders alone (which every line of
			// its length would then join); a line of placeholders alone
			// joins only a template of placeholders alone.
			if constant && same == params || !constant && params < len(c.tokens) {
				continue
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
		// The least recently matched, a line on probation first.
		oldest := leaf.leaf[0]
		for _, c := range leaf.leaf {
			if c.probation != oldest.probation {
				if c.probation {
					oldest = c
				}
				continue
			}
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
		n.older = appendOlder(n.older, append(slices.Clip(g.older), g.hash)...)
		if !n.pending {
			n.pending = true
			if len(m.dirty) >= m.cfg.MaxTemplates {
				m.dirty[0].pending = false // it still rides with its lines
				m.dirty = m.dirty[1:]
			}
			m.dirty = append(m.dirty, n)
		}
	}
}

// appendOlder returns older with hs added, in a new slice: the old one may
// be in a Match.Replaces being read.
func appendOlder(older []uint64, hs ...uint64) []uint64 {
	out := slices.Clone(older)
	for _, h := range hs {
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	if len(out) > maxOlder {
		out = out[len(out)-maxOlder:]
	}
	return out
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
