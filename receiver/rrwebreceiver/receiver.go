package rrwebreceiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
)

// Paths the receiver serves.
const (
	PathRRWeb  = "/rrweb"
	PathLogs   = "/v1/logs"
	PathTraces = "/v1/traces"
)

type rrwebReceiver struct {
	cfg      *Config
	set      receiver.Settings
	obsrep   *receiverhelper.ObsReport
	counters *sessionCounters
	// scrubber masks typed text, knowing each session's editable nodes.
	scrubber *rrweb.Scrubber
	forget   func()

	mu     sync.Mutex
	logs   consumer.Logs
	traces consumer.Traces

	startOnce    sync.Once
	startErr     error
	shutdownOnce sync.Once
	server       *http.Server
	wg           sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, forget func()) (*rrwebReceiver, error) {
	obsrep, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &rrwebReceiver{cfg: cfg, set: set, obsrep: obsrep, counters: newSessionCounters(), scrubber: rrweb.NewScrubber(), forget: forget}, nil
}

func (r *rrwebReceiver) setLogs(c consumer.Logs) {
	r.mu.Lock()
	r.logs = c
	r.mu.Unlock()
}

func (r *rrwebReceiver) setTraces(c consumer.Traces) {
	r.mu.Lock()
	r.traces = c
	r.mu.Unlock()
}

func (r *rrwebReceiver) consumers() (consumer.Logs, consumer.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.logs, r.traces
}

// Handler returns the receiver's routes, without the server's middleware
// (CORS, decompression, body limit), for tests and benchmarks.
func (r *rrwebReceiver) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathRRWeb, r.handleRRWeb)
	mux.HandleFunc(PathLogs, r.handleLogs)
	mux.HandleFunc(PathTraces, r.handleTraces)
	return mux
}

// Start opens the HTTP endpoint; a receiver used in two pipelines is
// started once.
func (r *rrwebReceiver) Start(ctx context.Context, host component.Host) error {
	r.startOnce.Do(func() { r.startErr = r.start(ctx, host) })
	return r.startErr
}

func (r *rrwebReceiver) start(ctx context.Context, host component.Host) error {
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("rrweb receiver: listen on %s: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	srv, err := r.cfg.ServerConfig.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, r.Handler(),
		confighttp.WithErrorHandler(decompressionError))
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("rrweb receiver: %w", err)
	}
	r.server = srv
	r.set.Logger.Info("rrweb receiver listening", zap.String("endpoint", ln.Addr().String()))
	r.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	})
	return nil
}

// Shutdown stops the endpoint; safe without Start and when called once per
// pipeline.
func (r *rrwebReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdownOnce.Do(func() {
		if r.forget != nil {
			r.forget()
		}
		if r.server != nil {
			err = r.server.Shutdown(ctx)
		}
		r.wg.Wait()
	})
	return err
}

// decompressionError answers a body whose Content-Encoding could not be
// opened.
func decompressionError(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	writeText(w, status, "could not decompress the request body: "+msg+
		" (send it uncompressed or with Content-Encoding gzip, zstd, deflate or snappy)")
}

// requestError is an answer other than 200.
type requestError struct {
	status int
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// readBody reads the whole (already decompressed) body, telling a body
// over the limit from a corrupt or truncated one.
func readBody(req *http.Request) ([]byte, error) {
	body, err := io.ReadAll(req.Body)
	if err == nil {
		return body, nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &requestError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("request body is larger than max_request_body_size (%d bytes, after decompression): send smaller batches", tooLarge.Limit)}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return nil, &requestError{status: http.StatusRequestTimeout, msg: "timed out reading the request body"}
	}
	return nil, badRequest("could not read the request body (truncated or corrupt compressed stream?): %v", err)
}

func mediaType(req *http.Request) string {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(req.Header.Get("Content-Type")))
	}
	return mt
}

func (r *rrwebReceiver) handleRRWeb(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "use POST with a JSON batch")
		return
	}
	// sendBeacon posts strings as text/plain.
	switch mediaType(req) {
	case "", "application/json", "text/plain":
	default:
		writeJSONError(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q is not accepted: send the batch as application/json", req.Header.Get("Content-Type")))
		return
	}
	logs, _ := r.consumers()
	if logs == nil {
		writeJSONError(w, http.StatusNotFound, "this rrweb receiver is not in a logs pipeline")
		return
	}
	body, err := readBody(req)
	if err != nil {
		writeJSONError(w, statusOf(err), err.Error())
		return
	}
	batch, err := rrweb.DecodeBatch(body, r.cfg.MaxEventsPerRequest)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, rrweb.ErrTooManyEvents) {
			status = http.StatusRequestEntityTooLarge
		}
		writeJSONError(w, status, err.Error())
		return
	}
	if batch.UserAgent == "" {
		batch.UserAgent = req.UserAgent()
	}
	ld := batchToLogs(batch, r.counters, r.scrubber)
	ctx := r.obsrep.StartLogsOp(storeContext(req))
	err = logs.ConsumeLogs(ctx, ld)
	r.obsrep.EndLogsOp(ctx, "rrweb", ld.LogRecordCount(), err)
	if err != nil {
		code, msg := consumerStatus(w, err)
		writeJSONError(w, code, "could not store the batch: "+msg)
		return
	}
	r.set.Logger.Debug("rrweb batch", zap.String("session", batch.SessionID), zap.Int("events", len(batch.Events)))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = fmt.Fprintf(w, `{"accepted_events":%d}`, len(batch.Events))
}

// otlpEncoding is the body encoding of an OTLP/HTTP request.
type otlpEncoding string

const (
	encProto otlpEncoding = "application/x-protobuf"
	encJSON  otlpEncoding = "application/json"
)

func otlpEncodingOf(req *http.Request) (otlpEncoding, bool) {
	switch mediaType(req) {
	case "application/x-protobuf", "application/protobuf":
		return encProto, true
	case "application/json":
		return encJSON, true
	}
	return "", false
}

func (r *rrwebReceiver) otlpPreamble(w http.ResponseWriter, req *http.Request) (otlpEncoding, []byte, bool) {
	if req.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeText(w, http.StatusMethodNotAllowed, "use POST with an OTLP request")
		return "", nil, false
	}
	enc, ok := otlpEncodingOf(req)
	if !ok {
		writeText(w, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q is not accepted: send OTLP as application/x-protobuf or application/json", req.Header.Get("Content-Type")))
		return "", nil, false
	}
	body, err := readBody(req)
	if err != nil {
		writeStatus(w, enc, statusOf(err), err.Error())
		return "", nil, false
	}
	return enc, body, true
}

func (r *rrwebReceiver) handleLogs(w http.ResponseWriter, req *http.Request) {
	enc, body, ok := r.otlpPreamble(w, req)
	if !ok {
		return
	}
	logs, _ := r.consumers()
	if logs == nil {
		writeStatus(w, enc, http.StatusNotFound, "this rrweb receiver is not in a logs pipeline")
		return
	}
	otlpReq, err := decodeLogsRequest(enc, body)
	if err != nil {
		writeStatus(w, enc, http.StatusBadRequest, err.Error())
		return
	}
	res, err := normalizeLogs(otlpReq.Logs(), normalizeOptions{
		userAgent: req.UserAgent(), maxRecords: r.cfg.MaxEventsPerRequest, counters: r.counters, scrubber: r.scrubber,
	})
	if err != nil {
		writeStatus(w, enc, statusOf(err), err.Error())
		return
	}
	if res.logs.LogRecordCount() > 0 {
		ctx := r.obsrep.StartLogsOp(storeContext(req))
		err = logs.ConsumeLogs(ctx, res.logs)
		r.obsrep.EndLogsOp(ctx, "otlp", res.logs.LogRecordCount(), err)
		if err != nil {
			code, msg := consumerStatus(w, err)
			writeStatus(w, enc, code, "could not store the session logs: "+msg)
			return
		}
	}
	resp := plogotlp.NewExportResponse()
	var why []string
	if res.rejected > 0 {
		why = append(why, fmt.Sprintf(
			"%d log records are not session replay records (no %s scope or %s attribute) and were dropped: send application logs to the OTLP receiver",
			res.rejected, rrweb.ScopeName, rrweb.AttrEvent))
	}
	if res.incomplete > 0 {
		why = append(why, fmt.Sprintf(
			"%d chunks of events whose other chunks were not in the request were dropped: typed text is masked in whole events, so send all %s of an event in one request",
			res.incomplete, rrweb.AttrTotalChunks))
	}
	if n := res.rejected + res.incomplete; n > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(int64(n))
		resp.PartialSuccess().SetErrorMessage(strings.Join(why, "; "))
	}
	var msg []byte
	if enc == encJSON {
		msg, err = resp.MarshalJSON()
	} else {
		msg, err = resp.MarshalProto()
	}
	if err != nil {
		writeStatus(w, enc, http.StatusInternalServerError, err.Error())
		return
	}
	writeBody(w, string(enc), http.StatusOK, msg)
}

func decodeLogsRequest(enc otlpEncoding, body []byte) (plogotlp.ExportRequest, error) {
	req := plogotlp.NewExportRequest()
	if enc == encJSON {
		if err := req.UnmarshalJSON(body); err != nil {
			return req, fmt.Errorf("the body is not an OTLP/JSON logs request: %w", err)
		}
		return req, nil
	}
	if err := req.UnmarshalProto(body); err != nil {
		return req, fmt.Errorf("the body is not an OTLP protobuf logs request (compressed without Content-Encoding?): %w", err)
	}
	return req, nil
}

func (r *rrwebReceiver) handleTraces(w http.ResponseWriter, req *http.Request) {
	enc, body, ok := r.otlpPreamble(w, req)
	if !ok {
		return
	}
	_, traces := r.consumers()
	if traces == nil {
		writeStatus(w, enc, http.StatusNotFound, "this rrweb receiver is not in a traces pipeline: add it to one to accept browser traces")
		return
	}
	otlpReq := ptraceotlp.NewExportRequest()
	var err error
	if enc == encJSON {
		err = otlpReq.UnmarshalJSON(body)
	} else {
		err = otlpReq.UnmarshalProto(body)
	}
	if err != nil {
		writeStatus(w, enc, http.StatusBadRequest, "the body is not an OTLP traces request: "+err.Error())
		return
	}
	td := otlpReq.Traces()
	if n := td.SpanCount(); n > 0 {
		ctx := r.obsrep.StartTracesOp(storeContext(req))
		err = traces.ConsumeTraces(ctx, td)
		r.obsrep.EndTracesOp(ctx, "otlp", n, err)
		if err != nil {
			code, msg := consumerStatus(w, err)
			writeStatus(w, enc, code, "could not store the traces: "+msg)
			return
		}
	}
	resp := ptraceotlp.NewExportResponse()
	var msg []byte
	if enc == encJSON {
		msg, err = resp.MarshalJSON()
	} else {
		msg, err = resp.MarshalProto()
	}
	if err != nil {
		writeStatus(w, enc, http.StatusInternalServerError, err.Error())
		return
	}
	writeBody(w, string(enc), http.StatusOK, msg)
}

func statusOf(err error) int {
	var re *requestError
	if errors.As(err, &re) {
		return re.status
	}
	return http.StatusBadRequest
}

// consumerStatus maps a pipeline error to an answer, as the OTLP receiver
// does: a gRPC status carried through keeps its meaning (INVALID_ARGUMENT
// is the sender's 400, RESOURCE_EXHAUSTED a 429 whose retry delay becomes
// Retry-After), one that retrying cannot fix is the sender's 400, anything
// else is worth retrying later (503).
func consumerStatus(w http.ResponseWriter, err error) (int, string) {
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.InvalidArgument:
			return http.StatusBadRequest, st.Message()
		case codes.ResourceExhausted:
			for _, d := range st.Details() {
				if ri, ok := d.(*errdetails.RetryInfo); ok {
					secs := int64(math.Ceil(ri.GetRetryDelay().AsDuration().Seconds()))
					w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
				}
			}
			return http.StatusTooManyRequests, st.Message()
		}
		if consumererror.IsPermanent(err) {
			return http.StatusBadRequest, st.Message()
		}
		return http.StatusServiceUnavailable, st.Message()
	}
	if consumererror.IsPermanent(err) {
		return http.StatusBadRequest, err.Error()
	}
	return http.StatusServiceUnavailable, err.Error()
}

// storeContext is the context a request's data is stored under: the
// request's values without its cancellation. Once the body is read the data
// is ours to keep; a browser abandons its requests whenever the page goes
// away (a click to the next page aborts an in-flight fetch), and that must
// not leave a batch half-stored, in one exporter and not the next.
func storeContext(req *http.Request) context.Context {
	return context.WithoutCancel(req.Context())
}
