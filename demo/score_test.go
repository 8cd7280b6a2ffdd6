package demo

import (
	"maps"
	"math"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestKindMatches(t *testing.T) {
	for _, c := range []struct {
		exp, got string
		want     bool
	}{
		{"db_pool_exhaustion", "db_pool_exhaustion", true},
		{"memory_leak", "memory_pressure", true},
		{"memory_pressure", "memory_leak", true},
		{"dependency_timeout", "latency", true},
		{"race_condition", "code_error", false},
		{"db_pool_exhaustion", "dependency_timeout", false},
		{"", "", false},
	} {
		if got := KindMatches(c.exp, c.got); got != c.want {
			t.Errorf("KindMatches(%q, %q) = %v", c.exp, c.got, got)
		}
	}
}

func TestTopK(t *testing.T) {
	e := Expectation{Services: []string{"inventory"}, Kinds: []string{"db_pool_exhaustion"}}
	ans := []Answer{{"payment", "dependency_timeout"}, {"inventory", "error_rate"}, {"inventory", "db_pool_exhaustion"}, {"cart", "race_condition"}}
	for _, c := range []struct {
		k    int
		want bool
	}{{1, false}, {2, false}, {3, true}, {10, true}} {
		if got := TopK(ans, c.k, e); got != c.want {
			t.Errorf("TopK(k=%d) = %v", c.k, got)
		}
	}
	if TopK(nil, 3, e) {
		t.Error("no answers is not a hit")
	}
	// The right service with the wrong kind is wrong.
	if TopK([]Answer{{"inventory", "latency"}}, 1, e) {
		t.Error("service alone must not count")
	}
	if !TopK([]Answer{{"Inventory", "memory_pressure"}}, 1, Expectation{Services: []string{"inventory"}, Kinds: []string{"memory_leak"}}) {
		t.Error("memory_pressure answers memory_leak")
	}
}

func TestAccuracy(t *testing.T) {
	for _, c := range []struct {
		in   []bool
		want float64
	}{{nil, 0}, {[]bool{true}, 1}, {[]bool{true, false, false, true}, 0.5}, {[]bool{false, false, false}, 0}} {
		if got := Accuracy(c.in); !near(got, c.want) {
			t.Errorf("Accuracy(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestPRF(t *testing.T) {
	for _, c := range []struct {
		tp, fp, fn int
		p, r, f    float64
	}{
		{0, 0, 0, 0, 0, 0},
		{10, 0, 0, 1, 1, 1},
		{8, 2, 2, 0.8, 0.8, 0.8},
		{5, 5, 0, 0.5, 1, 2.0 / 3},
		{0, 4, 3, 0, 0, 0},
		{3, 1, 9, 0.75, 0.25, 0.375},
	} {
		p, r, f := PRF(c.tp, c.fp, c.fn)
		if !near(p, c.p) || !near(r, c.r) || !near(f, c.f) {
			t.Errorf("PRF(%d,%d,%d) = %v %v %v, want %v %v %v", c.tp, c.fp, c.fn, p, r, f, c.p, c.r, c.f)
		}
	}
}

func TestConfusion(t *testing.T) {
	pred := map[string]bool{"a": true, "b": true, "c": false, "d": false, "e": false}
	actual := map[string]bool{"a": true, "c": true, "z": true} // z is outside the universe
	tp, fp, fn, tn := Confusion(pred, actual)
	if tp != 1 || fp != 1 || fn != 1 || tn != 2 {
		t.Errorf("Confusion = %d %d %d %d", tp, fp, fn, tn)
	}
}

func TestPrecisionAtK(t *testing.T) {
	for _, c := range []struct {
		q     string
		types []string
		k     int
		want  float64
	}{
		{"X", nil, 10, 0},
		{"X", []string{"X", "X", "Y", "X"}, 10, 0.75},
		{"X", []string{"X", "Y", "X", "X"}, 2, 0.5},
		{"X", []string{"X", "X", "X", "X", "X", "X", "X", "X", "X", "X", "Y"}, 10, 1},
		{"", []string{"", "Y"}, 10, 0.5},
	} {
		if got := PrecisionAtK(c.q, c.types, c.k); !near(got, c.want) {
			t.Errorf("PrecisionAtK(%q, %v, %d) = %v, want %v", c.q, c.types, c.k, got, c.want)
		}
	}
}

func TestErrorType(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"InventoryDBError: timed out acquiring connection from pool after 2000ms (in_use=10 max=10 waiting=7)", "InventoryDBError"},
		{"PaymentTimeoutError: reserve_stock for order <*> timed out", "PaymentTimeoutError"},
		{"java.lang.NullPointerException at Foo.bar", "java.lang.NullPointerException"},
		{"panic: runtime error: integer divide by zero", "panic"},
		{"GET /products 200 12ms", ""},
		{"ServiceOverloadedError shedding request", "ServiceOverloadedError"},
	} {
		if got := ErrorType(c.in); got != c.want {
			t.Errorf("ErrorType(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPrecisionAtKCapped(t *testing.T) {
	for _, c := range []struct {
		types    []string
		k, avail int
		want     float64
	}{
		{[]string{"X", "Y", "Y"}, 10, 1, 1},
		{[]string{"Y", "X", "Y"}, 10, 1, 0},
		{[]string{"X", "Y", "X", "X"}, 10, 3, 2.0 / 3},
		{[]string{"X", "X", "X", "X", "X", "X", "X", "X", "X", "Y", "X"}, 10, 40, 0.9},
		{nil, 10, 0, 0},
		{nil, 10, 5, 0},
	} {
		if got := PrecisionAtKCapped("X", c.types, c.k, c.avail); !near(got, c.want) {
			t.Errorf("PrecisionAtKCapped(%v, %d, %d) = %v, want %v", c.types, c.k, c.avail, got, c.want)
		}
	}
}

func TestJourneyPredictions(t *testing.T) {
	journeys := map[string][]string{"j1": {"a", "b"}, "j2": {"c"}, "j3": {"d", "e"}, "j4": {"x"}}
	pred := map[string]bool{"a": false, "b": true, "c": false, "d": false, "e": false}
	got := JourneyPredictions(journeys, pred)
	want := map[string]bool{"j1": true, "j2": false, "j3": false} // j4 has no scored trace
	if !maps.Equal(got, want) {
		t.Errorf("JourneyPredictions = %v, want %v", got, want)
	}
}
