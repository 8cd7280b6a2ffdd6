package embed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// countingEmbedder records what reaches the provider.
type countingEmbedder struct {
	*Hash
	calls atomic.Int64
	texts atomic.Int64
	fail  atomic.Bool
	mu    sync.Mutex
	seen  [][]string
}

func (c *countingEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if c.fail.Load() {
		return nil, errors.New("provider down")
	}
	c.calls.Add(1)
	c.texts.Add(int64(len(texts)))
	c.mu.Lock()
	c.seen = append(c.seen, slices.Clone(texts))
	c.mu.Unlock()
	return c.Hash.Embed(ctx, texts)
}

func newCounting(dims int) *countingEmbedder { return &countingEmbedder{Hash: NewHash(dims)} }

func TestCachedOnlyMissesDeduplicated(t *testing.T) {
	p := newCounting(32)
	c := NewCached(p, 100)
	ctx := context.Background()

	got, err := c.EmbedKeyed(ctx, []uint64{1, 2, 1, 3, 2}, []string{"a", "b", "a", "c", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(p.seen[0], want) {
		t.Errorf("provider saw %v, want %v", p.seen[0], want)
	}
	for i, s := range []string{"a", "b", "a", "c", "b"} {
		if !slices.Equal(got[i], p.EmbedOne(s)) {
			t.Errorf("vector %d is not the vector of %q", i, s)
		}
	}
	if h, m := c.Stats(); h != 2 || m != 3 {
		t.Errorf("stats %d/%d, want 2 hits (in-batch duplicates) / 3 misses", h, m)
	}

	got2, err := c.EmbedKeyed(ctx, []uint64{3, 4, 1}, []string{"c", "d", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.seen) != 2 || !slices.Equal(p.seen[1], []string{"d"}) {
		t.Errorf("second call sent %v, want only [d]", p.seen[1:])
	}
	if &got2[0][0] != &got[3][0] {
		t.Errorf("a hit should return the cached slice, not a copy")
	}
	if h, m := c.Stats(); h != 4 || m != 4 {
		t.Errorf("stats %d/%d, want 4/4", h, m)
	}
	if c.Model() != p.Model() || c.Dims() != 32 {
		t.Errorf("Model/Dims not delegated")
	}
}

func TestCachedEviction(t *testing.T) {
	p := newCounting(8)
	c := NewCached(p, 2)
	ctx := context.Background()
	emb := func(k uint64) {
		if _, err := c.EmbedKeyed(ctx, []uint64{k}, []string{fmt.Sprint(k)}); err != nil {
			t.Fatal(err)
		}
	}
	emb(1)
	emb(2)
	emb(1) // 1 is now most recent, 2 least
	emb(3) // evicts 2
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
	before := p.texts.Load()
	emb(1)
	emb(3)
	if p.texts.Load() != before {
		t.Errorf("1 and 3 should be cached")
	}
	emb(2)
	if p.texts.Load() != before+1 {
		t.Errorf("2 should have been evicted")
	}
}

func TestCachedDisabled(t *testing.T) {
	p := newCounting(8)
	c := NewCached(p, 0)
	for range 3 {
		if _, err := c.EmbedKeyed(context.Background(), []uint64{7, 7}, []string{"x", "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if p.calls.Load() != 3 || p.texts.Load() != 3 || c.Len() != 0 {
		t.Errorf("calls %d texts %d len %d: size 0 caches nothing but still deduplicates a batch", p.calls.Load(), p.texts.Load(), c.Len())
	}
}

func TestCachedErrors(t *testing.T) {
	p := newCounting(8)
	c := NewCached(p, 10)
	if _, err := c.EmbedKeyed(context.Background(), []uint64{1}, []string{"a", "b"}); err == nil {
		t.Error("want error for mismatched keys and texts")
	}
	p.fail.Store(true)
	if _, err := c.EmbedKeyed(context.Background(), []uint64{1}, []string{"a"}); err == nil {
		t.Error("want provider error")
	}
	if c.Len() != 0 {
		t.Error("a failed call must not cache anything")
	}
	p.fail.Store(false)
	if _, err := c.EmbedKeyed(context.Background(), []uint64{1}, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	// A hit needs no provider, even a failing one.
	p.fail.Store(true)
	if _, err := c.EmbedKeyed(context.Background(), []uint64{1}, []string{"a"}); err != nil {
		t.Errorf("hit failed: %v", err)
	}
}

type shortEmbedder struct{ *Hash }

func (s shortEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return [][]float32{}, nil
}

func TestCachedProviderReturnsTooFew(t *testing.T) {
	c := NewCached(shortEmbedder{NewHash(4)}, 10)
	if _, err := c.Embed(context.Background(), []string{"a"}); err == nil {
		t.Error("want error when the provider returns fewer vectors than texts")
	}
}

func TestCachedEmbedUsesTextHash(t *testing.T) {
	p := newCounting(8)
	var e Embedder = NewCached(p, 10) // Cached must satisfy Embedder
	if _, err := e.Embed(context.Background(), []string{"a", "b", "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Embed(context.Background(), []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if p.texts.Load() != 2 {
		t.Errorf("provider saw %d texts, want 2", p.texts.Load())
	}
	// Pin FNV-1a 64 to its published test vectors: keys may be persisted.
	if FNV1a64("") != 0xcbf29ce484222325 || FNV1a64("a") != 0xaf63dc4c8601ec8c {
		t.Errorf("FNV1a64 is not FNV-1a 64")
	}
}

func TestCachedConcurrent(t *testing.T) {
	p := newCounting(16)
	c := NewCached(p, 50)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := uint64((i*7 + g) % 100)
				s := fmt.Sprint("t", k)
				v, err := c.EmbedKeyed(context.Background(), []uint64{k, k + 1}, []string{s, fmt.Sprint("t", k+1)})
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.Equal(v[0], p.EmbedOne(s)) {
					t.Errorf("wrong vector for %s", s)
					return
				}
			}
		}()
	}
	wg.Wait()
	if c.Len() > 50 {
		t.Errorf("len %d > size", c.Len())
	}
	h, m := c.Stats()
	if h+m != 8*200*2 {
		t.Errorf("hits+misses = %d, want %d", h+m, 8*200*2)
	}
}

func benchKeys(n int) ([]uint64, []string) {
	keys := make([]uint64, n)
	texts := make([]string, n)
	for i := range n {
		texts[i] = fmt.Sprintf("%s (variant %d)", benchTemplates[i%len(benchTemplates)], i)
		keys[i] = FNV1a64(texts[i])
	}
	return keys, texts
}

// BenchmarkCachedWarm is the steady state: every template seen before.
func BenchmarkCachedWarm(b *testing.B) {
	c := NewCached(NewHash(384), 10000)
	keys, texts := benchKeys(1024)
	ctx := context.Background()
	if _, err := c.EmbedKeyed(ctx, keys, texts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	it := 0
	for b.Loop() {
		i := (it * 64) % len(keys)
		it++
		if _, err := c.EmbedKeyed(ctx, keys[i:i+64], texts[i:i+64]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "texts/s")
}

// BenchmarkCachedCold is all misses: the cache's overhead on top of the hash
// provider, including eviction once it is full.
func BenchmarkCachedCold(b *testing.B) {
	c := NewCached(NewHash(384), 10000)
	ctx := context.Background()
	texts := make([]string, 64)
	keys := make([]uint64, 64)
	b.ReportAllocs()
	var next uint64
	for b.Loop() {
		for j := range keys {
			next++
			keys[j] = next
			texts[j] = benchTemplates[next%uint64(len(benchTemplates))]
		}
		if _, err := c.EmbedKeyed(ctx, keys, texts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "texts/s")
}
