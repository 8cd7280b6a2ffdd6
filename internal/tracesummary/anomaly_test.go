package tracesummary

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

// at moves a trace to start d after t0: the model's clock is the traces'.
func at(spans []Span, d time.Duration) []Span {
	out := make([]Span, len(spans))
	for i, s := range spans {
		s.Start, s.End = s.Start.Add(d), s.End.Add(d)
		out[i] = s
	}
	return out
}

// declined is the checkout trace of a declined card: the payment call fails
// with a 402 and checkout answers it; nothing is slow.
func declined() []Span {
	return []Span{
		sp("a", "", "frontend", "POST /checkout", 0, 20, false),
		sp("b", "a", "checkout", "POST /checkout", 1, 18, false),
		{SpanID: "c", ParentID: "b", Service: "payment", Name: "POST /charge", Start: t0.Add(2 * time.Millisecond),
			End: t0.Add(10 * time.Millisecond), Error: true, ErrorType: "CardDeclinedError"},
	}
}

// inventoryDown is the checkout trace when inventory is unreachable.
func inventoryDown() []Span {
	return []Span{
		sp("a", "", "frontend", "POST /checkout", 0, 20, true),
		sp("b", "a", "checkout", "POST /checkout", 1, 18, true),
		sp("c", "b", "payment", "POST /charge", 2, 15, true),
		{SpanID: "d", ParentID: "c", Service: "payment", Name: "POST /inventory/reserve", Start: t0.Add(3 * time.Millisecond),
			End: t0.Add(4 * time.Millisecond), Error: true, ErrorType: "UpstreamConnectionError"},
	}
}

type feed struct {
	t   *testing.T
	m   *Model
	emb *embed.Hash
	now time.Duration
}

func newFeed(t *testing.T, cfg ModelConfig) *feed {
	return &feed{t: t, m: NewModel(cfg), emb: embed.NewHash(64)}
}

// next observes a trace every step.
func (f *feed) next(step time.Duration, id string, spans []Span) Score {
	f.now += step
	s := Summarize(id, at(spans, f.now))
	return f.m.Observe(s, f.emb.EmbedOne(s.EmbedText))
}

// Errors that are part of how the system behaves — a declined card in 5 %
// of checkouts — are not anomalies once the model has seen them recur; a new
// kind of failure is, at once; and a known failure whose rate jumps is again.
func TestModelLearnsWhichErrorsAreExpected(t *testing.T) {
	f := newFeed(t, ModelConfig{})
	rng := rand.New(rand.NewPCG(3, 4))
	var declinedFlags, late int
	for i := range 2000 { // 10 minutes at ~3/s
		if rng.IntN(20) == 0 {
			sc := f.next(300*time.Millisecond, "d", declined())
			if i > 1000 {
				late++
				if sc.IsAnomaly {
					declinedFlags++
				}
			}
			continue
		}
		sc := f.next(300*time.Millisecond, "ok", checkout(0.8+0.4*rng.Float64(), 0, false))
		if i > 200 {
			require.False(t, sc.IsAnomaly, "trace %d: ordinary checkout flagged: %+v", i, sc)
		}
	}
	require.Greater(t, late, 30)
	assert.LessOrEqual(t, declinedFlags, 1, "a steady 5%% of declined cards is expected (%d of %d flagged)", declinedFlags, late)

	// A failure never seen before is an anomaly from its first trace.
	sc := f.next(300*time.Millisecond, "down", inventoryDown())
	assert.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyError, sc.Type)

	// Declined cards jump from 5 % to half of the checkouts: a spike.
	spiked := 0
	for i := range 60 {
		if i%2 == 0 {
			if f.next(300*time.Millisecond, "d", declined()).IsAnomaly {
				spiked++
			}
		} else {
			f.next(300*time.Millisecond, "ok", checkout(1, 0, false))
		}
	}
	assert.GreaterOrEqual(t, spiked, 20, "a tenfold rise of a known error path must be flagged")
}

func TestModelErrorTypeSeparatesFailuresOfOneOperation(t *testing.T) {
	f := newFeed(t, ModelConfig{})
	for i := range 600 {
		if i%10 == 0 {
			f.next(300*time.Millisecond, "d", declined())
		} else {
			f.next(300*time.Millisecond, "ok", checkout(1, 0, false))
		}
	}
	// The same call failing differently (a timeout rather than a declined
	// card) is a new error signature.
	timeout := declined()
	timeout[2].ErrorType = "PaymentTimeoutError"
	sc := f.next(300*time.Millisecond, "t", timeout)
	assert.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyError, sc.Type)
	assert.Zero(t, sc.ErrorShare)
}

func TestModelFlagsErrorsBeforeWarmUp(t *testing.T) {
	m := NewModel(ModelConfig{MinSamples: 1000})
	emb := embed.NewHash(64)
	s := Summarize("e", checkout(1, 0, true))
	sc := m.Observe(s, emb.EmbedOne(s.EmbedText))
	require.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyError, sc.Type)
	ok := Summarize("o", at(checkout(1, 0, false), time.Second))
	assert.False(t, m.Observe(ok, emb.EmbedOne(ok.EmbedText)).IsAnomaly)
}

// Ordinary jitter is not flagged; a trace far slower than anything recent
// is; and the slow trace is judged against its own path, so a path that
// always takes long (a timeout) is not slow.
func TestModelFlagsSlowOutliers(t *testing.T) {
	f := newFeed(t, ModelConfig{})
	rng := rand.New(rand.NewPCG(5, 6))
	fp := 0
	for i := range 1500 {
		sc := f.next(200*time.Millisecond, fmt.Sprint(i), checkout(math.Exp(0.3*rng.NormFloat64()), 0, false))
		if sc.IsAnomaly {
			fp++
		}
	}
	assert.LessOrEqual(t, fp, 5, "log-normal jitter flagged %d times in 1500", fp)
	sc := f.next(200*time.Millisecond, "slow", checkout(15, 0, false))
	assert.True(t, sc.IsAnomaly, "%+v", sc)
	assert.Equal(t, AnomalyLatency, sc.Type)
	assert.Greater(t, sc.LatencyZ, 3.0)
}

func TestModelRetryStorms(t *testing.T) {
	f := newFeed(t, ModelConfig{})
	for range 100 {
		f.next(time.Second, "ok", checkout(1, 0, false))
	}
	// Four failed tries and a fifth that worked.
	sc := f.next(time.Second, "retry", checkout(1, 4, false))
	assert.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyRetryStorm, sc.Type)

	// The client sent the same request five times in one trace: five entry
	// spans whose parent (the client's) was never exported.
	var resent []Span
	for i := range 5 {
		for _, s := range checkout(1, 0, false) {
			s.SpanID += fmt.Sprint(i)
			if s.ParentID == "" {
				s.ParentID = "client" + fmt.Sprint(i)
				s.Kind = KindServer
			} else {
				s.ParentID += fmt.Sprint(i)
			}
			resent = append(resent, at([]Span{s}, time.Duration(i)*100*time.Millisecond)...)
		}
	}
	s := Summarize("resent", resent)
	assert.Equal(t, 5, s.RetryRun)
	sc = f.next(time.Second, "resent", resent)
	assert.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyRetryStorm, sc.Type)

	// A loop over items that all succeed is no retry storm.
	loop := checkout(1, 0, false)
	for i := range 4 {
		loop = append(loop, sp(fmt.Sprintf("u%d", i), "d", "inventory", "UPDATE stock", 5+float64(i), 1, false))
	}
	s = Summarize("loop", loop)
	assert.Equal(t, 4, s.MaxRepeat)
	assert.Zero(t, s.RetryRun)
}

func TestModelBoundsOperationsAndPaths(t *testing.T) {
	m := NewModel(ModelConfig{MaxOperations: 10, MaxPaths: 50})
	emb := embed.NewHash(16)
	for i := range 100 {
		s := Summarize("x", []Span{sp("a", "", "svc", fmt.Sprintf("GET /item/%d", i), 0, 1, false)})
		m.Observe(s, emb.EmbedOne(s.EmbedText))
	}
	assert.Len(t, m.ops, 10)
	for i := range 200 {
		s := Summarize("y", []Span{sp("a", "", "svc", "GET /item/0", 0, 1, false), sp("b", "a", "db", fmt.Sprintf("SELECT %d", i), 0, 1, i%2 == 0)})
		m.Observe(s, emb.EmbedOne(s.EmbedText))
	}
	assert.LessOrEqual(t, m.nPath, 50)
	assert.Equal(t, m.lru.Len(), m.nPath)
	n := 0
	for _, op := range m.ops {
		n += len(op.paths)
	}
	assert.Equal(t, m.nPath, n)
}

// A model that has seen many ids in span names (every path new) does not
// call each new one unusual.
func TestModelIgnoresNoveltyOfOperationsWhosePathsNeverRecur(t *testing.T) {
	f := newFeed(t, ModelConfig{})
	flagged := 0
	for i := range 300 {
		spans := []Span{sp("a", "", "api", "GET /report", 0, 5, false), sp("b", "a", "db", fmt.Sprintf("SELECT report_%d", i), 1, 3, false)}
		if f.next(time.Second, "r", spans).IsAnomaly && i > 50 {
			flagged++
		}
	}
	assert.Zero(t, flagged)
}

func TestPoissonTail(t *testing.T) {
	for _, c := range []struct{ k, lambda, want float64 }{
		{1, 0.5, 1 - math.Exp(-0.5)},
		{3, 0.2, 1 - math.Exp(-0.2)*(1+0.2+0.02)},
		{10, 3, 0.0011025}, // P(X >= 10 | 3)
		{2, 10, 1 - 11*math.Exp(-10)},
		{30, 30, 0.524283},
	} {
		got := poissonTail(c.k, c.lambda)
		assert.InDelta(t, c.want, got, 1e-3*math.Max(c.want, 1e-3), "P(X>=%v | %v)", c.k, c.lambda)
	}
	assert.Zero(t, poissonTail(1, 0))
	// Monotone in k.
	prev := 1.0
	for k := 1.0; k < 40; k += 0.5 {
		p := poissonTail(k, 7)
		assert.LessOrEqual(t, p, prev+1e-12)
		prev = p
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h histogram
	xs := make([]float64, 0, 1000)
	rng := rand.New(rand.NewPCG(7, 8))
	for range 1000 {
		x := 2 + 0.5*rng.NormFloat64()
		xs = append(xs, x)
		h.add(x, 1, float64(time.Hour))
	}
	sort.Float64s(xs)
	for _, q := range []float64{0.25, 0.5, 0.75, 0.99} {
		assert.InDelta(t, xs[int(q*999)], h.quantile(q), histWidth, "q%.2f", q)
	}
	med, sigma := h.robust()
	assert.InDelta(t, 2, med, 0.1)
	assert.InDelta(t, 0.5, sigma, 0.1)
}

// BenchmarkSummarizeObserve is the per-trace cost of the traces path without
// the embedder: a 10-span checkout summarised and judged.
func BenchmarkSummarizeObserve(b *testing.B) {
	m := NewModel(ModelConfig{})
	rng := rand.New(rand.NewPCG(9, 10))
	traces := make([][]Span, 64)
	for i := range traces {
		traces[i] = at(checkout(0.8+0.4*rng.Float64(), i%3, i%17 == 0), time.Duration(i)*time.Millisecond)
		for k := range 5 {
			traces[i] = append(traces[i], sp(fmt.Sprintf("x%d", k), "d", "inventory", "UPDATE stock", 5, 1, false))
		}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s := Summarize("t", traces[i%len(traces)])
		m.Observe(s, nil)
	}
}
