package tracesummary

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func sp(id, parent, svc, name string, startMs, durMs float64, isErr bool) Span {
	start := t0.Add(time.Duration(startMs * float64(time.Millisecond)))
	return Span{SpanID: id, ParentID: parent, Service: svc, Name: name, Start: start,
		End: start.Add(time.Duration(durMs * float64(time.Millisecond))), Error: isErr}
}

// checkout builds the sample shop's checkout trace; slowInventory multiplies
// the inventory query's time and retries repeats the payment call.
func checkout(slowInventory float64, retries int, fail bool) []Span {
	spans := []Span{
		sp("a", "", "frontend", "POST /checkout", 0, 40+30*slowInventory+float64(retries)*10, false),
		sp("b", "a", "checkout", "POST /checkout", 1, 38+30*slowInventory+float64(retries)*10, fail),
	}
	at := 2.0
	for i := 0; i < retries; i++ {
		spans = append(spans, sp(fmt.Sprintf("r%d", i), "b", "payment", "POST /charge", at, 9, true))
		at += 10
	}
	spans = append(spans,
		sp("c", "b", "payment", "POST /charge", at, 30+30*slowInventory, fail),
		sp("d", "c", "inventory", "SELECT stock", at+1, 3*slowInventory*10, fail),
	)
	// Shuffle: exporters deliver spans in any order.
	rand.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	return spans
}

func TestSummarizeOrdersTheSequenceByCalls(t *testing.T) {
	s := Summarize("t1", checkout(1, 0, false))
	assert.Equal(t, "frontend POST /checkout -> checkout POST /checkout -> payment POST /charge -> inventory SELECT stock", s.Sequence)
	assert.Equal(t, "frontend POST /checkout", s.RootOperation)
	assert.Equal(t, "frontend", s.RootService)
	assert.Equal(t, 4, s.SpanCount)
	assert.Equal(t, 0, s.ErrorCount)
	assert.Equal(t, 70*time.Millisecond, s.Duration)
	assert.Equal(t, 1, s.MaxRepeat)

	r := Summarize("t2", checkout(1, 4, false))
	assert.Equal(t, 5, r.MaxRepeat, "four failed tries and the fifth that worked")
	assert.Equal(t, 4, r.ErrorCount)
}

func TestSummarizeToleratesBrokenTraces(t *testing.T) {
	assert.Equal(t, Summary{TraceID: "x"}, Summarize("x", nil))
	// A parent that never arrived, and a span claiming itself as parent.
	s := Summarize("y", []Span{
		sp("b", "missing", "checkout", "POST /checkout", 1, 5, false),
		sp("c", "c", "payment", "POST /charge", 2, 1, false),
	})
	assert.Equal(t, "checkout POST /checkout -> payment POST /charge", s.Sequence)
}

func TestEmbedTextMarksWhereTimeAndErrorsAre(t *testing.T) {
	normal := Summarize("n", checkout(1, 0, false)).EmbedText
	slow := Summarize("s", checkout(10, 0, false)).EmbedText
	failed := Summarize("f", checkout(1, 0, true)).EmbedText
	assert.NotContains(t, normal, "error_step")
	assert.Contains(t, slow, "inventory SELECT stock slow")
	assert.Contains(t, failed, "error_step")
}

// Traces with an extra retry loop or a 10x slower span rank at the top by
// anomaly score among ordinary traffic.
func TestModelRanksRetryLoopsAndSlowSpansFirst(t *testing.T) {
	emb := embed.NewHash(384)
	m := NewModel(ModelConfig{})
	rng := rand.New(rand.NewPCG(1, 2))
	type scored struct {
		id    string
		score Score
	}
	var all []scored
	for i := range 300 {
		id := fmt.Sprintf("normal-%d", i)
		spans := checkout(0.8+0.4*rng.Float64(), 0, false)
		switch {
		case i > 100 && i%50 == 0:
			id = fmt.Sprintf("slow-%d", i)
			spans = checkout(10, 0, false)
		case i > 100 && i%50 == 25:
			id = fmt.Sprintf("retry-%d", i)
			spans = checkout(1, 5, false)
		}
		s := Summarize(id, spans)
		all = append(all, scored{id, m.Observe(s, emb.EmbedOne(s.EmbedText))})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].score.Value > all[j].score.Value })
	var top []string
	for _, s := range all[:7] {
		top = append(top, s.id)
		assert.True(t, s.score.IsAnomaly, "%s should be anomalous: %+v", s.id, s.score)
	}
	for _, s := range all[:7] {
		assert.NotContains(t, s.id, "normal", "top-7 by score: %v", top)
	}
	types := map[string]string{}
	for _, s := range all {
		types[s.id] = s.score.Type
	}
	assert.Equal(t, AnomalyLatency, types["slow-150"])
	assert.Equal(t, AnomalyRetryStorm, types["retry-175"])
	falsePositives := 0
	for _, s := range all {
		if s.score.IsAnomaly && s.id[:6] == "normal" {
			falsePositives++
		}
	}
	assert.LessOrEqual(t, falsePositives, 3, "ordinary jitter must not be flagged")
}

func TestModelFlagsErrorsBeforeWarmUp(t *testing.T) {
	m := NewModel(ModelConfig{MinSamples: 1000})
	emb := embed.NewHash(64)
	s := Summarize("e", checkout(1, 0, true))
	sc := m.Observe(s, emb.EmbedOne(s.EmbedText))
	require.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyError, sc.Type)
	ok := Summarize("o", checkout(1, 0, false))
	assert.False(t, m.Observe(ok, emb.EmbedOne(ok.EmbedText)).IsAnomaly)
}

func TestModelBoundsOperations(t *testing.T) {
	m := NewModel(ModelConfig{MaxOperations: 10})
	emb := embed.NewHash(16)
	for i := range 100 {
		s := Summarize("x", []Span{sp("a", "", "svc", fmt.Sprintf("GET /item/%d", i), 0, 1, false)})
		m.Observe(s, emb.EmbedOne(s.EmbedText))
	}
	assert.Len(t, m.ops, 10)
}
