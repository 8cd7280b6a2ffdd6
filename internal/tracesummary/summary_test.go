package tracesummary

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

func TestSummarizePicksTheEntrySpan(t *testing.T) {
	spans := []Span{
		// A background span of the service, parentless, started first.
		{SpanID: "bg", Service: "frontend", Name: "refresh cache", Kind: KindInternal, Start: t0, End: t0.Add(time.Millisecond)},
		// The request: its parent is the client's span, never exported.
		{SpanID: "a", ParentID: "client", Service: "frontend", Name: "GET /", Kind: KindServer, Start: t0.Add(time.Millisecond), End: t0.Add(5 * time.Millisecond)},
		{SpanID: "b", ParentID: "a", Service: "inventory", Name: "GET /products", Kind: KindServer, Start: t0.Add(2 * time.Millisecond), End: t0.Add(4 * time.Millisecond)},
	}
	s := Summarize("t", spans)
	assert.Equal(t, "frontend GET /", s.RootOperation)
	assert.Equal(t, 1, s.RootIndex)
	// Without kinds, the earliest root as before.
	for i := range spans {
		spans[i].Kind = KindUnspecified
	}
	assert.Equal(t, "frontend refresh cache", Summarize("t", spans).RootOperation)
}

func TestShapeIgnoresConcurrencyOrderAndLoopCounts(t *testing.T) {
	items := func(n int, order []int) []Span {
		spans := []Span{sp("a", "", "inventory", "POST /commit", 0, 50, false)}
		for _, i := range order[:n] {
			spans = append(spans, sp(fmt.Sprintf("u%d", i), "a", "inventory", "UPDATE stock", float64(1+i), 1, false))
		}
		spans = append(spans, sp("c", "a", "inventory", "COMMIT", 0.5, 1, false))
		return spans
	}
	base := Summarize("1", items(3, []int{0, 1, 2}))
	// Concurrent calls start in any order: the same path.
	assert.Equal(t, base.Shape, Summarize("2", items(3, []int{2, 0, 1})).Shape)
	// 2 or 3 iterations of a loop: the same path (powers of two).
	assert.Equal(t, base.Shape, Summarize("3", items(2, []int{0, 1})).Shape)
	// 1 or 5 are other paths.
	assert.NotEqual(t, base.Shape, Summarize("4", items(1, []int{0})).Shape)
	assert.NotEqual(t, base.Shape, Summarize("5", items(5, []int{0, 1, 2, 3, 4})).Shape)
	// An error changes the path.
	failed := items(3, []int{0, 1, 2})
	failed[1].Error = true
	fs := Summarize("6", failed)
	assert.NotEqual(t, base.Shape, fs.Shape)
	assert.Zero(t, base.ErrorSignature)
	assert.NotZero(t, fs.ErrorSignature)
	// The same operation failing another way is another error signature.
	failed[1].ErrorType = "DeadlockError"
	assert.NotEqual(t, fs.ErrorSignature, Summarize("7", failed).ErrorSignature)
	// Where the error is: a different operation failing.
	other := items(3, []int{0, 1, 2})
	other[len(other)-1].Error = true
	assert.NotEqual(t, fs.ErrorSignature, Summarize("8", other).ErrorSignature)
}

func TestRecentMergesPartsOfATrace(t *testing.T) {
	r := NewRecent(time.Minute, 10)
	first := checkout(1, 0, false)[:2]
	all, prev, payload := r.Add("t", first, t0)
	assert.Len(t, all, 2)
	assert.Zero(t, prev)
	assert.Nil(t, payload)
	r.Keep("t", "root of t")
	rest := []Span{sp("z", "b", "payment", "POST /refund", 3, 1, false)}
	all, prev, payload = r.Add("t", rest, t0.Add(3*time.Second))
	assert.Len(t, all, 3)
	assert.Equal(t, 2, prev)
	assert.Equal(t, "root of t", payload)
	assert.Equal(t, "z", all[2].SpanID)

	// Forgotten after the window.
	all, prev, _ = r.Add("t", rest, t0.Add(2*time.Minute))
	assert.Len(t, all, 1)
	assert.Zero(t, prev)

	// Bounded: the least recently seen trace goes first.
	for i := range 10 {
		r.Add(fmt.Sprint(i), first, t0.Add(2*time.Minute))
	}
	assert.LessOrEqual(t, r.Len(), 5)
	_, prev, _ = r.Add("9", rest, t0.Add(2*time.Minute))
	assert.Equal(t, 2, prev)

	// Disabled: parts pass through.
	var off *Recent
	all, prev, _ = off.Add("t", rest, t0)
	assert.Equal(t, rest, all)
	assert.Zero(t, prev)
	assert.False(t, NewRecent(0, 10).Enabled())
}
