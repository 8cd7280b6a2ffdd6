// Package services implements the shop's five services. Each is an HTTP
// handler with its own telemetry; they talk to each other over HTTP only.
package services

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/internal/telemetry"
)

// Service names.
const (
	Frontend  = "frontend"
	Cart      = "cart"
	Checkout  = "checkout"
	Payment   = "payment"
	Inventory = "inventory"

	// Dependencies that are not services of the shop.
	Gateway         = "payment-gateway"
	Recommendations = "recommendations"
)

// All lists the shop's services in dependency order (callees last).
var All = []string{Frontend, Cart, Checkout, Payment, Inventory}

// Timeouts bound every wait in the system.
type Timeouts struct {
	Upstream          time.Duration // frontend -> any service
	CartInventory     time.Duration // cart -> inventory
	Payment           time.Duration // checkout -> payment
	InventoryAttempt  time.Duration // payment -> inventory, per attempt
	InventoryAttempts int           // payment -> inventory, attempts
	Gateway           time.Duration // payment -> payment gateway
	PoolAcquire       time.Duration // waiting for a database connection
	Query             time.Duration // one SQL statement
	ReservationTTL    time.Duration // held stock is released after this
	Maintenance       time.Duration // inventory's background job period
}

// Env is what every service is built from.
type Env struct {
	Tel      *telemetry.Service
	Faults   *faults.Registry
	Timeouts Timeouts
	// HeapLimit makes the service shed requests with 503 while the process
	// heap is above it; 0 disables shedding.
	HeapLimit uint64
	// URLs maps a dependency name to its base URL.
	URLs map[string]string
	// DeadAddr is an address nothing listens on.
	DeadAddr     string
	DataDir      string
	MaxOpenConns int
}

// maxBody is the largest request body any service accepts.
const maxBody = 1 << 20

// apiError is a failure a handler reports; the server logs it once, records
// it on the span and writes it as the JSON response.
type apiError struct {
	Status int
	Type   string // exception type, e.g. "InventoryDBError"
	Err    error
	Op     string // the failing operation, e.g. "reserve_stock"
	Detail string // e.g. "sku=SKU-1042"
	Attrs  []slog.Attr
}

func (e *apiError) Error() string {
	var b strings.Builder
	b.WriteString(e.Type)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	if e.Op != "" {
		b.WriteString(" during ")
		b.WriteString(e.Op)
	}
	if e.Detail != "" {
		b.WriteString(" ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func (e *apiError) Unwrap() error { return e.Err }

func fail(status int, typ string, err error, op, detail string, attrs ...slog.Attr) *apiError {
	return &apiError{Status: status, Type: typ, Err: err, Op: op, Detail: detail, Attrs: attrs}
}

// passthrough relays a dependency's client error unchanged and unlogged: the
// service that decided it has already logged it.
type passthrough struct {
	status int
	body   []byte
}

func (p *passthrough) Error() string { return fmt.Sprintf("upstream status %d", p.status) }

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// server is the part every service shares: routing with route-level
// behaviour (panic recovery, load shedding, the applied primitives) and the
// failure logging.
type server struct {
	name string
	env  Env
	log  *slog.Logger
	mux  *http.ServeMux
	wg   sync.WaitGroup // asynchronous work started by requests
	// accessLog logs every request at INFO once answered, as an edge
	// service's access log does.
	accessLog bool
	// sessionAttr records the client's session (the session.id baggage
	// member its SDK sends) on the server span, as an edge service does so
	// that a session's requests can be found and judged together.
	sessionAttr bool
}

func newServer(name string, env Env) *server {
	return &server{name: name, env: env, log: env.Tel.Log, mux: http.NewServeMux()}
}

// Handler returns the traced handler of the service's routes.
func (s *server) Handler() http.Handler {
	return otelhttp.NewHandler(s.mux, s.name,
		otelhttp.WithTracerProvider(s.env.Tel.TracerProvider),
		otelhttp.WithMeterProvider(s.env.Tel.MeterProvider),
		otelhttp.WithPropagators(s.env.Tel.Propagator),
	)
}

// wait blocks until asynchronous work started by requests has finished.
func (s *server) wait() { s.wg.Wait() }

func (s *server) handle(pattern string, h handlerFunc) { s.route(pattern, h, true) }

// handleCached registers a route that answers from memory: admission control
// does not apply to it as a whole; its handler calls admit before it does
// work that allocates (database transactions).
func (s *server) handleCached(pattern string, h handlerFunc) { s.route(pattern, h, false) }

func (s *server) route(pattern string, h handlerFunc, guarded bool) {
	_, route, _ := strings.Cut(pattern, " ")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		span := trace.SpanFromContext(ctx)
		span.SetAttributes(semconv.HTTPRoute(route))
		if s.sessionAttr {
			if id := baggage.FromContext(ctx).Member(string(semconv.SessionIDKey)).Value(); id != "" {
				span.SetAttributes(semconv.SessionID(truncate(id, 128)))
			}
		}
		if s.accessLog {
			rec := &statusRecorder{ResponseWriter: w}
			w = rec
			start := time.Now()
			defer func() {
				v := recover()
				status := rec.code()
				if v != nil {
					status = 0 // connection dropped without an answer
				}
				s.log.InfoContext(ctx, fmt.Sprintf("%s %s %d %dms", r.Method, route, status, time.Since(start).Milliseconds()),
					slog.String("http.request.method", r.Method), slog.String("http.route", route),
					slog.Int("http.response.status_code", status), slog.Int64("duration_ms", time.Since(start).Milliseconds()))
				if v != nil {
					panic(v)
				}
			}()
		}
		defer s.recoverPanic(w, r, route)
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)

		if err := s.beforeHandler(r, pattern, guarded); err != nil {
			s.writeError(w, r, route, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, route, err)
		}
	})
}

// admit is admission control: while the heap is above the service's limit,
// work that would allocate more is refused with 503.
func (s *server) admit() error {
	if s.env.HeapLimit == 0 {
		return nil
	}
	heap, gcs := telemetry.Heap()
	if heap <= s.env.HeapLimit {
		return nil
	}
	return fail(http.StatusServiceUnavailable, "ServiceOverloadedError",
		fmt.Errorf("shedding request: heap in use %dMiB exceeds limit %dMiB (gc_cycles=%d)",
			heap>>20, s.env.HeapLimit>>20, gcs),
		"admission_control", "")
}

// beforeHandler runs what happens to every request before the handler:
// admission control (for guarded routes), then the applied primitives.
func (s *server) beforeHandler(r *http.Request, pattern string, guarded bool) error {
	if guarded {
		if err := s.admit(); err != nil {
			return err
		}
	}
	f := s.env.Faults
	f.OnRequest(s.name, pattern)
	if d := f.Delay(s.name, faults.Match{Route: pattern}); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	switch f.Failure(s.name, pattern) {
	case faults.ModePanic:
		var prefs *localePrefs
		_ = prefs.language()
	case faults.ModeAbort:
		panic(http.ErrAbortHandler)
	}
	return nil
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

type localePrefs struct{ tag string }

func (p *localePrefs) language() string { return p.tag }

func (s *server) recoverPanic(w http.ResponseWriter, r *http.Request, route string) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	stack := string(debug.Stack())
	typ := fmt.Sprintf("%T", v)
	msg := fmt.Sprint(v)
	ctx := r.Context()
	span := trace.SpanFromContext(ctx)
	span.RecordError(fmt.Errorf("panic: %s", msg), trace.WithAttributes(
		semconv.ExceptionType(typ), attribute.String("exception.stacktrace", stack)))
	span.SetStatus(codes.Error, msg)
	s.log.ErrorContext(ctx, fmt.Sprintf("panic serving %s %s: %s", r.Method, route, msg),
		slog.String("exception.type", typ),
		slog.String("exception.message", msg),
		slog.String("exception.stacktrace", stack),
		slog.String("http.route", route),
		slog.Int("http.response.status_code", http.StatusInternalServerError))
	writeJSON(w, http.StatusInternalServerError, map[string]string{
		"error": "InternalServerError", "message": "internal error"})
}

func (s *server) writeError(w http.ResponseWriter, r *http.Request, route string, err error) {
	ctx := r.Context()
	var pt *passthrough
	if errors.As(err, &pt) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(pt.status)
		_, _ = w.Write(pt.body)
		return
	}
	var ae *apiError
	if !errors.As(err, &ae) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ae = fail(http.StatusRequestEntityTooLarge, "PayloadTooLargeError",
				fmt.Errorf("request body exceeds %d bytes", mbe.Limit), "read_request", "")
		} else {
			ae = fail(http.StatusInternalServerError, "InternalError", err, "", "")
		}
	}
	level := slog.LevelWarn
	if ae.Status >= 500 {
		level = slog.LevelError
		span := trace.SpanFromContext(ctx)
		span.RecordError(ae, trace.WithAttributes(semconv.ExceptionType(ae.Type)))
		span.SetStatus(codes.Error, ae.Error())
	}
	attrs := append([]slog.Attr{
		slog.String("exception.type", ae.Type),
		slog.String("exception.message", ae.Err.Error()),
		slog.String("http.route", route),
		slog.String("http.request.method", r.Method),
		slog.Int("http.response.status_code", ae.Status),
	}, ae.Attrs...)
	if ae.Op != "" {
		attrs = append(attrs, slog.String("operation", ae.Op))
	}
	s.log.LogAttrs(ctx, level, ae.Error(), attrs...)
	writeJSON(w, ae.Status, map[string]string{"error": ae.Type, "message": ae.Error()})
}

// async runs fn after the request, in the request's trace but not bound to
// its cancellation.
func (s *server) async(ctx context.Context, fn func(ctx context.Context)) {
	ctx = context.WithoutCancel(ctx)
	s.wg.Go(func() { fn(ctx) })
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON body into v, mapping failures to 400/413.
func decode(r *http.Request, v any, op string) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fail(http.StatusRequestEntityTooLarge, "PayloadTooLargeError",
				fmt.Errorf("request body exceeds %d bytes", mbe.Limit), op, "")
		}
		return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("read body: %w", err), op, "")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fail(http.StatusBadRequest, "BadRequestError", fmt.Errorf("invalid JSON body: %w", err), op, "")
	}
	return nil
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// truncate keeps user text in log lines bounded.
func truncate(s string, n int) string { return clip.Marked(s, n) }

// cardLast4 is all of a card number that may appear in logs.
func cardLast4(n string) string {
	if len(n) < 4 {
		return n
	}
	return n[len(n)-4:]
}
