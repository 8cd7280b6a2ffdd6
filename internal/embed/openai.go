package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	openai "github.com/sashabaranov/go-openai"
)

// ErrRejected marks a request the API refused for a reason retrying will not
// fix (4xx other than 408/429, or a response that is not an embeddings
// response). Callers such as the collector processor treat it as permanent.
var ErrRejected = errors.New("embedding API rejected the request")

// ErrDimsMismatch marks vectors whose length differs from Config.Dims.
var ErrDimsMismatch = errors.New("embedding dimension mismatch")

// azureAPIVersion is a GA Azure OpenAI data-plane version that accepts the
// dimensions parameter; go-openai's own default predates it.
const azureAPIVersion = "2024-10-21"

// maxRetryAfter caps a server's Retry-After so that one misbehaving proxy
// cannot park a pipeline for an hour; the context still bounds everything.
const maxRetryAfter = 2 * time.Minute

type openAIEmbedder struct {
	client     *openai.Client
	model      string
	dims       int
	sendDims   bool
	batchSize  int
	timeout    time.Duration
	maxRetries int
	keyEnv     string
	key        string // only to scrub it from server messages
	// sem bounds requests in flight across all Embed calls, since rate
	// limits apply per key, not per caller.
	sem chan struct{}

	// Backoff bounds; tests shorten them.
	backoffBase time.Duration
	backoffMax  time.Duration
}

func newOpenAI(c Config) (*openAIEmbedder, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = c.Concurrency
	return newOpenAIWithClient(c, &http.Client{Transport: tr})
}

// newOpenAIWithClient lets tests route requests for a real-looking host
// (Azure) to a local server.
func newOpenAIWithClient(c Config, hc *http.Client) (*openAIEmbedder, error) {
	key := os.Getenv(c.APIKeyEnv)
	azure := false
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil {
			return nil, fmt.Errorf("embed: base_url: %w", err)
		}
		azure = strings.Contains(strings.ToLower(u.Hostname()), "azure")
	}
	// Local servers (Ollama, vLLM, TEI) usually need no key; the hosted APIs
	// always do, and failing here beats a 401 on the first log record.
	if key == "" && (c.BaseURL == "" || azure) {
		return nil, fmt.Errorf("embed: environment variable %s is empty; it must hold the API key for provider openai", c.APIKeyEnv)
	}

	var cc openai.ClientConfig
	if azure {
		cc = openai.DefaultAzureConfig(key, c.BaseURL)
		cc.APIVersion = azureAPIVersion
		// On Azure, model names a deployment; use it verbatim instead of
		// go-openai's guess at stripping characters.
		cc.AzureModelMapperFunc = func(m string) string { return m }
	} else {
		cc = openai.DefaultConfig(key)
		if c.BaseURL != "" {
			cc.BaseURL = strings.TrimRight(c.BaseURL, "/")
		}
	}
	cc.HTTPClient = statusRecorder{c: hc}

	return &openAIEmbedder{
		client:      openai.NewClientWithConfig(cc),
		model:       c.Model,
		dims:        c.Dims,
		sendDims:    strings.HasPrefix(c.Model, "text-embedding-3"),
		batchSize:   c.BatchSize,
		timeout:     c.Timeout,
		maxRetries:  c.MaxRetries,
		keyEnv:      c.APIKeyEnv,
		key:         key,
		sem:         make(chan struct{}, c.Concurrency),
		backoffBase: 500 * time.Millisecond,
		backoffMax:  30 * time.Second,
	}, nil
}

func (e *openAIEmbedder) Model() string { return e.model }
func (e *openAIEmbedder) Dims() int     { return e.dims }

// Embed sends non-empty texts in batches of batchSize, with at most
// Concurrency requests in flight across all callers. The first failing batch
// cancels the rest: a partial result would be written as if complete.
func (e *openAIEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	// The API rejects empty strings with a 400 that would fail the whole
	// batch, so they never leave the process.
	idx := make([]int, 0, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = EmptyVector(e.dims)
		} else {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return out, nil
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	var once sync.Once
	var firstErr error
	for lo := 0; lo < len(idx); lo += e.batchSize {
		hi := min(lo+e.batchSize, len(idx))
		acquired := false
		select {
		case e.sem <- struct{}{}:
			acquired = true
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			// select picks at random when both are ready; the semaphore
			// outlives this call, so a slot taken now must go back.
			if acquired {
				<-e.sem
			}
			break
		}
		wg.Add(1)
		go func(part []int) {
			defer wg.Done()
			defer func() { <-e.sem }()
			batch := make([]string, len(part))
			for j, i := range part {
				batch[j] = texts[i]
			}
			vecs, err := e.embedBatch(ctx, batch)
			if err != nil {
				once.Do(func() { firstErr = err; cancel(err) })
				return
			}
			for j, i := range part {
				out[i] = vecs[j]
			}
		}(idx[lo:hi])
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// embedBatch is one batch with retries.
func (e *openAIEmbedder) embedBatch(ctx context.Context, batch []string) ([][]float32, error) {
	for attempt := 0; ; attempt++ {
		vecs, retryAfter, err := e.attempt(ctx, batch)
		if err == nil {
			return vecs, nil
		}
		if ctx.Err() != nil {
			if errors.Is(err, ctx.Err()) {
				return nil, fmt.Errorf("embed: %w", context.Cause(ctx))
			}
			return nil, fmt.Errorf("embed: %w (last error: %w)", context.Cause(ctx), err)
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return nil, err
		}
		if attempt >= e.maxRetries {
			return nil, fmt.Errorf("embed: giving up after %d attempts: %w", attempt+1, err)
		}
		wait := e.backoff(attempt)
		if retryAfter > 0 {
			wait = min(retryAfter, maxRetryAfter)
		}
		// Sleeping past the caller's deadline only delays the same failure.
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return nil, fmt.Errorf("embed: not retrying, the next attempt (in %s) would start after the deadline: %w", wait.Round(time.Millisecond), err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("embed: %w (last error: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// backoff is exponential with "equal jitter": half the delay is fixed so the
// wait does grow, half is random so that concurrent batches that failed
// together do not retry together.
func (e *openAIEmbedder) backoff(attempt int) time.Duration {
	d := e.backoffBase << min(attempt, 20)
	if d <= 0 || d > e.backoffMax {
		d = e.backoffMax
	}
	half := d / 2
	return half + rand.N(half+1)
}

type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

func permanent(format string, args ...any) error {
	return &permanentError{fmt.Errorf(format, args...)}
}

// attempt is one HTTP request. It returns the server's Retry-After when
// there was one.
func (e *openAIEmbedder) attempt(ctx context.Context, batch []string) ([][]float32, time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	rec := &responseInfo{}
	actx = context.WithValue(actx, responseInfoKey{}, rec)

	req := openai.EmbeddingRequestStrings{Input: batch, Model: openai.EmbeddingModel(e.model)}
	if e.sendDims {
		req.Dimensions = e.dims
	}
	resp, err := e.client.CreateEmbeddings(actx, req)
	if err != nil {
		return nil, rec.retryAfter, e.classify(ctx, actx, err)
	}
	vecs, err := e.collect(resp, len(batch))
	return vecs, 0, err
}

// classify turns a go-openai error into ours: permanent or retryable, with
// a message that names the status and never the key.
func (e *openAIEmbedder) classify(parent, actx context.Context, err error) error {
	status, msg := 0, ""
	var apiErr *openai.APIError
	var reqErr *openai.RequestError
	switch {
	case errors.As(err, &apiErr):
		status, msg = apiErr.HTTPStatusCode, apiErr.Message
	case errors.As(err, &reqErr):
		status = reqErr.HTTPStatusCode
		msg = string(reqErr.Body)
	}
	if status != 0 {
		detail := e.scrub(msg)
		if detail != "" {
			detail = ": " + detail
		}
		switch {
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return &permanentError{fmt.Errorf("%w (%d): check the key in $%s%s", ErrRejected, status, e.keyEnv, detail)}
		case status == http.StatusNotFound:
			return &permanentError{fmt.Errorf("%w (404): check base_url (it should end in the API version, e.g. /v1) and model %q%s", ErrRejected, e.model, detail)}
		case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
			return fmt.Errorf("embedding API returned %d%s", status, detail)
		default:
			return &permanentError{fmt.Errorf("%w (%d)%s", ErrRejected, status, detail)}
		}
	}
	if parent.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("embedding request timed out after %s", e.timeout)
	}
	var synErr *json.SyntaxError
	var typErr *json.UnmarshalTypeError
	if errors.As(err, &synErr) || errors.As(err, &typErr) {
		return &permanentError{fmt.Errorf("%w: the response is not an OpenAI embeddings response (is base_url an OpenAI-compatible endpoint ending in /v1?): %s", ErrRejected, e.scrub(err.Error()))}
	}
	// Connection refused, reset, DNS hiccups, truncated bodies: transient
	// until proven otherwise.
	return &scrubbedError{msg: "embedding request failed: " + e.scrub(err.Error()), err: err}
}

// collect checks and orders the response. Servers may return data out of
// order; index says where each vector belongs.
func (e *openAIEmbedder) collect(resp openai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, permanent("%w: sent %d texts, got %d embeddings back", ErrRejected, n, len(resp.Data))
	}
	out := make([][]float32, n)
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, permanent("%w: response has a missing or duplicate index %d", ErrRejected, d.Index)
		}
		if len(d.Embedding) != e.dims {
			return nil, &permanentError{fmt.Errorf("%w: model %s returned %d-dim vectors but dims is %d: set dims: %d (and recreate the vector tables) or choose a model with %d dims",
				ErrDimsMismatch, e.model, len(d.Embedding), e.dims, len(d.Embedding), e.dims)}
		}
		v := d.Embedding
		if !normalize(v) {
			for _, x := range v {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return nil, permanent("%w: model %s returned a vector containing NaN or Inf", ErrRejected, e.model)
				}
			}
			// An all-zero vector has no direction; map it to the same
			// sentinel as an empty text rather than fail the batch.
			v = EmptyVector(e.dims)
		}
		out[d.Index] = v
	}
	return out, nil
}

// keyLike catches keys echoed back in error messages, including OpenAI's
// partially masked "sk-abc***...xyz" form, which still leaks characters.
var keyLike = regexp.MustCompile(`\b(sk|pk|rk)-[A-Za-z0-9_\-*.]{6,}`)

// scrub removes the key from a server-provided message and shortens it: an
// HTML error page from a proxy would otherwise swamp the log line.
func (e *openAIEmbedder) scrub(s string) string {
	if e.key != "" {
		s = strings.ReplaceAll(s, e.key, "[REDACTED]")
	}
	s = keyLike.ReplaceAllString(s, "$1-[REDACTED]")
	s = strings.Join(strings.Fields(s), " ")
	const max = 300
	if len(s) > max {
		s = strings.ToValidUTF8(s[:max], "") + "…"
	}
	return s
}

type scrubbedError struct {
	msg string
	err error
}

func (s *scrubbedError) Error() string { return s.msg }
func (s *scrubbedError) Unwrap() error { return s.err }

// go-openai drops response headers on errors, but Retry-After is only
// interesting on errors. The HTTP client below records it into a slot that
// travels with the request's context, which keeps concurrent batches apart.
type responseInfoKey struct{}

type responseInfo struct {
	retryAfter time.Duration
}

type statusRecorder struct{ c *http.Client }

func (s statusRecorder) Do(req *http.Request) (*http.Response, error) {
	resp, err := s.c.Do(req)
	if resp != nil {
		if rec, ok := req.Context().Value(responseInfoKey{}).(*responseInfo); ok {
			rec.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		}
	}
	return resp, err
}

// parseRetryAfter reads delay-seconds or an HTTP date (RFC 9110 §10.2.3).
// Zero means absent or unusable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || math.IsNaN(secs) || secs > maxRetryAfter.Seconds() {
			if secs > 0 {
				return maxRetryAfter
			}
			return 0
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
