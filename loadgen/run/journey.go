package run

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"time"
)

// routeServices is the shop's topology as loadgen knows it: the services a
// request to each frontend route passes through. It decides which requests a
// fault window touched.
var routeServices = map[string][]string{
	"GET /":                              {"frontend"},
	"GET /products":                      {"frontend", "inventory"},
	"GET /products/{id}":                 {"frontend", "inventory"},
	"GET /products/{id}/recommendations": {"frontend", "recommendations"},
	"POST /cart/add":                     {"frontend", "cart", "inventory"},
	"GET /cart/{id}":                     {"frontend", "cart"},
	"POST /checkout":                     {"frontend", "checkout", "cart", "payment", "inventory"},
	"POST /payment":                      {"frontend", "payment", "inventory"},
	"GET /inventory/check":               {"frontend", "inventory"},
	"GET /orders/{id}":                   {"frontend", "checkout"},
}

// services returns the services a frontend route passes through.
func services(route string) []string { return routeServices[route] }

// Request is one HTTP request a journey sent.
type Request struct {
	TraceID string
	Method  string
	Route   string
	Path    string
	Start   time.Time
	End     time.Time
	Status  int // 0 when the request failed below HTTP
	Err     string
	// Session is the user session the request carried (baggage
	// session.id); Browser marks a request a browser page made.
	Session string
	Browser bool
}

// Failed reports whether the request got a 5xx or no HTTP answer.
func (r Request) Failed() bool { return r.Status == 0 || r.Status >= 500 }

type result struct {
	status int
	body   map[string]any
	err    error
}

func (r result) str(key string) string {
	v, _ := r.body[key].(string)
	return v
}

// rawJSON is a request body sent as is, even if it is not valid JSON.
type rawJSON []byte

// journey is one simulated user's session.
type journey struct {
	id       string
	session  string // the user's session id, sent with every request as baggage
	category string
	pattern  string
	rng      *mrand.Rand
	r        *runner
	ctx      context.Context
	start    time.Time
	end      time.Time
	traces   []string
	reqs     []Request
	cart     string
	notes    []string
}

func newTraceID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newSessionID makes a session id as a browser SDK does: random, one per
// visit, nothing in it but identity.
func newSessionID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func newSpanID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// call sends one request as its own user action: a new trace.
func (j *journey) call(method, route, path string, body any) result {
	return j.callInTrace(newTraceID(), method, route, path, body)
}

// callInTrace sends a request in an existing trace (a retry within one user
// action), as a new child of the caller's side of it.
func (j *journey) callInTrace(traceID, method, route, path string, body any) result {
	if len(j.traces) == 0 || j.traces[len(j.traces)-1] != traceID {
		j.traces = append(j.traces, traceID)
		j.r.traces.Add(1)
	}
	rec := Request{TraceID: traceID, Method: method, Route: route, Path: path, Start: time.Now(), Session: j.session}
	reqID := j.r.truth.requestStarted(rec.Start)
	res := j.send(traceID, method, path, body)
	rec.End, rec.Status = time.Now(), res.status
	if res.err != nil {
		rec.Err = res.err.Error()
	}
	j.reqs = append(j.reqs, rec)
	j.r.requestDone(reqID, j, rec)
	return res
}

func (j *journey) send(traceID, method, path string, body any) result {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case rawJSON:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return result{err: fmt.Errorf("encode body: %w", err)}
		}
		rd = bytes.NewReader(enc)
	}
	ctx, cancel := context.WithTimeout(j.ctx, j.r.cfg.RequestTimeout.D())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, j.r.target+path, rd)
	if err != nil {
		return result{err: fmt.Errorf("build request: %w", err)}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("traceparent", "00-"+traceID+"-"+newSpanID()+"-01")
	// The session travels with the trace as W3C baggage, as a browser SDK
	// sends it; the shop's edge records it on its span.
	req.Header.Set("baggage", "session.id="+j.session)
	req.Header.Set("User-Agent", "otelcol-agentic-loadgen/1")
	resp, err := j.r.client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	out := result{status: resp.StatusCode, err: err}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &out.body)
	}
	return out
}

// think pauses like a user between actions.
func (j *journey) think() {
	lo, hi := j.r.cfg.ThinkTime.Min.D(), j.r.cfg.ThinkTime.Max.D()
	d := lo
	if hi > lo {
		d += time.Duration(j.rng.Int64N(int64(hi - lo)))
	}
	j.pause(d)
}

func (j *journey) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-j.ctx.Done():
	}
}

func (j *journey) done() bool { return j.ctx.Err() != nil }

// note adds a remark to the journey's ground-truth record.
func (j *journey) note(format string, args ...any) {
	j.notes = append(j.notes, fmt.Sprintf(format, args...))
}

func pick[T any](rng *mrand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// product returns a random product that is in stock.
func (j *journey) product() catalogItem { return pick(j.rng, j.r.catalog.inStock) }

func (j *journey) addToCart(productID, qty int, note string) result {
	body := map[string]any{"product_id": productID, "quantity": qty}
	if j.cart != "" {
		body["cart_id"] = j.cart
	}
	if note != "" {
		body["note"] = note
	}
	res := j.call(http.MethodPost, "POST /cart/add", "/cart/add", body)
	if id := res.str("cart_id"); id != "" && res.status == http.StatusOK {
		j.cart = id
	}
	return res
}

func (j *journey) checkoutBody(card, coupon, name string) map[string]any {
	body := map[string]any{
		"cart_id":     j.cart,
		"email":       fmt.Sprintf("shopper%d@example.com", j.rng.IntN(100000)),
		"card_number": card,
		"shipping": map[string]any{
			"name": name, "line1": fmt.Sprintf("%d Market St", 1+j.rng.IntN(999)),
			"city": pick(j.rng, cities), "country": pick(j.rng, countries),
		},
	}
	if coupon != "" {
		body["coupon"] = coupon
	}
	return body
}

func (j *journey) checkout(route, card, coupon string) result {
	return j.call(http.MethodPost, route, "/checkout", j.checkoutBody(card, coupon, pick(j.rng, names)))
}

func (j *journey) pay(orderID string) result {
	return j.call(http.MethodPost, "POST /payment", "/payment", map[string]any{"order_id": orderID, "idempotency_key": "idem-" + orderID})
}

var (
	cities    = []string{"Springfield", "Portland", "Austin", "Seoul", "Berlin", "Lyon", "Osaka", "Toronto"}
	countries = []string{"US", "KR", "DE", "FR", "JP", "CA"}
	names     = []string{"Ada Lovelace", "Grace Hopper", "Alan Turing", "Kim Minji", "Lee Jihoon", "Marie Curie"}
	okCards   = []string{"4242424242424242", "5555555555554444", "4000056655665556"}
	// Words that hit a handful of products: cheap searches.
	narrowWords = []string{"Lamp", "Kettle", "Backpack", "Headphones", "Scarf", "Notebook", "Tent", "Hoodie", "Candle"}
	// Words that hit most of the catalog: relevance ranking over them is
	// what times out in the database.
	broadWords = []string{"e", "a", "o", "r", "n"}
)
