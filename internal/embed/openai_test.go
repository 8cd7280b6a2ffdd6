package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testKeyEnv = "EMBED_TEST_API_KEY"
	testKey    = "sk-test-0123456789abcdefSECRET"
)

// fakeAPI speaks enough of POST /v1/embeddings for the client. Each request
// is passed to fail first, which may write an error response and return
// true; otherwise it answers with deterministic, deliberately unnormalised
// vectors of length dims.
type fakeAPI struct {
	t        *testing.T
	dims     int
	fail     func(n int, w http.ResponseWriter, r *http.Request) bool
	reverse  bool          // return data in reverse index order
	delay    time.Duration // before answering a successful request
	requests atomic.Int32
	inFlight atomic.Int32
	maxIn    atomic.Int32

	mu     sync.Mutex
	bodies []map[string]any
	paths  []string
	heads  []http.Header
}

func (f *fakeAPI) vector(text string) []float32 {
	v := NewHash(f.dims).EmbedOne(text)
	out := make([]float32, len(v))
	for i := range v {
		out[i] = 3 * v[i]
	}
	return out
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.requests.Add(1))
	cur := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxIn.Load()
		if cur <= m || f.maxIn.CompareAndSwap(m, cur) {
			break
		}
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.bodies = append(f.bodies, body)
	f.paths = append(f.paths, r.URL.RequestURI())
	f.heads = append(f.heads, r.Header.Clone())
	f.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/embeddings") {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	if f.fail != nil && f.fail(n, w, r) {
		return
	}
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
			return
		}
	}
	raw, _ := body["input"].([]any)
	type item struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}
	data := make([]item, len(raw))
	for i, x := range raw {
		s, _ := x.(string)
		data[i] = item{"embedding", f.vector(s), i}
	}
	if f.reverse {
		slices.Reverse(data)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"object": "list", "data": data, "model": body["model"],
		"usage": map[string]int{"prompt_tokens": len(raw), "total_tokens": len(raw)},
	})
}

func apiError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"test","code":null}}`, msg)
}

func newFake(t *testing.T, dims int) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, dims: dims}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func testConfig(srv *httptest.Server, dims int) Config {
	c := DefaultConfig()
	c.Provider = ProviderOpenAI
	c.Model = "text-embedding-3-small"
	c.BaseURL = srv.URL + "/v1"
	c.APIKeyEnv = testKeyEnv
	c.Dims = dims
	c.Timeout = 5 * time.Second
	return c
}

func newTestOpenAI(t *testing.T, c Config) *openAIEmbedder {
	t.Helper()
	t.Setenv(testKeyEnv, testKey)
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	oe := e.(*openAIEmbedder)
	// Real backoff would make the retry tests slow; Retry-After is still
	// honoured as sent.
	oe.backoffBase, oe.backoffMax = time.Millisecond, 5*time.Millisecond
	return oe
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("error %d: connection to shard%d refused", i, i)
	}
	return out
}

func checkVectors(t *testing.T, f *fakeAPI, in []string, got [][]float32) {
	t.Helper()
	if len(got) != len(in) {
		t.Fatalf("%d vectors for %d texts", len(got), len(in))
	}
	for i, s := range in {
		want := f.vector(s)
		normalize(want)
		if len(got[i]) != len(want) {
			t.Fatalf("text %d: len %d", i, len(got[i]))
		}
		for j := range want {
			if math.Abs(float64(got[i][j]-want[j])) > 1e-5 {
				t.Fatalf("text %d (%q): vector is not the normalised vector of that text", i, s)
			}
		}
	}
}

func TestOpenAIHappyPathBatching(t *testing.T) {
	f, srv := newFake(t, 16)
	f.delay = 20 * time.Millisecond // so that concurrent requests overlap
	c := testConfig(srv, 16)
	c.BatchSize, c.Concurrency = 3, 2
	e := newTestOpenAI(t, c)

	in := texts(10)
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, f, in, got)
	if n := f.requests.Load(); n != 4 {
		t.Errorf("%d requests for 10 texts in batches of 3, want 4", n)
	}
	if m := f.maxIn.Load(); m > 2 {
		t.Errorf("%d requests in flight, concurrency is 2", m)
	}
	for i, b := range f.bodies {
		if b["model"] != "text-embedding-3-small" {
			t.Errorf("request %d: model %v", i, b["model"])
		}
		if b["dimensions"] != float64(16) {
			t.Errorf("request %d: dimensions %v, want 16 for a text-embedding-3 model", i, b["dimensions"])
		}
		if got := f.heads[i].Get("Authorization"); got != "Bearer "+testKey {
			t.Errorf("request %d: Authorization %q", i, got)
		}
		if f.paths[i] != "/v1/embeddings" {
			t.Errorf("request %d: path %s", i, f.paths[i])
		}
	}
	if e.Model() != "text-embedding-3-small" || e.Dims() != 16 {
		t.Errorf("Model/Dims = %s/%d", e.Model(), e.Dims())
	}
}

func TestOpenAINoDimensionsForOtherModels(t *testing.T) {
	f, srv := newFake(t, 8)
	c := testConfig(srv, 8)
	c.Model = "nomic-embed-text"
	e := newTestOpenAI(t, c)
	if _, err := e.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.bodies[0]["dimensions"]; ok {
		t.Errorf("dimensions sent to %s, which may not support it", c.Model)
	}
}

func TestOpenAIEmptyTextsNotSent(t *testing.T) {
	f, srv := newFake(t, 8)
	e := newTestOpenAI(t, testConfig(srv, 8))
	got, err := e.Embed(context.Background(), []string{"", "  ", "real text", "\n"})
	if err != nil {
		t.Fatal(err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Fatalf("%d requests", n)
	}
	if in := f.bodies[0]["input"].([]any); len(in) != 1 || in[0] != "real text" {
		t.Errorf("sent %v", in)
	}
	for _, i := range []int{0, 1, 3} {
		if !slices.Equal(got[i], EmptyVector(8)) {
			t.Errorf("text %d: want EmptyVector", i)
		}
	}
	checkVectors(t, f, []string{"real text"}, got[2:3])

	// Nothing at all to send: no request.
	if _, err := e.Embed(context.Background(), []string{""}); err != nil || f.requests.Load() != 1 {
		t.Errorf("empty-only call: err %v, requests %d", err, f.requests.Load())
	}
	if got, err := e.Embed(context.Background(), nil); err != nil || len(got) != 0 {
		t.Errorf("nil input: %v %v", got, err)
	}
}

func TestOpenAIOutOfOrderIndex(t *testing.T) {
	f, srv := newFake(t, 8)
	f.reverse = true
	e := newTestOpenAI(t, testConfig(srv, 8))
	in := texts(5)
	got, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, f, in, got)
}

func TestOpenAIRetryAfter429(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			apiError(w, http.StatusTooManyRequests, "Rate limit reached")
			return true
		}
		return false
	}
	e := newTestOpenAI(t, testConfig(srv, 8))
	start := time.Now()
	got, err := e.Embed(context.Background(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	checkVectors(t, f, []string{"a", "b"}, got)
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Errorf("retried after %s; Retry-After said 1s", el)
	}
	if n := f.requests.Load(); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestOpenAIRetry500ThenSuccess(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			// Not JSON, as from a proxy.
			http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
			return true
		}
		if n == 2 {
			apiError(w, http.StatusInternalServerError, "server error")
			return true
		}
		return false
	}
	e := newTestOpenAI(t, testConfig(srv, 8))
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if n := f.requests.Load(); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

func TestOpenAIPersistent500(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		apiError(w, http.StatusServiceUnavailable, "overloaded")
		return true
	}
	c := testConfig(srv, 8)
	c.MaxRetries = 3
	e := newTestOpenAI(t, c)
	_, err := e.Embed(context.Background(), []string{"a"})
	if err == nil {
		t.Fatal("want error")
	}
	if n := f.requests.Load(); n != 4 {
		t.Errorf("%d requests, want 1 + MaxRetries = 4", n)
	}
	if !strings.Contains(err.Error(), "giving up after 4 attempts") || !strings.Contains(err.Error(), "503") {
		t.Errorf("error %q should say how often it tried and what the server said", err)
	}
	if errors.Is(err, ErrRejected) {
		t.Errorf("a 503 is not a rejection")
	}
}

func TestOpenAIUnauthorizedNoRetryNoKey(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		// The real API echoes part of the key; a careless one all of it.
		apiError(w, http.StatusUnauthorized, "Incorrect API key provided: "+testKey+" (or sk-test-012***CRET)")
		return true
	}
	e := newTestOpenAI(t, testConfig(srv, 8))
	_, err := e.Embed(context.Background(), []string{"a"})
	if err == nil {
		t.Fatal("want error")
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests for a 401, want 1", n)
	}
	msg := err.Error()
	if !strings.Contains(msg, "embedding API rejected the request (401): check the key in $"+testKeyEnv) {
		t.Errorf("error %q", msg)
	}
	if strings.Contains(msg, testKey) || strings.Contains(msg, "012***") {
		t.Errorf("error leaks the key: %q", msg)
	}
	if !errors.Is(err, ErrRejected) {
		t.Errorf("want ErrRejected")
	}
}

func TestOpenAIOther4xxNoRetry(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		apiError(w, http.StatusBadRequest, "input too long")
		return true
	}
	e := newTestOpenAI(t, testConfig(srv, 8))
	_, err := e.Embed(context.Background(), []string{"a"})
	if err == nil || !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "(400): input too long") {
		t.Fatalf("error %v", err)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests for a 400, want 1", n)
	}
}

func TestOpenAIWrongDimension(t *testing.T) {
	f, srv := newFake(t, 1536)
	_ = f
	c := testConfig(srv, 384)
	c.Model = "some-model"
	e := newTestOpenAI(t, c)
	_, err := e.Embed(context.Background(), []string{"a"})
	if !errors.Is(err, ErrDimsMismatch) {
		t.Fatalf("want ErrDimsMismatch, got %v", err)
	}
	want := "model some-model returned 1536-dim vectors but dims is 384: set dims: 1536 (and recreate the vector tables) or choose a model with 384 dims"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to contain %q", err, want)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests; a dimension mismatch is not transient", n)
	}
}

func TestOpenAIMalformedResponses(t *testing.T) {
	for name, body := range map[string]string{
		"count":     `{"data":[{"embedding":[1,0],"index":0}]}`,
		"duplicate": `{"data":[{"embedding":[1,0],"index":0},{"embedding":[0,1],"index":0}]}`,
		"range":     `{"data":[{"embedding":[1,0],"index":0},{"embedding":[0,1],"index":5}]}`,
		"html":      `<html>hello</html>`,
	} {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(body))
			}))
			defer srv.Close()
			e := newTestOpenAI(t, testConfig(srv, 2))
			_, err := e.Embed(context.Background(), []string{"a", "b"})
			if !errors.Is(err, ErrRejected) {
				t.Fatalf("want ErrRejected, got %v", err)
			}
			if n.Load() != 1 {
				t.Errorf("%d requests", n.Load())
			}
		})
	}
}

func TestOpenAIZeroVectorBecomesEmptyVector(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"data":[{"embedding":[0,0,0],"index":0}]}`))
	}))
	defer srv.Close()
	got, err := newTestOpenAI(t, testConfig(srv, 3)).Embed(context.Background(), []string{"a"})
	if err != nil || !slices.Equal(got[0], EmptyVector(3)) {
		t.Fatalf("%v %v", got, err)
	}
}

func TestOpenAICancelStopsRetries(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		apiError(w, http.StatusServiceUnavailable, "overloaded")
		return true
	}
	c := testConfig(srv, 8)
	c.MaxRetries = 100
	e := newTestOpenAI(t, c)
	e.backoffBase, e.backoffMax = 10*time.Second, 10*time.Second

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := e.Embed(ctx, []string{"a"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %s to notice the cancellation", el)
	}
	if n := f.requests.Load(); n != 1 {
		t.Errorf("%d requests after cancellation, want 1", n)
	}
}

func TestOpenAINoRetryPastDeadline(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "30")
		apiError(w, http.StatusTooManyRequests, "slow down")
		return true
	}
	e := newTestOpenAI(t, testConfig(srv, 8))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := e.Embed(ctx, []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "after the deadline") {
		t.Fatalf("error %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("waited for a retry that could not finish in time")
	}
}

func TestOpenAIPerRequestTimeout(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 1 {
			<-r.Context().Done() // hang until the client gives up
			return true
		}
		return false
	}
	c := testConfig(srv, 8)
	c.Timeout = 200 * time.Millisecond
	e := newTestOpenAI(t, c)
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if n := f.requests.Load(); n != 2 {
		t.Errorf("%d requests, want a timed-out one and a retry", n)
	}
}

func TestOpenAIFailingBatchFailsCall(t *testing.T) {
	f, srv := newFake(t, 8)
	f.fail = func(n int, w http.ResponseWriter, r *http.Request) bool {
		if n == 2 {
			apiError(w, http.StatusBadRequest, "bad input")
			return true
		}
		return false
	}
	c := testConfig(srv, 8)
	c.BatchSize, c.Concurrency = 1, 1
	e := newTestOpenAI(t, c)
	if _, err := e.Embed(context.Background(), texts(5)); !errors.Is(err, ErrRejected) {
		t.Fatalf("want the batch's error, got %v", err)
	}
	if n := f.requests.Load(); n != 2 {
		t.Errorf("%d requests; batches after a permanent failure should not be sent", n)
	}
}

func TestOpenAIAzure(t *testing.T) {
	f, srv := newFake(t, 8)
	target, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		return http.DefaultTransport.RoundTrip(r)
	})}
	t.Setenv(testKeyEnv, testKey)
	c := testConfig(srv, 8)
	c.BaseURL = "https://myres.openai.azure.com/"
	c.Model = "my-embedding-deployment"
	e, err := newOpenAIWithClient(c, hc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Embed(context.Background(), []string{"a"}); err != nil {
		t.Fatal(err)
	}
	if want := "/openai/deployments/my-embedding-deployment/embeddings?api-version=" + azureAPIVersion; f.paths[0] != want {
		t.Errorf("path %s, want %s", f.paths[0], want)
	}
	if f.heads[0].Get("api-key") != testKey || f.heads[0].Get("Authorization") != "" {
		t.Errorf("Azure auth headers: api-key %q, Authorization %q", f.heads[0].Get("api-key"), f.heads[0].Get("Authorization"))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestOpenAIMissingKey(t *testing.T) {
	t.Setenv(testKeyEnv, "")
	c := DefaultConfig()
	c.Provider, c.Model, c.APIKeyEnv = ProviderOpenAI, "text-embedding-3-small", testKeyEnv
	_, err := New(c)
	if err == nil || !strings.Contains(err.Error(), testKeyEnv) {
		t.Fatalf("want an error naming %s, got %v", testKeyEnv, err)
	}
	// A local server needs no key.
	c.BaseURL = "http://localhost:11434/v1"
	if _, err := New(c); err != nil {
		t.Fatalf("local endpoint without key: %v", err)
	}
}

func TestOpenAINetworkErrorRetried(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // connection refused from now on
	t.Setenv(testKeyEnv, testKey)
	c := DefaultConfig()
	c.Provider, c.Model, c.APIKeyEnv, c.BaseURL, c.Dims, c.MaxRetries = ProviderOpenAI, "m", testKeyEnv, base+"/v1", 8, 2
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	e.(*openAIEmbedder).backoffBase = time.Millisecond
	_, err = e.Embed(context.Background(), []string{"a"})
	if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") {
		t.Fatalf("error %v", err)
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatal("key in error")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"1":                             time.Second,
		" 3 ":                           3 * time.Second,
		"0.5":                           500 * time.Millisecond,
		"0":                             0,
		"-4":                            0,
		"99999":                         maxRetryAfter,
		"soon":                          0,
		"Thu, 02 Jan 2025 03:04:15 GMT": 10 * time.Second,
		"Thu, 02 Jan 2025 03:04:00 GMT": 0, // in the past
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	e := &openAIEmbedder{key: "hunter2-secret-value"}
	got := e.scrub("bad key hunter2-secret-value and sk-proj-abc***xyz1 and " + strings.Repeat("x", 1000))
	if strings.Contains(got, "hunter2") || strings.Contains(got, "abc***") || len(got) > 310 {
		t.Errorf("scrub = %q", got)
	}
}
