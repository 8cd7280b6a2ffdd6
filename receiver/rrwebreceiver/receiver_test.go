package rrwebreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
	"github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver/internal/metadata"
)

const testOrigin = "http://127.0.0.1:8080"

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

type testReceiver struct {
	url    string
	logs   *consumertest.LogsSink
	traces *consumertest.TracesSink
}

// startReceiver runs the receiver through its factory, in a logs and a
// traces pipeline, on a free port.
func startReceiver(t *testing.T, edit func(*Config), logs consumer.Logs) *testReceiver {
	t.Helper()
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = freeAddr(t)
	cfg.ServerConfig.CORS = configoptional.Some(confighttp.CORSConfig{AllowedOrigins: []string{testOrigin}, AllowedHeaders: []string{"*"}})
	if edit != nil {
		edit(cfg)
	}
	tr := &testReceiver{url: "http://" + cfg.ServerConfig.NetAddr.Endpoint, logs: new(consumertest.LogsSink), traces: new(consumertest.TracesSink)}
	if logs == nil {
		logs = tr.logs
	}
	set := receivertest.NewNopSettings(metadata.Type)
	lr, err := f.CreateLogs(context.Background(), set, cfg, logs)
	require.NoError(t, err)
	trc, err := f.CreateTraces(context.Background(), set, cfg, tr.traces)
	require.NoError(t, err)
	require.Same(t, lr, trc, "one receiver serves both pipelines")
	require.NoError(t, lr.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, trc.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, lr.Shutdown(context.Background()))
		require.NoError(t, trc.Shutdown(context.Background()))
	})
	return tr
}

func post(t *testing.T, url, contentType string, body []byte, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, err := w.Write(b)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

const t0 = int64(1767225600000) // 2026-01-01T00:00:00Z in ms

// sampleEvents is a short recording: page meta, full snapshot with an
// input whose value was typed, a mouse move, a click and an unmasked input
// change.
func sampleEvents() []string {
	return []string{
		fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/product/7","width":1280,"height":720},"timestamp":%d}`, t0),
		fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"tagName":"body","attributes":{},"childNodes":[{"type":2,"tagName":"h1","attributes":{},"childNodes":[{"type":3,"textContent":"Aurora Desk Lamp","id":5}],"id":4},{"type":2,"tagName":"input","attributes":{"type":"text","value":"4242 4242"},"childNodes":[],"id":6},{"type":2,"tagName":"input","attributes":{"type":"submit","value":"Buy"},"childNodes":[],"id":7}],"id":3}],"id":2}],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, t0+5),
		fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[{"x":10,"y":20,"id":4,"timeOffset":-30}]},"timestamp":%d}`, t0+100),
		fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":6,"x":12,"y":40},"timestamp":%d}`, t0+200),
		fmt.Sprintf(`{"type":3,"data":{"source":5,"text":"secret-card-4242","isChecked":false,"id":6},"timestamp":%d}`, t0+300),
	}
}

func jsonBatch(session string, events []string, extra string) []byte {
	id, _ := json.Marshal(session)
	return []byte(fmt.Sprintf(`{"session_id":%s,"service_name":"shop-web","user_id":"u-17"%s,"events":[%s]}`, id, extra, strings.Join(events, ",")))
}

// message is the text of an error answer: {"error"} of /rrweb,
// google.rpc.Status JSON of OTLP, or plain text.
func message(body string) string {
	var m struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(body), &m) == nil && m.Error+m.Message != "" {
		return m.Error + m.Message
	}
	return body
}

func records(ld plog.Logs) []plog.LogRecord {
	var out []plog.LogRecord
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
				out = append(out, sls.At(j).LogRecords().At(k))
			}
		}
	}
	return out
}

func attr(m pcommon.Map, k string) string {
	v, ok := m.Get(k)
	if !ok {
		return "<absent>"
	}
	return v.AsString()
}

func TestJSONBatchBecomesHyperDXSessionLogs(t *testing.T) {
	r := startReceiver(t, nil, nil)
	ev := sampleEvents()
	status, body := post(t, r.url+PathRRWeb, "application/json",
		jsonBatch("sess-1", ev, `,"trace_ids":["4BF92F3577B34DA6A3CE929D0E0E4736"]`))
	require.Equal(t, http.StatusOK, status, body)
	assert.JSONEq(t, `{"accepted_events":5}`, body)
	// A second batch of the same session continues its numbering.
	status, body = post(t, r.url+PathRRWeb, "text/plain;charset=UTF-8", jsonBatch("sess-1", ev[2:3], ""))
	require.Equal(t, http.StatusOK, status, body)

	require.Len(t, r.logs.AllLogs(), 2)
	ld := r.logs.AllLogs()[0]
	require.Equal(t, 1, ld.ResourceLogs().Len())
	res := ld.ResourceLogs().At(0).Resource().Attributes()
	assert.Equal(t, "shop-web", attr(res, "service.name"))
	assert.Equal(t, "sess-1", attr(res, "rum.sessionId"))
	assert.Equal(t, "u-17", attr(res, "user.id"))
	assert.Contains(t, attr(res, "user_agent.original"), "Chrome/131")
	assert.Equal(t, `["4bf92f3577b34da6a3ce929d0e0e4736"]`, attr(res, "rum.traceIds"))
	assert.Equal(t, "rum.rr-web", ld.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())

	recs := records(ld)
	require.Len(t, recs, 5)
	for i, lr := range recs {
		n := fmt.Sprint(i + 1)
		assert.Equal(t, n, attr(lr.Attributes(), "rr-web.offset"))
		assert.Equal(t, n, attr(lr.Attributes(), "rr-web.event"))
		assert.Equal(t, "1", attr(lr.Attributes(), "rr-web.chunk"))
		assert.Equal(t, "1", attr(lr.Attributes(), "rr-web.total-chunks"))
		assert.Equal(t, plog.SeverityNumberUnspecified, lr.SeverityNumber())
		assert.Empty(t, lr.SeverityText())
		var e struct{ Timestamp int64 }
		require.NoError(t, json.Unmarshal([]byte(lr.Body().Str()), &e))
		assert.Equal(t, e.Timestamp*int64(time.Millisecond), int64(lr.Timestamp()))
	}
	assert.JSONEq(t, ev[0], recs[0].Body().Str(), "events without typed text are stored as sent")
	assert.JSONEq(t, ev[2], recs[2].Body().Str())
	// Typed text is masked on the server: input event and snapshot value.
	assert.JSONEq(t, fmt.Sprintf(`{"type":3,"data":{"source":5,"text":"****************","isChecked":false,"id":6},"timestamp":%d}`, t0+300), recs[4].Body().Str())
	assert.NotContains(t, recs[1].Body().Str(), "4242 4242")
	assert.Contains(t, recs[1].Body().Str(), `"value":"*********"`)
	assert.Contains(t, recs[1].Body().Str(), `"value":"Buy"`, "button labels are not typed text")

	second := records(r.logs.AllLogs()[1])
	require.Len(t, second, 1)
	assert.Equal(t, "6", attr(second[0].Attributes(), "rr-web.event"))
	assert.Equal(t, "6", attr(second[0].Attributes(), "rr-web.offset"))
}

// recorderLogs builds what HyperDX's session recorder sends: resource with
// rum.sessionId, scope rum.rr-web, rr-web.* attributes as doubles.
func recorderLogs(session string, events []string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	rl.Resource().Attributes().PutStr("rum.sessionId", session)
	rl.Resource().Attributes().PutStr("rum.version", "0.26.0")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	for i, e := range events {
		var ev struct{ Timestamp int64 }
		_ = json.Unmarshal([]byte(e), &ev)
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(ev.Timestamp * int64(time.Millisecond)))
		lr.Body().SetStr(e)
		lr.Attributes().PutDouble("rr-web.offset", float64(i+1))
		lr.Attributes().PutInt("rr-web.event", int64(i+1))
		lr.Attributes().PutDouble("rr-web.chunk", 1)
		lr.Attributes().PutDouble("rr-web.total-chunks", 1)
	}
	return ld
}

func TestOTLPFromTheHyperDXRecorder(t *testing.T) {
	r := startReceiver(t, nil, nil)
	ld := recorderLogs("sess-otlp", sampleEvents())
	// An application log in the same request is not a session record.
	other := ld.ResourceLogs().At(0).ScopeLogs().AppendEmpty()
	other.Scope().SetName("console")
	other.LogRecords().AppendEmpty().Body().SetStr("hello")

	for _, tc := range []struct {
		name, contentType string
		encode            func(plogotlp.ExportRequest) ([]byte, error)
		gzip              bool
	}{
		{"protobuf+gzip", "application/x-protobuf", plogotlp.ExportRequest.MarshalProto, true},
		{"protobuf", "application/x-protobuf", plogotlp.ExportRequest.MarshalProto, false},
		{"json+gzip", "application/json", plogotlp.ExportRequest.MarshalJSON, true},
		{"json", "application/json", plogotlp.ExportRequest.MarshalJSON, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.logs.Reset()
			body, err := tc.encode(plogotlp.NewExportRequestFromLogs(ld))
			require.NoError(t, err)
			var headers []string
			if tc.gzip {
				body = gz(t, body)
				headers = []string{"Content-Encoding", "gzip", "Authorization", "key"}
			}
			status, resp := post(t, r.url+PathLogs, tc.contentType, body, headers...)
			require.Equal(t, http.StatusOK, status, resp)
			otlpResp := plogotlp.NewExportResponse()
			if tc.contentType == "application/json" {
				require.NoError(t, otlpResp.UnmarshalJSON([]byte(resp)))
			} else {
				require.NoError(t, otlpResp.UnmarshalProto([]byte(resp)))
			}
			assert.Equal(t, int64(1), otlpResp.PartialSuccess().RejectedLogRecords())
			assert.Contains(t, otlpResp.PartialSuccess().ErrorMessage(), "not session replay records")

			require.Len(t, r.logs.AllLogs(), 1)
			got := r.logs.AllLogs()[0]
			res := got.ResourceLogs().At(0).Resource().Attributes()
			assert.Equal(t, "sess-otlp", attr(res, "rum.sessionId"))
			assert.Equal(t, "0.26.0", attr(res, "rum.version"), "the recorder's resource is kept")
			assert.Contains(t, attr(res, "user_agent.original"), "Chrome/131", "the request's User-Agent fills in the browser")
			recs := records(got)
			require.Len(t, recs, 5)
			for i, lr := range recs {
				for _, k := range []string{"rr-web.offset", "rr-web.event", "rr-web.chunk", "rr-web.total-chunks"} {
					v, ok := lr.Attributes().Get(k)
					require.True(t, ok, k)
					assert.Equal(t, pcommon.ValueTypeStr, v.Type(), "%s is stored as a string", k)
				}
				assert.Equal(t, fmt.Sprint(i+1), attr(lr.Attributes(), "rr-web.offset"))
				assert.Equal(t, "1", attr(lr.Attributes(), "rr-web.total-chunks"))
			}
			assert.Contains(t, recs[4].Body().Str(), `"text":"****************"`)
			assert.NotContains(t, recs[4].Body().Str(), "secret")
		})
	}
}

// bigSnapshot is a full snapshot of n bytes or more, with multi-byte text so
// chunk boundaries fall inside characters.
func bigSnapshot(n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[`, t0+1)
	for i := 0; sb.Len() < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":3,"id":%d,"textContent":"Ünïcödé lämp ✓ 灯 %d"}`, i+2, i)
	}
	sb.WriteString(`]},"initialOffset":{"left":0,"top":0}}}`)
	return sb.String()
}

func reassemble(t *testing.T, recs []plog.LogRecord) []string {
	t.Helper()
	var events []string
	var cur strings.Builder
	for _, lr := range recs {
		cur.WriteString(lr.Body().Str())
		if attr(lr.Attributes(), "rr-web.chunk") == attr(lr.Attributes(), "rr-web.total-chunks") {
			events = append(events, cur.String())
			cur.Reset()
		}
	}
	require.Zero(t, cur.Len(), "a chunked event is incomplete")
	return events
}

func TestLargeEventIsChunkedAndReassembles(t *testing.T) {
	r := startReceiver(t, nil, nil)
	big := bigSnapshot(2_500_000)
	events := []string{sampleEvents()[0], big, sampleEvents()[2]}

	// Plain rrweb: the receiver chunks.
	status, body := post(t, r.url+PathRRWeb, "application/json", gz(t, jsonBatch("sess-big", events, "")), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, status, body)
	// HyperDX recorder sending an unchunked big event: the receiver chunks too.
	pb, err := plogotlp.NewExportRequestFromLogs(recorderLogs("sess-big-otlp", events)).MarshalProto()
	require.NoError(t, err)
	status, body = post(t, r.url+PathLogs, "application/x-protobuf", gz(t, pb), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, status, body)

	for _, ld := range r.logs.AllLogs() {
		recs := records(ld)
		require.Len(t, recs, 5, "3 chunks for the snapshot, 1 record each for the others")
		for i, lr := range recs[1:4] {
			assert.Equal(t, fmt.Sprint(i+1), attr(lr.Attributes(), "rr-web.chunk"))
			assert.Equal(t, "3", attr(lr.Attributes(), "rr-web.total-chunks"))
			assert.Equal(t, "2", attr(lr.Attributes(), "rr-web.event"), "chunks share their event's number")
			assert.Equal(t, fmt.Sprint(i+2), attr(lr.Attributes(), "rr-web.offset"))
			assert.LessOrEqual(t, len(lr.Body().Str()), 950*1024)
			assert.True(t, utf8.ValidString(lr.Body().Str()), "chunks are cut between characters")
			assert.Equal(t, recs[1].Timestamp(), lr.Timestamp())
		}
		got := reassemble(t, recs)
		require.Len(t, got, 3)
		assert.Equal(t, big, got[1])
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(got[1]), &v))
	}

	// Chunks a recorder already split pass through as they are.
	chunks := rrweb.Chunks(big, rrweb.MaxChunkBytes)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	rl.Resource().Attributes().PutStr("rum.sessionId", "sess-prechunked")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	for i, c := range chunks {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp((t0 + 1) * int64(time.Millisecond)))
		lr.Body().SetStr(c)
		lr.Attributes().PutDouble("rr-web.offset", float64(i+1))
		lr.Attributes().PutDouble("rr-web.event", 1)
		lr.Attributes().PutDouble("rr-web.chunk", float64(i+1))
		lr.Attributes().PutDouble("rr-web.total-chunks", float64(len(chunks)))
	}
	r.logs.Reset()
	pb, err = plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	status, body = post(t, r.url+PathLogs, "application/x-protobuf", pb)
	require.Equal(t, http.StatusOK, status, body)
	got := reassemble(t, records(r.logs.AllLogs()[0]))
	require.Equal(t, []string{big}, got)
}

// A large event the HyperDX recorder chunked is put together, scrubbed of
// typed text and chunked again; chunks without the rest of their event in
// the request are refused (partial success), never stored unscrubbed.
func TestChunkedEventIsScrubbedWhole(t *testing.T) {
	r := startReceiver(t, nil, nil)
	const typed = "typed-card-4242-4242"
	big := bigSnapshot(1_500_000)
	// The typed value sits where the recorder's chunks meet.
	cut := rrweb.MaxChunkBytes - 40
	for !strings.HasPrefix(big[cut:], `{"type":3`) {
		cut++
	}
	big = big[:cut] + `{"type":2,"id":999999,"tagName":"input","attributes":{"type":"text","value":"` + typed + `"},"childNodes":[]},` + big[cut:]
	chunks := rrweb.Chunks(big, rrweb.MaxChunkBytes)
	require.Len(t, chunks, 2)
	require.NotContains(t, chunks[0], typed, "the value is split between the chunks")

	request := func(session string, parts []int) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "shop-web")
		rl.Resource().Attributes().PutStr("rum.sessionId", session)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("rum.rr-web")
		for _, i := range parts {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetTimestamp(pcommon.Timestamp((t0 + 1) * int64(time.Millisecond)))
			lr.Body().SetStr(chunks[i])
			lr.Attributes().PutDouble("rr-web.offset", float64(i+1))
			lr.Attributes().PutDouble("rr-web.event", 1)
			lr.Attributes().PutDouble("rr-web.chunk", float64(i+1))
			lr.Attributes().PutDouble("rr-web.total-chunks", float64(len(chunks)))
		}
		return ld
	}
	send := func(ld plog.Logs) plogotlp.ExportResponse {
		pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		status, body := post(t, r.url+PathLogs, "application/x-protobuf", pb)
		require.Equal(t, http.StatusOK, status, body)
		resp := plogotlp.NewExportResponse()
		require.NoError(t, resp.UnmarshalProto([]byte(body)))
		return resp
	}

	// Both chunks, even out of order: stored, masked.
	resp := send(request("sess-chunked-typed", []int{1, 0}))
	assert.Zero(t, resp.PartialSuccess().RejectedLogRecords())
	got := reassemble(t, records(r.logs.AllLogs()[0]))
	require.Len(t, got, 1)
	assert.NotContains(t, got[0], typed)
	assert.Contains(t, got[0], `"value":"`+strings.Repeat("*", len(typed))+`"`)
	assert.Equal(t, len(big), len(got[0]), "only the typed text changed")

	// One chunk alone: refused, nothing stored.
	r.logs.Reset()
	resp = send(request("sess-chunk-alone", []int{0}))
	assert.Equal(t, int64(1), resp.PartialSuccess().RejectedLogRecords())
	assert.Contains(t, resp.PartialSuccess().ErrorMessage(), "send all rr-web.total-chunks of an event in one request")
	assert.Zero(t, r.logs.LogRecordCount())
}

func TestBadRequestsAreAnsweredAndOthersStillFlow(t *testing.T) {
	r := startReceiver(t, func(c *Config) {
		c.ServerConfig.MaxRequestBodySize = 256 << 10
		c.MaxEventsPerRequest = 10
	}, nil)
	good := jsonBatch("sess-ok", sampleEvents(), "")
	goodOTLP, err := plogotlp.NewExportRequestFromLogs(recorderLogs("sess-ok", sampleEvents())).MarshalProto()
	require.NoError(t, err)
	truncated := gz(t, good)
	truncated = truncated[:len(truncated)-12]
	noSession := recorderLogs("", sampleEvents())
	noSession.ResourceLogs().At(0).Resource().Attributes().Remove("rum.sessionId")
	noSessionPB, err := plogotlp.NewExportRequestFromLogs(noSession).MarshalProto()
	require.NoError(t, err)
	tooManyOTLP, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s", append(append(sampleEvents(), sampleEvents()...), sampleEvents()...))).MarshalProto()
	require.NoError(t, err)
	notEvent := recorderLogs("s", []string{`{"type":3,"data":{}}`})
	notEventPB, err := plogotlp.NewExportRequestFromLogs(notEvent).MarshalProto()
	require.NoError(t, err)
	var many []string
	for range 11 {
		many = append(many, sampleEvents()[2])
	}

	for _, tc := range []struct {
		name, path, contentType string
		body                    []byte
		headers                 []string
		status                  int
		msg                     string
	}{
		{"malformed JSON", PathRRWeb, "application/json", []byte(`{"session_id":"s","events":[`), nil, 400, "not a JSON batch"},
		{"missing session id", PathRRWeb, "application/json", []byte(`{"service_name":"shop-web","events":[]}`), nil, 400, "session_id is missing"},
		{"missing service name", PathRRWeb, "application/json", []byte(`{"session_id":"s","events":[]}`), nil, 400, "service_name is missing"},
		{"missing events", PathRRWeb, "application/json", []byte(`{"session_id":"s","service_name":"w"}`), nil, 400, "events is missing"},
		{"event without timestamp", PathRRWeb, "application/json", []byte(`{"session_id":"s","service_name":"w","events":[{"type":2,"data":{}}]}`), nil, 400, `events[0] is not an rrweb event: no numeric "timestamp"`},
		{"event not an object", PathRRWeb, "application/json", []byte(`{"session_id":"s","service_name":"w","events":[42]}`), nil, 400, "events[0] is not an rrweb event"},
		{"bad trace id", PathRRWeb, "application/json", jsonBatch("s", nil, `,"trace_ids":["xyz"]`), nil, 400, `trace_ids[0] "xyz" is not a trace id`},
		{"control characters in session id", PathRRWeb, "application/json", jsonBatch("s\u0001", nil, ""), nil, 400, "control or invalid character"},
		{"too many events", PathRRWeb, "application/json", jsonBatch("s", many, ""), nil, 413, "holds 11 events, more than the 10 allowed"},
		{"body too large", PathRRWeb, "application/json", jsonBatch("s", []string{bigSnapshot(300 << 10)}, ""), nil, 413, "larger than max_request_body_size (262144 bytes"},
		{"gzip bomb over the limit", PathRRWeb, "application/json", gz(t, jsonBatch("s", []string{bigSnapshot(300 << 10)}, "")), []string{"Content-Encoding", "gzip"}, 413, "larger than max_request_body_size"},
		{"truncated gzip", PathRRWeb, "application/json", truncated, []string{"Content-Encoding", "gzip"}, 400, "truncated or corrupt"},
		{"not gzip at all", PathRRWeb, "application/json", good, []string{"Content-Encoding", "gzip"}, 400, "could not decompress the request body: gzip: invalid header"},
		{"unknown encoding", PathRRWeb, "application/json", good, []string{"Content-Encoding", "br2"}, 400, "unsupported Content-Encoding: br2"},
		{"wrong content type", PathRRWeb, "application/xml", good, nil, 415, `Content-Type "application/xml" is not accepted`},
		{"malformed protobuf", PathLogs, "application/x-protobuf", []byte{0x0a, 0xff, 0xff, 0x01}, nil, 400, "not an OTLP protobuf logs request"},
		{"gzip sent without Content-Encoding", PathLogs, "application/x-protobuf", gz(t, goodOTLP), nil, 400, "not an OTLP protobuf logs request (compressed without Content-Encoding?)"},
		{"malformed OTLP JSON", PathLogs, "application/json", []byte(`{"resourceLogs":[{`), nil, 400, "not an OTLP/JSON logs request"},
		{"OTLP without session id", PathLogs, "application/x-protobuf", noSessionPB, nil, 400, "resourceLogs[0].scopeLogs[0].logRecords[0] has no session id: set the resource attribute rum.sessionId"},
		{"OTLP record that is no rrweb event", PathLogs, "application/x-protobuf", notEventPB, nil, 400, `the body is not an rrweb event: no numeric "timestamp"`},
		{"OTLP too many records", PathLogs, "application/x-protobuf", tooManyOTLP, nil, 413, "holds 15 log records, more than the 10 allowed"},
		{"OTLP truncated gzip", PathLogs, "application/x-protobuf", gz(t, goodOTLP)[:40], []string{"Content-Encoding", "gzip"}, 400, "truncated or corrupt"},
		{"OTLP wrong content type", PathLogs, "text/plain", goodOTLP, nil, 415, "send OTLP as application/x-protobuf or application/json"},
		{"malformed traces", PathTraces, "application/json", []byte(`[1,2`), nil, 400, "not an OTLP traces request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, r.url+tc.path, tc.contentType, tc.body, tc.headers...)
			assert.Equal(t, tc.status, status, body)
			assert.Contains(t, message(body), tc.msg)
			// The next good batches are unaffected.
			status, body = post(t, r.url+PathRRWeb, "application/json", good)
			assert.Equal(t, http.StatusOK, status, body)
			status, body = post(t, r.url+PathLogs, "application/x-protobuf", goodOTLP)
			assert.Equal(t, http.StatusOK, status, body)
		})
	}

	// OTLP errors are google.rpc.Status messages in the request's encoding.
	status, body := post(t, r.url+PathLogs, "application/json", []byte(`{"resourceLogs":[{`))
	require.Equal(t, 400, status)
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	assert.Equal(t, 3, st.Code)

	req, err := http.NewRequest(http.MethodGet, r.url+PathRRWeb, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestPipelineErrorsAreReported(t *testing.T) {
	var fail error
	sink := new(consumertest.LogsSink)
	logs, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
		if fail != nil {
			return fail
		}
		return sink.ConsumeLogs(ctx, ld)
	})
	require.NoError(t, err)
	r := startReceiver(t, nil, logs)
	fail = errors.New("queue is full")
	status, body := post(t, r.url+PathRRWeb, "application/json", jsonBatch("s", sampleEvents(), ""))
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "queue is full")
	fail = consumererror.NewPermanent(errors.New("bad data"))
	status, _ = post(t, r.url+PathRRWeb, "application/json", jsonBatch("s", sampleEvents(), ""))
	assert.Equal(t, http.StatusBadRequest, status)
	fail = nil
	status, _ = post(t, r.url+PathRRWeb, "application/json", jsonBatch("s", sampleEvents(), ""))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, 5, sink.LogRecordCount())
}

// A browser abandons its in-flight requests when the page goes away (a click
// to the next page aborts the fetch of the last batch). What the receiver has
// read by then is stored all the same, in every exporter: the pipeline's
// context is not cancelled with the request's.
func TestBatchIsStoredWhenTheBrowserGoesAway(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		body       func() []byte
	}{
		{"rrweb", PathRRWeb, func() []byte { return jsonBatch("s-gone", sampleEvents(), "") }},
		{"otlp", PathLogs, func() []byte {
			b, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s-gone", sampleEvents())).MarshalProto()
			require.NoError(t, err)
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entered, gone := make(chan struct{}), make(chan struct{})
			stored := make(chan error, 1)
			sink := new(consumertest.LogsSink)
			logs, err := consumer.NewLogs(func(ctx context.Context, ld plog.Logs) error {
				close(entered)
				<-gone
				// The server notices the closed connection at once; give it
				// time to cancel the request's context before storing.
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
				err := ctx.Err()
				if err == nil {
					err = sink.ConsumeLogs(ctx, ld)
				}
				stored <- err
				return err
			})
			require.NoError(t, err)
			r := startReceiver(t, nil, logs)

			ctx, cancel := context.WithCancel(context.Background())
			contentType := "application/json"
			if tc.path == PathLogs {
				contentType = "application/x-protobuf"
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+tc.path, bytes.NewReader(tc.body()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", contentType)
			done := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				done <- err
			}()
			<-entered
			cancel()
			require.ErrorIs(t, <-done, context.Canceled, "the client gave up before the answer")
			close(gone)
			assert.NoError(t, <-stored, "the pipeline's context was cancelled with the request's")
			assert.Equal(t, len(sampleEvents()), sink.LogRecordCount())
		})
	}
}

func TestBrowserTracesPassThrough(t *testing.T) {
	r := startReceiver(t, nil, nil)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "shop-web")
	rs.Resource().Attributes().PutStr("rum.sessionId", "sess-1")
	sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetName("HTTP POST")
	sp.SetTraceID(pcommon.TraceID{1, 2, 3})
	sp.SetSpanID(pcommon.SpanID{4})
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalJSON()
	require.NoError(t, err)
	status, resp := post(t, r.url+PathTraces, "application/json", body)
	require.Equal(t, http.StatusOK, status, resp)
	require.Len(t, r.traces.AllTraces(), 1)
	assert.Equal(t, "sess-1", attr(r.traces.AllTraces()[0].ResourceSpans().At(0).Resource().Attributes(), "rum.sessionId"))
	assert.Zero(t, r.logs.LogRecordCount())
}

func TestCORSPreflightForTheShopOrigin(t *testing.T) {
	r := startReceiver(t, nil, nil)
	for _, tc := range []struct {
		origin string
		allow  string
	}{{testOrigin, testOrigin}, {"http://evil.test", ""}} {
		req, err := http.NewRequest(http.MethodOptions, r.url+PathRRWeb, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,content-encoding")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, tc.allow, resp.Header.Get("Access-Control-Allow-Origin"), tc.origin)
	}
}

func TestLifecycle(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = freeAddr(t)
	set := receivertest.NewNopSettings(metadata.Type)
	// Shutdown without Start.
	r, err := f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	// Start, Shutdown, and again with a fresh instance on the same port.
	for range 2 {
		r, err = f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
		require.NoError(t, err)
		require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
		require.NoError(t, r.Shutdown(context.Background()))
	}
	// A logs-only receiver refuses traces with a clear answer.
	r, err = f.CreateLogs(context.Background(), set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	status, body := post(t, "http://"+cfg.ServerConfig.NetAddr.Endpoint+PathTraces, "application/json", []byte(`{}`))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "not in a traces pipeline")
}
