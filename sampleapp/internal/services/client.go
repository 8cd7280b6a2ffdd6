package services

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
)

// client calls one dependency. Its dialer honours dependency_unavailable by
// dialing an address nobody listens on, so callers see a real refused
// connection.
type client struct {
	from, dep string
	base      string
	hc        *http.Client
}

type templateKey struct{}

func newClient(env Env, from, dep string) *client {
	base := env.URLs[dep]
	if base == "" {
		// Not deployed: configured, but nothing answers.
		base = "http://" + env.DeadAddr
	}
	dialer := &net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if env.Faults.DependencyDown(from, dep) {
				addr = env.DeadAddr
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	env.Faults.Subscribe(tr.CloseIdleConnections)
	delayed := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if d := env.Faults.Delay(from, faults.Match{Dependency: dep}); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return nil, fmt.Errorf("%s %s: %w", r.Method, r.URL.Path, r.Context().Err())
			}
		}
		return tr.RoundTrip(r)
	})
	rt := otelhttp.NewTransport(delayed,
		otelhttp.WithTracerProvider(env.Tel.TracerProvider),
		otelhttp.WithMeterProvider(env.Tel.MeterProvider),
		otelhttp.WithPropagators(env.Tel.Propagator),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String("peer.service", dep))),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if t, ok := r.Context().Value(templateKey{}).(string); ok {
				return r.Method + " " + t
			}
			return r.Method
		}),
	)
	return &client{from: from, dep: dep, base: base, hc: &http.Client{Transport: rt}}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// upstreamError is a dependency's non-2xx answer.
type upstreamError struct {
	Dep     string
	Status  int
	Type    string // the dependency's error type, if it said
	Message string
	Body    []byte
}

func (e *upstreamError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%s returned %d %s (%s)", e.Dep, e.Status, http.StatusText(e.Status), e.Message)
	}
	return fmt.Sprintf("%s returned %d %s", e.Dep, e.Status, http.StatusText(e.Status))
}

// call sends a JSON request to the dependency. template is the route as the
// dependency declares it ("/carts/{id}/items"); it names the client span.
// A non-2xx answer is an *upstreamError.
func (c *client) call(ctx context.Context, method, template, path string, in, out any) error {
	_, b, err := c.do(ctx, method, template, path, in)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode %s response: %w", c.dep, err)
		}
	}
	return nil
}

// do is call without decoding: it returns the status and body of a 2xx
// answer.
func (c *client) do(ctx context.Context, method, template, path string, in any) (int, []byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, fmt.Errorf("encode %s request: %w", c.dep, err)
		}
		body = bytes.NewReader(b)
	}
	ctx = context.WithValue(ctx, templateKey{}, template)
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, nil, fmt.Errorf("build %s request: %w", c.dep, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read %s response: %w", c.dep, err)
	}
	if resp.StatusCode >= 300 {
		ue := &upstreamError{Dep: c.dep, Status: resp.StatusCode, Body: b}
		var eb struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(b, &eb) == nil {
			ue.Type, ue.Message = eb.Error, eb.Message
		}
		return resp.StatusCode, nil, ue
	}
	return resp.StatusCode, b, nil
}

// isTimeout reports whether err means the call ran out of time.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// relay turns a dependency failure into this service's answer: client errors
// pass through untouched; server errors and transport failures are logged as
// type typ and answered with the dependency's 500/503/504, or 502.
func relay(err error, typ, op, detail string) error {
	var ue *upstreamError
	if errors.As(err, &ue) {
		if ue.Status < 500 {
			return &passthrough{status: ue.Status, body: ue.Body}
		}
		status := http.StatusBadGateway
		switch ue.Status {
		case http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			status = ue.Status
		}
		return fail(status, typ, ue, op, detail)
	}
	if isTimeout(err) {
		return fail(http.StatusGatewayTimeout, typ, err, op, detail)
	}
	return fail(http.StatusBadGateway, typ, err, op, detail)
}
