package tracesummary

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shopper feeds whole sessions through a model: each request is a trace of
// the frontend's entry span and one call behind it, pause after the end of
// the session's previous request.
type shopper struct {
	t   *testing.T
	m   *Model
	rng *rand.Rand
	now time.Time
	n   int
	// revised: trace id -> the type its verdict was raised to later.
	revised map[string]string
}

func newShopper(t *testing.T, cfg ModelConfig) *shopper {
	return &shopper{t: t, m: NewModel(cfg), rng: rand.New(rand.NewPCG(7, 8)), now: t0, revised: map[string]string{}}
}

func (s *shopper) id(n int) string { return fmt.Sprintf("%032x", n) }

type visit struct {
	op    string
	pause time.Duration
}

func (s *shopper) think() time.Duration {
	return 50*time.Millisecond + time.Duration(s.rng.Int64N(int64(350*time.Millisecond)))
}

func (s *shopper) request(session, op string, pause time.Duration) Score {
	_, sc := s.answered(session, op, pause, 0)
	return sc
}

// requestSpans is the trace of one request: the frontend's entry span and
// one call behind it.
func requestSpans(session, op string, start, end time.Time) []Span {
	method, route, _ := cut(op)
	return []Span{
		{SpanID: "a", Service: "frontend", Name: op, Kind: KindServer, Start: start, End: end, Session: session},
		{SpanID: "b", ParentID: "a", Service: "inventory", Name: method + " /internal" + route, Kind: KindServer,
			Start: start.Add(time.Millisecond), End: end.Add(-time.Millisecond)},
	}
}

func cut(op string) (method, route string, ok bool) {
	for i := range op {
		if op[i] == ' ' {
			return op[:i], op[i:], true
		}
	}
	return op, "", false
}

func (s *shopper) session(id string, visits ...visit) []Score {
	out := make([]Score, len(visits))
	for i, v := range visits {
		out[i] = s.request(id, v.op, v.pause)
	}
	return out
}

// ordinary is a session as people shop: pages one after another with a
// pause to read, except that the home page loads the product list at once;
// some land on a product page straight from a search engine.
func (s *shopper) ordinary(id string) []Score {
	var vs []visit
	switch s.rng.IntN(5) {
	case 0, 1:
		vs = append(vs, visit{"GET /", 0}, visit{"GET /products", 0})
	case 2, 3:
		vs = append(vs, visit{"GET /products", 0})
	}
	for range 1 + s.rng.IntN(3) {
		vs = append(vs, visit{"GET /products/{id}", s.think()})
		if s.rng.IntN(2) == 0 {
			vs = append(vs, visit{"POST /cart/add", s.think()})
		}
	}
	if s.rng.IntN(2) == 0 {
		vs = append(vs, visit{"POST /cart/add", s.think()}, visit{"POST /checkout", s.think()}, visit{"POST /payment", s.think()})
	}
	return s.session(id, vs...)
}

func flagged(scores []Score) []bool {
	out := make([]bool, len(scores))
	for i, sc := range scores {
		out[i] = sc.IsAnomaly
	}
	return out
}

// A session that walks product pages back to back, with none of the pauses
// every other session makes, is flagged from the request where sessions
// rarely get (two pauses skipped in a row) to its end; ordinary sessions,
// which skip one pause on the home page, never are.
func TestSessionRequestsBackToBack(t *testing.T) {
	s := newShopper(t, ModelConfig{})
	for i := range 400 {
		for j, sc := range s.ordinary(fmt.Sprintf("s-%d", i)) {
			if i >= 300 {
				require.False(t, sc.IsAnomaly, "session %d request %d: %+v", i, j, sc)
			}
		}
	}
	var scraper []visit
	for range 20 {
		scraper = append(scraper, visit{"GET /products/{id}", time.Millisecond})
	}
	got := s.session("scraper", scraper...)
	assert.Equal(t, []bool{false, false}, flagged(got[:2]), "one pause skipped is what ordinary sessions do too")
	assert.Equal(t, AnomalyRequestRate, s.revised[s.id(s.n-19)], "its first requests, once the third showed the session abnormal")
	assert.Equal(t, AnomalyRequestRate, s.revised[s.id(s.n-18)])
	for i, sc := range got[2:] {
		assert.True(t, sc.IsAnomaly, "request %d", i+2)
		assert.Equal(t, AnomalyRequestRate, sc.Type)
	}
	// The same pages with pauses: nothing.
	for _, sc := range s.session("reader", scraper[0], visit{"GET /products/{id}", 200 * time.Millisecond},
		visit{"GET /products/{id}", 300 * time.Millisecond}, visit{"GET /products/{id}", 150 * time.Millisecond}) {
		assert.False(t, sc.IsAnomaly)
	}
}

// A session that pays before it has checked out anything does, in a shop
// where payments follow checkouts, what sessions rarely do. The payment is
// judged once whatever came before it has surely arrived — here, when the
// session's next request comes — and its verdict raised then; the rest of
// the session is flagged as it comes. When many sessions start to do so, it
// is how the system is used, and no longer flagged.
func TestSessionOrder(t *testing.T) {
	s := newShopper(t, ModelConfig{})
	for i := range 400 {
		s.ordinary(fmt.Sprintf("s-%d", i))
	}
	require.Empty(t, s.revised, "ordinary sessions are in order")
	pay := s.request("payer", "POST /payment", 0)
	payID := s.id(s.n)
	assert.False(t, pay.IsAnomaly, "what came before it may still be on its way")
	for i, v := range []visit{{"GET /products", s.think()}, {"GET /products/{id}", s.think()}, {"POST /cart/add", s.think()}} {
		sc := s.request("payer", v.op, v.pause)
		assert.True(t, sc.IsAnomaly, "request %d", i+1)
		assert.Equal(t, AnomalyUnusualSequence, sc.Type, "request %d", i+1)
	}
	assert.Equal(t, AnomalyUnusualSequence, s.revised[payID], "the payment, once its session went on")

	// A checkout without a cart add before it, as the session's last
	// request: judged once SessionSettle has passed.
	s.session("no-cart", visit{"GET /products", 0})
	checkout := s.request("no-cart", "POST /checkout", s.think())
	checkoutID := s.id(s.n)
	assert.False(t, checkout.IsAnomaly)
	for i := range 20 {
		s.ordinary(fmt.Sprintf("u-%d", i))
	}
	assert.Equal(t, AnomalyUnusualSequence, s.revised[checkoutID])

	// Sessions without an id are judged as traces only.
	assert.False(t, s.request("", "POST /payment", time.Second).IsAnomaly)

	// A third of the sessions now pay first (a one-click flow launched):
	// after a while that is no news.
	late := 0
	for i := range 1500 {
		if i%3 == 0 {
			sc := s.session(fmt.Sprintf("oneclick-%d", i), visit{"POST /payment", 0}, visit{"GET /products", s.think()})
			if i >= 900 && (sc[0].IsAnomaly || sc[1].IsAnomaly || s.revised[s.id(s.n-1)] != "") {
				late++
			}
			continue
		}
		s.ordinary(fmt.Sprintf("t-%d", i))
	}
	assert.Zero(t, late, "paying first became common")
}

// Traces are released as their spans arrive, not in the order they
// started: a checkout released before the cart add that preceded it is not
// out of order.
func TestSessionOrderOutOfArrival(t *testing.T) {
	s := newShopper(t, ModelConfig{})
	for i := range 400 {
		s.ordinary(fmt.Sprintf("s-%d", i))
	}
	s.session("late", visit{"GET /products", 0}, visit{"GET /products/{id}", s.think()})
	addStart := s.now.Add(s.think())
	addEnd := addStart.Add(10 * time.Millisecond)
	add := Summarize("add", requestSpans("late", "POST /cart/add", addStart, addEnd))
	s.now = addEnd
	checkout := s.request("late", "POST /checkout", s.think())
	assert.False(t, checkout.IsAnomaly)
	addScore := s.m.Observe(add, nil)
	assert.False(t, addScore.IsAnomaly, "%+v", addScore)
	for _, sc := range s.session("late", visit{"POST /payment", s.think()}) {
		assert.False(t, sc.IsAnomaly)
	}
	for i := range 20 {
		s.ordinary(fmt.Sprintf("u-%d", i))
	}
	assert.Empty(t, s.revised)
}

// A trace released in parts is judged within its session once: its later
// part gets the verdict of the first, and the session's counts do not
// change.
func TestSessionTraceInParts(t *testing.T) {
	s := newShopper(t, ModelConfig{})
	for i := range 300 {
		s.ordinary(fmt.Sprintf("s-%d", i))
	}
	s.request("payer", "POST /payment", 0)
	first := s.request("payer", "GET /products", s.think())
	require.True(t, first.IsAnomaly)
	reach := s.m.sess.reach
	order := s.m.sess.order["frontend GET /products"].n.l
	start := s.now.Add(-10 * time.Millisecond)
	again := Summarize(s.id(s.n), requestSpans("payer", "GET /products", start, s.now))
	sc := s.m.Observe(again, nil)
	assert.True(t, sc.IsAnomaly)
	assert.Equal(t, AnomalyUnusualSequence, sc.Type)
	assert.Empty(t, sc.Revised)
	assert.Equal(t, reach, s.m.sess.reach)
	assert.InDelta(t, order, s.m.sess.order["frontend GET /products"].n.l, 1e-9)
}

func TestSessionMemoryIsBounded(t *testing.T) {
	s := newShopper(t, ModelConfig{MaxSessions: 50})
	for i := range 500 {
		s.ordinary(fmt.Sprintf("s-%d", i))
		require.LessOrEqual(t, len(s.m.sess.byID), 50)
		require.Equal(t, len(s.m.sess.byID), s.m.sess.lru.Len())
	}
	// Off: no session is followed.
	off := newShopper(t, ModelConfig{MaxSessions: -1})
	off.ordinary("s")
	assert.Empty(t, off.m.sess.byID)
}

// answered sends one request whose entry span the service answered with
// status (0: no status recorded).
func (s *shopper) answered(session, op string, pause time.Duration, status int) (id string, sc Score) {
	s.n++
	start := s.now.Add(pause)
	end := start.Add(10 * time.Millisecond)
	s.now = end
	spans := requestSpans(session, op, start, end)
	spans[0].Status = status
	id = s.id(s.n)
	sc = s.m.Observe(Summarize(id, spans), nil)
	for _, r := range sc.Revised {
		s.revised[r.TraceID] = r.Type
	}
	return id, sc
}

// A request the service refused for its form (malformed, invalid, too
// large) did nothing: a client sending garbage to checkout and payment has
// not paid before shopping. The same calls answered are paying first.
func TestSessionOrderIgnoresRequestsRefusedForTheirForm(t *testing.T) {
	for _, status := range []int{400, 413, 422} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			s := newShopper(t, ModelConfig{})
			for i := range 400 {
				s.ordinary(fmt.Sprintf("s-%d", i))
			}
			var scores []Score
			for _, op := range []string{"POST /checkout", "POST /payment"} {
				_, sc := s.answered("garbage", op, s.think(), status)
				scores = append(scores, sc)
			}
			scores = append(scores, s.session("garbage", visit{"GET /products", s.think()}, visit{"GET /products/{id}", s.think()}, visit{"POST /cart/add", s.think()})...)
			for i := range 20 {
				s.ordinary(fmt.Sprintf("u-%d", i))
			}
			for i, sc := range scores {
				assert.False(t, sc.IsAnomaly, "request %d: %s", i+1, sc.Type)
			}
			assert.Empty(t, s.revised, "nothing revised")

			// The same calls answered: paying before shopping.
			s.session("payer", visit{"POST /payment", 0}, visit{"GET /products", s.think()}, visit{"GET /products/{id}", s.think()}, visit{"POST /cart/add", s.think()})
			assert.NotEmpty(t, s.revised)
		})
	}
}

// Out of the usual order, a request the service served must be twice as
// rare to count as one it could not serve for what it named: with one
// session in 28 adding to its cart straight from the product list (3.6 %,
// between SessionRare/2 and SessionRare), such an add answered 200 is a
// shortcut, answered 404 (no such product) a client acting on state it
// never saw.
func TestSessionOrderWeighsWhetherTheServiceCouldServe(t *testing.T) {
	s := newShopper(t, ModelConfig{})
	shortcut := func(id string, status int) string {
		s.session(id, visit{"GET /products", 0})
		tid, _ := s.answered(id, "POST /cart/add", s.think(), status)
		return tid
	}
	for i := range 560 {
		if i%28 == 27 {
			shortcut(fmt.Sprintf("q-%d", i), 200)
			continue
		}
		s.ordinary(fmt.Sprintf("s-%d", i))
	}
	served := shortcut("served", 200)
	unserved := shortcut("unserved", 404)
	for i := range 20 {
		s.ordinary(fmt.Sprintf("u-%d", i))
	}
	assert.NotContains(t, s.revised, served, "a served shortcut")
	assert.Equal(t, AnomalyUnusualSequence, s.revised[unserved], "an add to cart of a product never seen, refused")
}
