package embed

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// Cached is an LRU of vectors in front of an Embedder, keyed by a caller's
// uint64 — in the collector, the log template hash — because the same few
// templates make up most error records and each needs embedding only once.
//
// Vectors handed out are the cached slices themselves, shared by every caller
// that asks for the same key: they must not be modified.
//
// Cached is safe for concurrent use. Two callers that miss the same key at
// the same time both ask the provider; that is rare enough after warm-up not
// to justify making one wait for the other.
type Cached struct {
	e    Embedder
	size int

	mu     sync.Mutex
	ll     *list.List // front = most recently used; values are *cacheEntry
	items  map[uint64]*list.Element
	hits   uint64
	misses uint64
}

type cacheEntry struct {
	key uint64
	vec []float32
}

// NewCached wraps e with an LRU of size entries. A size of 0 (or less)
// disables caching but keeps the in-batch deduplication of EmbedKeyed.
func NewCached(e Embedder, size int) *Cached {
	return &Cached{e: e, size: max(size, 0), ll: list.New(), items: make(map[uint64]*list.Element)}
}

// Model is the wrapped provider's model.
func (c *Cached) Model() string { return c.e.Model() }

// Dims is the wrapped provider's dimension.
func (c *Cached) Dims() int { return c.e.Dims() }

// Stats returns per-text counters since creation: a hit is a text served
// without the provider (from the cache, or by a duplicate key earlier in the
// same batch); a miss is a text sent to the provider.
func (c *Cached) Stats() (hits, misses uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits, c.misses
}

// Len is the number of cached vectors.
func (c *Cached) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// Embed uses the FNV-1a 64 hash of each text as its key, so that Cached can
// stand in wherever an Embedder is expected.
func (c *Cached) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	keys := make([]uint64, len(texts))
	for i, t := range texts {
		keys[i] = FNV1a64(t)
	}
	return c.EmbedKeyed(ctx, keys, texts)
}

// EmbedKeyed returns one vector per text. keys[i] identifies texts[i]: equal
// keys must mean equal texts, since only the first text of a key is ever
// embedded. Only keys not in the cache go to the provider, each once per
// call. On a provider error nothing is cached and no vectors are returned.
func (c *Cached) EmbedKeyed(ctx context.Context, keys []uint64, texts []string) ([][]float32, error) {
	if len(keys) != len(texts) {
		return nil, fmt.Errorf("embed: %d keys for %d texts", len(keys), len(texts))
	}
	out := make([][]float32, len(texts))
	var missKeys []uint64
	var missTexts []string
	var missAt map[uint64]int // key -> index in missKeys
	var pending [][2]int      // (position in out, index in missKeys)

	c.mu.Lock()
	for i, k := range keys {
		if el, ok := c.items[k]; ok {
			c.ll.MoveToFront(el)
			out[i] = el.Value.(*cacheEntry).vec
			continue
		}
		if missAt == nil {
			missAt = make(map[uint64]int)
		}
		j, ok := missAt[k]
		if !ok {
			j = len(missKeys)
			missAt[k] = j
			missKeys = append(missKeys, k)
			missTexts = append(missTexts, texts[i])
		}
		pending = append(pending, [2]int{i, j})
	}
	c.hits += uint64(len(keys) - len(missKeys))
	c.misses += uint64(len(missKeys))
	c.mu.Unlock()

	if len(missKeys) == 0 {
		return out, nil
	}
	vecs, err := c.e.Embed(ctx, missTexts)
	if err != nil {
		return nil, err
	}
	if len(vecs) != len(missTexts) {
		return nil, fmt.Errorf("embed: provider %s returned %d vectors for %d texts", c.e.Model(), len(vecs), len(missTexts))
	}
	for _, p := range pending {
		out[p[0]] = vecs[p[1]]
	}
	if c.size > 0 {
		c.mu.Lock()
		for j, k := range missKeys {
			c.add(k, vecs[j])
		}
		c.mu.Unlock()
	}
	return out, nil
}

// add inserts or refreshes k; c.mu must be held.
func (c *Cached) add(k uint64, v []float32) {
	if el, ok := c.items[k]; ok {
		// Another caller filled it meanwhile; keep one copy.
		el.Value.(*cacheEntry).vec = v
		c.ll.MoveToFront(el)
		return
	}
	c.items[k] = c.ll.PushFront(&cacheEntry{key: k, vec: v})
	for c.ll.Len() > c.size {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
}
