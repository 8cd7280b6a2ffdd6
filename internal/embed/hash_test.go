package embed

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/otelcol-agentic/otelcol-agentic/internal/bitmix"
)

func cosine(t testing.TB, e Embedder, a, b string) float64 {
	t.Helper()
	v, err := e.Embed(context.Background(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	return float64(dot(v[0], v[1]))
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestHashSimilarErrorsAreCloser(t *testing.T) {
	e := NewHash(384)
	const q = "NullPointerException in getUserById"
	similar := cosine(t, e, q, "NullReferenceException in processOrder")
	unrelated := cosine(t, e, q, "connection refused")
	t.Logf("cos(similar)=%.3f cos(unrelated)=%.3f", similar, unrelated)
	if similar <= unrelated {
		t.Fatalf("cos(%q, NullReferenceException…) = %.3f, not above cos(…, connection refused) = %.3f", q, similar, unrelated)
	}

	// A query naming part of an identifier finds the identifier.
	if c1, c2 := cosine(t, e, "user lookup failed", "getUserById failed"), cosine(t, e, "order lookup failed", "getUserById failed"); c1 <= c2 {
		t.Errorf("sub-word match %.3f should beat %.3f", c1, c2)
	}
}

func TestHashDeterministicUnitNorm(t *testing.T) {
	texts := []string{
		"NullPointerException in getUserById",
		"PacketResponder <*> for block blk_<*> terminating",
		"Ünïcödé ТЕКСТ 日本語のログ",
		"x",
		"<IP>",
		strings.Repeat("a", 10000),
		"\xff\xfe invalid \xc3",
	}
	for _, dims := range []int{1, 2, 7, 64, 384, 1536} {
		e := NewHash(dims)
		a, err := e.Embed(context.Background(), texts)
		if err != nil {
			t.Fatal(err)
		}
		// A second instance stands in for another process: nothing may
		// depend on per-instance or per-process state.
		b, _ := NewHash(dims).Embed(context.Background(), texts)
		for i := range texts {
			if len(a[i]) != dims {
				t.Fatalf("dims %d: got len %d", dims, len(a[i]))
			}
			if !slices.Equal(a[i], b[i]) {
				t.Errorf("dims %d: %q not deterministic", dims, texts[i])
			}
			if n := norm(a[i]); math.Abs(n-1) > 1e-5 {
				t.Errorf("dims %d: %q has norm %v", dims, texts[i], n)
			}
		}
		if e.Dims() != dims || e.Model() != "hash-v3-"+strconv.Itoa(dims) {
			t.Errorf("Dims/Model = %d/%s", e.Dims(), e.Model())
		}
	}
}

// The vectors are stored and compared across processes and releases, so the
// exact output is pinned: if this fails, the algorithm changed and
// hashVersion must be bumped (old stored vectors become incomparable).
func TestHashGolden(t *testing.T) {
	v := NewHash(8).EmbedOne("NullPointerException in getUserById")
	want := goldenNPE8
	for i := range v {
		if math.Abs(float64(v[i]-want[i])) > 1e-6 {
			t.Fatalf("hash embedding changed: got %v, want %v; if intended, bump hashVersion and update the golden values", v, want)
		}
	}
}

var goldenNPE8 = []float32{0.40388203, 0.13530625, 0.174772, 0.14376077, -0.19168103, 0.84749866, 0.09584052, 0.05637474}

func TestHashEmpty(t *testing.T) {
	e := NewHash(384)
	empty := EmptyVector(384)
	if n := norm(empty); math.Abs(n-1) > 1e-6 {
		t.Fatalf("EmptyVector norm %v", n)
	}
	for _, s := range []string{"", "   \t\n", "<*>", "<*> <*>:<*>", "!!! ... ---"} {
		v := e.EmbedOne(s)
		if !slices.Equal(v, empty) {
			t.Errorf("%q: want EmptyVector, got a different vector", s)
		}
	}
	// The sentinel must not look like real content.
	v := e.EmbedOne("connection refused by upstream server")
	if c := float64(dot(v, empty)); math.Abs(c) > 0.3 {
		t.Errorf("cos(real text, EmptyVector) = %.3f, want near 0", c)
	}
}

func TestHashPlaceholdersCarryNoWeight(t *testing.T) {
	e := NewHash(384)
	a := e.EmbedOne("Invalid user <*> from <*>")
	b := e.EmbedOne("Invalid user from")
	if !slices.Equal(a, b) {
		t.Errorf("<*> changed the vector")
	}
	// Two templates that share only masks are unrelated.
	if c := cosine(t, e, "<*> opened <*>", "<*> closed <*>"); c > 0.2 {
		t.Errorf("templates sharing only <*> have cosine %.3f", c)
	}
	// A named placeholder counts, a little.
	x, y := e.EmbedOne("connect to <IP> failed"), e.EmbedOne("connect to failed")
	if slices.Equal(x, y) {
		t.Errorf("<IP> had no effect")
	}
	if c := float64(dot(x, y)); c < 0.8 {
		t.Errorf("<IP> weighs too much: cosine %.3f", c)
	}
}

// wordFeatures returns the word-namespace hashes extracted from text, with
// their base weights.
func wordFeatures(text string) map[uint64]float64 {
	var s hashScratch
	s.extract(text)
	m := map[uint64]float64{}
	for _, f := range s.feats {
		if f&kindMask != kindNGram {
			id := f &^ kindMask
			m[id] = max(m[id], kindWeight[f&kindMask])
		}
	}
	return m
}

func TestHashTokenizer(t *testing.T) {
	cases := []struct {
		text  string
		whole []string
		subs  []string
	}{
		{"getUserById", []string{"getuserbyid"}, []string{"get", "user", "by", "id"}},
		{"NullPointerException", []string{"nullpointerexception"}, []string{"null", "pointer", "exception"}},
		{"HTTPServerError", []string{"httpservererror"}, []string{"http", "server", "error"}},
		{"get_user_by_id", []string{"get_user_by_id"}, []string{"get", "user", "by", "id"}},
		{"ipv4Addr", []string{"ipv4addr"}, []string{"ipv", "4", "addr"}},
		{"getUserByID", []string{"getuserbyid"}, []string{"get", "user", "by", "id"}},
		{"blk_<*>", []string{"blk_"}, []string{"blk"}},
		{"java.lang.NullPointerException: boom", []string{"java", "lang", "nullpointerexception", "boom"}, []string{"null", "pointer", "exception"}},
		{"plain words only", []string{"plain", "words", "only"}, nil},
		{"Straße ÜBER", []string{"straße", "über"}, nil},
	}
	for _, c := range cases {
		got := wordFeatures(c.text)
		want := map[uint64]float64{}
		for _, w := range c.subs {
			want[bitmix.Mix64(hashBytes(nsWord, []byte(w)))&^kindMask] = subWeight
		}
		for _, w := range c.whole {
			want[bitmix.Mix64(hashBytes(nsWord, []byte(w)))&^kindMask] = 1
		}
		if len(got) != len(want) {
			t.Errorf("%q: %d word features, want %d (%v + %v)", c.text, len(got), len(want), c.whole, c.subs)
			continue
		}
		for h, w := range want {
			if got[h] != w {
				t.Errorf("%q: feature weight %v, want %v", c.text, got[h], w)
			}
		}
	}
}

func TestHashCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewHash(16).Embed(ctx, []string{"a"}); err == nil {
		t.Fatal("want context error")
	}
}

func TestPlaceholderLen(t *testing.T) {
	for s, want := range map[string]int{
		"<*>":                               3,
		"<*>x":                              3,
		"<IP>:<*>":                          4,
		"<>":                                0,
		"< >":                               0,
		"<a b>":                             0,
		"<*":                                0,
		"<init>(Foo)":                       6,
		"<" + strings.Repeat("A", 30) + ">": 0,
	} {
		if got := placeholderLen(s); got != want {
			t.Errorf("placeholderLen(%q) = %d, want %d", s, got, want)
		}
	}
}

func FuzzHashEmbed(f *testing.F) {
	for _, s := range []string{
		"", "<*>", "NullPointerException in getUserById", "\xff\xfe\xfd", "a<b>c<*", "HTTPServer_v2__x",
		"日本語 テキスト", strings.Repeat("<*> ", 50),
	} {
		f.Add(s, 384)
	}
	f.Fuzz(func(t *testing.T, s string, dims int) {
		dims = 1 + (dims&0x7fffffff)%2048
		e := NewHash(dims)
		v := e.EmbedOne(s)
		if len(v) != dims {
			t.Fatalf("len %d, want %d", len(v), dims)
		}
		if !slices.Equal(v, e.EmbedOne(s)) {
			t.Fatal("not deterministic")
		}
		for _, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				t.Fatalf("non-finite component in %v", v)
			}
		}
		if n := norm(v); math.Abs(n-1) > 1e-4 {
			t.Fatalf("norm %v for %q", n, s)
		}
	})
}

// ~80-character log templates of the kind the processor embeds.
var benchTemplates = []string{
	"PacketResponder <*> for block blk_<*> terminating after receiving <*> bytes",
	"java.lang.NullPointerException at com.example.UserService.getUserById(<*>)",
	"Connection reset by peer while reading response header from upstream <*>",
	"Failed to acquire lock on /var/lib/app/<*>.lock after <*> retries: timeout",
	"org.apache.kafka.common.errors.TimeoutException: Expiring <*> record(s) for",
	"Invalid user <*> from <*> port <*> ssh2: authentication failure for admin",
}

func BenchmarkHashEmbed(b *testing.B) {
	e := NewHash(384)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_ = e.EmbedOne(benchTemplates[n%len(benchTemplates)])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "texts/s")
}

func TestErrorClass(t *testing.T) {
	for tok, want := range map[string]bool{
		"NullPointerException": true, "ValueError": true, "InventoryDBError": true, "SocketTimeout": true,
		"RPCFailure": true, "SegFault": true, "Error": false, "Exception": false, "timeout": false,
		"error": false, "customerror": false, "getUserById": false, "ERROR": false, "terror": false,
	} {
		if got := errorClass(tok); got != want {
			t.Errorf("errorClass(%q) = %v", tok, got)
		}
	}
	for text, want := range map[string]string{
		"InventoryDBError: timed out acquiring connection":                                                      "InventoryDBError",
		"java.lang.NullPointerException at Foo.bar(Foo.java:<*>)":                                               "NullPointerException",
		"[main] <*> Caused by: java.io.IOException: broken pipe":                                                "IOException",
		"could not release stock held for order <*>: inventory returned <*> (ServiceOverloadedError: shedding)": "",
		"connection refused": "",
		"Error: something":   "",
	} {
		if got := LeadingErrorType(text); got != want {
			t.Errorf("LeadingErrorType(%q) = %q, want %q", text, got, want)
		}
	}
}

// Errors of one type embed together whatever their wording, and apart from
// errors of other types however alike their wording: the leading error type
// holds typeShare of the vector.
func TestHashGroupsErrorsByType(t *testing.T) {
	e := NewHash(384)
	dist := func(a, b string) float64 { return 1 - cosine(t, e, a, b) }
	sameType := dist("PaymentTimeoutError: payment gateway authorize timed out after <*> during authorize_payment",
		"PaymentTimeoutError: reserve_stock for order <*> timed out after <*>: caller gave up")
	otherType := dist("PaymentTimeoutError: payment gateway authorize timed out after <*> during authorize_payment",
		"CheckoutError: payment authorization timed out after <*> during place_order")
	t.Logf("same type %.3f, other type with similar words %.3f", sameType, otherType)
	if sameType >= 1-typeShare || otherType <= 0.5 {
		t.Errorf("same type at %.3f (want < %.2f), other type at %.3f (want > 0.5)", sameType, 1-typeShare, otherType)
	}

	// A wrapper is an error of its own (leading) type: apart from its cause's
	// type, near other wrappers of the same type, nearest to those of the
	// same cause.
	wrapped := "UpstreamServiceError: payment returned <*> Gateway Timeout (PaymentTimeoutError: payment gateway capture timed out after <*>)"
	sameCause := "UpstreamServiceError: checkout returned <*> Gateway Timeout (CheckoutError: payment returned <*> (PaymentTimeoutError: payment gateway authorize timed out after <*>))"
	otherCause := "UpstreamServiceError: inventory returned <*> Service Unavailable (InventoryDBError: timed out acquiring connection from pool after <*>)"
	cause := "PaymentTimeoutError: payment gateway capture timed out after <*>"
	if a, b := dist(wrapped, sameCause), dist(wrapped, otherCause); a >= b || b >= 1-typeShare {
		t.Errorf("wrapper to one of the same cause %.3f, of another cause %.3f: want the first smaller, both < %.2f", a, b, 1-typeShare)
	}
	if d := dist(wrapped, cause); d <= 0.5 {
		t.Errorf("wrapper to its cause's type at %.3f, want > 0.5", d)
	}

	// The same class named with its package, or after a prefix.
	if d := dist("java.lang.NullPointerException: user is null", "NullPointerException in getUserById"); d >= 1-typeShare {
		t.Errorf("the same class with its package at %.3f, want < %.2f", d, 1-typeShare)
	}
}

// One kind of bug spelled the way each ecosystem spells it lands together,
// away from other kinds; an application's own error class keeps its place.
func TestErrorConceptsAcrossEcosystems(t *testing.T) {
	h := NewHash(384)
	d := func(a, b string) float64 {
		va, vb := h.EmbedOne(a), h.EmbedOne(b)
		var dot float64
		for i := range va {
			dot += float64(va[i]) * float64(vb[i])
		}
		return 1 - dot
	}
	query := "NullPointerException"
	nullish := []string{
		"panic serving GET /products/{id}: runtime error: invalid memory address or nil pointer dereference",
		"System.NullReferenceException: Object reference not set to an instance of an object at Shop.Orders.Process()",
		"AttributeError: 'NoneType' object has no attribute 'id'",
		"TypeError: Cannot read properties of undefined (reading 'price')",
	}
	others := []string{
		"dial tcp 10.0.0.7:5432: connect: connection refused",
		"runtime error: index out of range [3] with length 3",
		"InventoryDBError: timed out acquiring connection from pool after 2000ms",
		"java.lang.OutOfMemoryError: Java heap space",
	}
	far := 2.0
	for _, o := range others {
		far = min(far, d(query, o))
	}
	for _, n := range nullish[:2] {
		assert.Less(t, d(query, n), 0.5, n)
		assert.Less(t, d(query, n), far, n)
	}
	// Python and JavaScript lead with their own classes (AttributeError,
	// TypeError), which are broader than a null dereference: only their
	// words say it, so they stay with their class.
	for _, n := range nullish[2:] {
		assert.Greater(t, d(query, n), 0.5, n)
	}
	assert.Zero(t, conceptOf("InventoryDBError", false, "InventoryDBError: timed out acquiring connection"), "an application's class is its own")
	assert.NotZero(t, conceptOf("", true, "runtime error: integer divide by zero"))
	assert.Zero(t, conceptOf("", true, "timed out acquiring connection from pool"), "everyday words are not a kind of bug")
	assert.NotZero(t, conceptOf("SocketTimeoutException", false, "java.net.SocketTimeoutException: Read timed out"))
	assert.Zero(t, conceptOf("", false, "nil pointer dereference"), "a message with a class as cause keeps it")
}
