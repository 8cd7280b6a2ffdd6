package rca

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// chain builds one trace: each element is a span whose parent is the
// previous one.
func chain(trace string, at time.Time, spans ...Span) []Span {
	out := make([]Span, len(spans))
	for i, s := range spans {
		s.TraceID = trace
		s.SpanID = fmt.Sprintf("%s-%d", trace, i)
		if i > 0 {
			s.ParentID = out[i-1].SpanID
		}
		if s.Start.IsZero() {
			s.Start = at.Add(time.Duration(i) * time.Millisecond)
		}
		out[i] = s
	}
	return out
}

func input() Input {
	return Input{Start: t0, End: t0.Add(30 * time.Minute), BaseStart: t0.Add(-30 * time.Minute)}
}

func TestDeepestFailingSpanIsBlamed(t *testing.T) {
	in := input()
	for i := range 10 {
		in.FailingSpans = append(in.FailingSpans, chain(fmt.Sprintf("t%02d", i), t0.Add(time.Duration(i)*time.Minute),
			Span{Service: "checkout", Name: "POST /checkout", Kind: "Server", Error: true, StatusMessage: "payment failed"},
			Span{Service: "checkout", Name: "POST /pay", Kind: "Client", Error: true},
			Span{Service: "payment", Name: "POST /pay", Kind: "Server", Error: true, StatusMessage: "reserve failed"},
			Span{Service: "payment", Name: "POST /reserve", Kind: "Client", Error: true},
			Span{Service: "inventory", Name: "POST /reserve", Kind: "Server", Error: true, StatusMessage: "InventoryDBError: timed out acquiring connection from pool after 2000ms"},
		)...)
	}
	in.FailingTotal = 10
	got := Analyze(in)
	require.NotEmpty(t, got)
	top := got[0]
	assert.Equal(t, "inventory", top.Service)
	assert.Equal(t, "POST /reserve", top.Operation)
	assert.Equal(t, KindDBPoolExhaustion, top.Kind)
	assert.Equal(t, 10, top.Evidence.DeepestInTraces)
	assert.InDelta(t, 1, top.Evidence.DeepestShare, 1e-9)
	assert.Equal(t, []string{"inventory POST /reserve", "payment POST /pay", "checkout POST /checkout"}, top.Evidence.Propagation[0].Hops)
	require.NotNil(t, top.Evidence.StartedAt)
	assert.WithinDuration(t, t0, *top.Evidence.StartedAt, time.Second)
	assert.Len(t, got, 1, "the callers are symptoms, not candidates")
}

func TestFailedCallBlamesTheSlowCallee(t *testing.T) {
	in := input()
	for i := range 5 {
		in.FailingSpans = append(in.FailingSpans, chain(fmt.Sprintf("t%d", i), t0,
			Span{Service: "payment", Name: "POST /pay", Kind: "Server", Error: true},
			Span{Service: "payment", Name: "POST /reserve", Kind: "Client", Error: true, StatusMessage: "context deadline exceeded", Duration: 3 * time.Second},
			Span{Service: "inventory", Name: "POST /reserve", Kind: "Server", Duration: 4 * time.Second},
		)...)
	}
	got := Analyze(in)
	require.NotEmpty(t, got)
	assert.Equal(t, "inventory", got[0].Service)
	assert.Equal(t, KindDependencyTimeout, got[0].Kind)
	assert.Equal(t, []string{"inventory POST /reserve (ok)", "payment POST /pay"}, got[0].Evidence.Propagation[0].Hops)
}

func TestUnansweredCallBlamesThePeer(t *testing.T) {
	in := input()
	in.FailingSpans = chain("t1", t0,
		Span{Service: "frontend", Name: "GET /recs", Kind: "Server", Error: true},
		Span{Service: "frontend", Name: "GET /recommendations", Kind: "Client", Error: true, Peer: "recommendations", StatusMessage: "dial tcp 127.0.0.1:8085: connect: connection refused"},
	)
	got := Analyze(in)
	require.NotEmpty(t, got)
	assert.Equal(t, "recommendations", got[0].Service)
	assert.Equal(t, KindDependencyUnavailable, got[0].Kind)
}

// An uninstrumented dependency never has spans: calls to it that ran into
// their deadline blame its slowness, not its absence.
func TestUnansweredSlowCallIsATimeout(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Kind
	}{
		{"PaymentTimeoutError: payment gateway authorize timed out after 2004ms", KindDependencyTimeout},
		{"Post \"http://127.0.0.1:9/v1/authorizations\": context deadline exceeded", KindDependencyTimeout},
		{"PaymentGatewayError: gateway authorize: dial tcp 127.0.0.1:9: connect: connection refused", KindDependencyUnavailable},
	} {
		in := input()
		for i := range 6 {
			in.FailingSpans = append(in.FailingSpans, chain(fmt.Sprintf("t%d", i), t0.Add(time.Duration(i)*time.Second),
				Span{Service: "payment", Name: "POST /payment", Kind: "Server", Error: true},
				Span{Service: "payment", Name: "POST /v1/authorizations", Kind: "Client", Error: true, Peer: "payment-gateway", StatusMessage: tc.msg, Duration: 2 * time.Second},
			)...)
		}
		got := Analyze(in)
		require.NotEmpty(t, got, tc.msg)
		assert.Equal(t, "payment-gateway", got[0].Service, tc.msg)
		assert.Equal(t, tc.want, got[0].Kind, tc.msg)
	}
}

func TestLeakSeenInMetricsBeforeErrors(t *testing.T) {
	in := input()
	for m := -30; m < 30; m++ {
		heap := 80.0
		if m >= 0 {
			heap = 80 + float64(m)*30
		}
		for _, svc := range []string{"inventory", "payment"} {
			v := heap
			if svc == "payment" {
				v = 60
			}
			in.Metrics = append(in.Metrics, MetricPoint{Service: svc, Metric: "process.runtime.go.mem.heap_alloc", Minute: t0.Add(time.Duration(m) * time.Minute), Value: v * (1 << 20), Max: v * (1 << 20)})
		}
	}
	got := Analyze(in)
	require.Len(t, got, 1, "no failing traces: the leak alone, from metrics")
	assert.Equal(t, "inventory", got[0].Service)
	assert.Equal(t, KindMemoryLeak, got[0].Kind)
	require.NotNil(t, got[0].Evidence.StartedAt)
	assert.WithinDuration(t, t0, *got[0].Evidence.StartedAt, 2*time.Minute)
	assert.Contains(t, got[0].Summary, "grew 80MiB")
}

func TestPoolSaturationFromMetrics(t *testing.T) {
	in := input()
	for m := -30; m < 30; m++ {
		used, pending := 2.0, 0.0
		if m >= 10 {
			used, pending = 10, 6
		}
		at := t0.Add(time.Duration(m) * time.Minute)
		in.Metrics = append(in.Metrics,
			MetricPoint{Service: "inventory", Metric: "db.client.connection.count", State: "used", Minute: at, Value: used, Max: used},
			MetricPoint{Service: "inventory", Metric: "db.client.connection.max", Minute: at, Value: 10, Max: 10},
			MetricPoint{Service: "inventory", Metric: "db.client.connection.pending_requests", Minute: at, Value: pending, Max: pending},
		)
	}
	got := Analyze(in)
	require.NotEmpty(t, got)
	assert.Equal(t, KindDBPoolExhaustion, got[0].Kind)
	assert.Equal(t, t0.Add(10*time.Minute), *got[0].Evidence.StartedAt)
}

func TestRankingIsDeterministic(t *testing.T) {
	in := input()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		svc, msg := "inventory", "timed out acquiring connection from pool"
		if i%4 == 0 {
			svc, msg = "cart", "CartConcurrencyError: version conflict on cart c-1 (expected version 3, found 4)"
		}
		in.FailingSpans = append(in.FailingSpans, chain(fmt.Sprintf("t%02d", i), t0.Add(time.Duration(i)*time.Second),
			Span{Service: "frontend", Name: "POST /x", Kind: "Server", Error: true},
			Span{Service: svc, Name: "op", Kind: "Server", Error: true, StatusMessage: msg})...)
	}
	first := Analyze(in)
	for range 5 {
		rng.Shuffle(len(in.FailingSpans), func(i, j int) { in.FailingSpans[i], in.FailingSpans[j] = in.FailingSpans[j], in.FailingSpans[i] })
		assert.Equal(t, first, Analyze(in))
	}
	require.Len(t, first, 2)
	assert.Equal(t, "inventory", first[0].Service)
	assert.Equal(t, KindRaceCondition, first[1].Kind)
}

func TestParentCyclesDoNotHang(t *testing.T) {
	in := input()
	in.FailingSpans = []Span{
		{TraceID: "t", SpanID: "a", ParentID: "b", Service: "x", Name: "a", Error: true},
		{TraceID: "t", SpanID: "b", ParentID: "a", Service: "y", Name: "b", Error: true},
	}
	assert.NotPanics(t, func() { Analyze(in) })
}

func TestTextKind(t *testing.T) {
	for text, want := range map[string]Kind{
		"InventoryDBError: timed out acquiring connection from pool after 2000ms":                    KindDBPoolExhaustion,
		"ServiceOverloadedError: shedding request: heap in use 800MiB exceeds limit 768MiB":          KindMemoryPressure,
		"CartConcurrencyError: version conflict on cart c-1 (expected version 7, found 8)":           KindRaceCondition,
		"dial tcp 10.0.0.1:5432: connect: connection refused":                                        KindDependencyUnavailable,
		"payment gateway timed out after 3000ms":                                                     KindTimeout,
		"runtime error: invalid memory address or nil pointer dereference":                           KindCodeError,
		"java.lang.NullPointerException: Cannot invoke \"String.length()\" because \"name\" is null": KindCodeError,
		"something odd": KindErrorRate,
	} {
		assert.Equal(t, want, TextKind(text), text)
	}
}

// Services in one process report one heap: a leak there is one candidate,
// blamed on the service whose requests fail of it.
func TestSharedProcessHeapIsOneCause(t *testing.T) {
	in := input()
	for m := -30; m < 30; m++ {
		heap := 80.0
		if m >= 0 {
			heap = 80 + float64(m)*30
		}
		for _, svc := range []string{"cart", "checkout", "frontend", "inventory", "payment"} {
			in.Metrics = append(in.Metrics, MetricPoint{Service: svc, Metric: "process.runtime.go.mem.heap_alloc", Minute: t0.Add(time.Duration(m) * time.Minute), Value: heap * (1 << 20)})
		}
	}
	for i := range 10 {
		in.FailingSpans = append(in.FailingSpans, chain(fmt.Sprintf("t%d", i), t0.Add(25*time.Minute),
			Span{Service: "payment", Name: "POST /pay", Kind: "Server", Error: true},
			Span{Service: "payment", Name: "POST /reserve", Kind: "Client", Error: true},
			Span{Service: "inventory", Name: "POST /reserve", Kind: "Server", Error: true, StatusMessage: "ServiceOverloadedError: shedding request: heap in use 800MiB exceeds limit 768MiB"})...)
	}
	got := Analyze(in)
	require.Len(t, got, 1)
	assert.Equal(t, "inventory", got[0].Service)
	assert.Equal(t, KindMemoryLeak, got[0].Kind)
	assert.Contains(t, got[0].Evidence.Metrics[0].Note, "identical in cart, checkout, frontend, inventory, payment: one process")
}

// The kind is what most failures say: a service shedding load for its heap
// that also timed out on its pool a few times is short of memory.
func TestKindFollowsMostMessages(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pool, shed int
		want       Kind
	}{
		{"mostly shedding", 3, 40, KindMemoryPressure},
		{"mostly pool timeouts", 40, 3, KindDBPoolExhaustion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input()
			add := func(n int, msg string) {
				for i := range n {
					id := fmt.Sprintf("%s-%02d", msg[:4], i)
					in.FailingSpans = append(in.FailingSpans, chain(id, t0.Add(time.Duration(i)*time.Second),
						Span{Service: "frontend", Name: "GET /stock", Kind: "Server", Error: true, StatusMessage: "inventory failed"},
						Span{Service: "inventory", Name: "GET /stock", Kind: "Server", Error: true, StatusMessage: msg},
					)...)
				}
			}
			add(tc.pool, "InventoryDBError: timed out acquiring connection from pool after 2000ms (in_use=10 max=10)")
			add(tc.shed, "ServiceOverloadedError: shedding request: heap in use 300MiB exceeds limit 256MiB (gc_cycles=12)")
			in.FailingTotal = uint64(tc.pool + tc.shed)
			got := Analyze(in)
			require.NotEmpty(t, got)
			assert.Equal(t, "inventory", got[0].Service)
			assert.Equal(t, tc.want, got[0].Kind)
		})
	}
}
