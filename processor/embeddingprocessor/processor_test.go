package embeddingprocessor

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor/internal/metadata"
)

func logBatch() plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "payment")
	sl := rl.ScopeLogs().AppendEmpty()
	add := func(sev plog.SeverityNumber, text, body string) plog.LogRecord {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetSeverityNumber(sev)
		lr.SetSeverityText(text)
		lr.Body().SetStr(body)
		return lr
	}
	add(plog.SeverityNumberInfo, "INFO", "charged order 1234")
	add(plog.SeverityNumberError, "ERROR", "timeout waiting for connection from pool after 5000ms (active=20, idle=0)")
	add(plog.SeverityNumberError, "ERROR", "timeout waiting for connection from pool after 7311ms (active=20, idle=0)")
	add(0, "error", "dial tcp 10.0.0.5:5432: connect: connection refused")
	add(plog.SeverityNumberError, "ERROR", "   ")
	exc := add(plog.SeverityNumberInfo, "INFO", "")
	exc.Attributes().PutStr("exception.type", "java.lang.NullPointerException")
	exc.Attributes().PutStr("exception.message", "Cannot invoke \"String.length()\" because \"s\" is null")
	return ld
}

func TestLogsKeepsErrorsAndEmbedsEachTemplateOnce(t *testing.T) {
	sink := new(consumertest.LogsSink)
	f := NewFactory()
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, p.Shutdown(context.Background())) }()

	require.NoError(t, p.ConsumeLogs(context.Background(), logBatch()))
	require.Len(t, sink.AllLogs(), 1)
	out := sink.AllLogs()[0]
	require.Equal(t, 4, out.LogRecordCount(), "INFO without exception and the blank ERROR are dropped")

	recs := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	get := func(i int, k string) pcommon.Value {
		v, ok := recs.At(i).Attributes().Get(k)
		require.True(t, ok, "record %d lacks %s", i, k)
		return v
	}
	assert.Equal(t, get(0, vecattr.TemplateHash).Int(), get(1, vecattr.TemplateHash).Int(), "same error, different numbers")
	assert.Equal(t, get(0, vecattr.Template).Str(), get(1, vecattr.Template).Str())
	assert.NotContains(t, get(0, vecattr.Template).Str(), "5000")
	assert.NotEqual(t, get(0, vecattr.TemplateHash).Int(), get(2, vecattr.TemplateHash).Int())
	assert.Contains(t, get(3, vecattr.Template).Str(), "java.lang.NullPointerException")
	for _, i := range []int{0, 2, 3} {
		v, err := vecattr.Decode(get(i, vecattr.Vector).Bytes().AsRaw())
		require.NoError(t, err)
		assert.Len(t, v, 384)
		assert.Equal(t, "hash-v3-384", get(i, vecattr.Model).Str())
	}
	_, repeated := recs.At(1).Attributes().Get(vecattr.Vector)
	assert.False(t, repeated, "a template's vector rides on its first record of the batch only")
}

// Without keep_attributes a selected record goes on whole but for its
// attributes: the exception.* ones stay, the others are counted as dropped.
func TestLogsWithoutTheirAttributes(t *testing.T) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	in := sl.LogRecords().AppendEmpty()
	ts := pcommon.NewTimestampFromTime(time.Unix(1_700_000_000, 42))
	in.SetTimestamp(ts)
	in.SetObservedTimestamp(ts + 7)
	in.SetTraceID(pcommon.TraceID{1, 2, 3})
	in.SetSpanID(pcommon.SpanID{4, 5})
	in.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
	in.SetSeverityNumber(plog.SeverityNumberError)
	in.SetSeverityText("ERROR")
	in.SetEventName("order.failed")
	in.SetDroppedAttributesCount(1)
	in.Body().SetStr("OrderDBError: deadlock detected during update_order order_id=991")
	in.Attributes().PutStr("exception.type", "OrderDBError")
	in.Attributes().PutStr("exception.message", "deadlock detected")
	in.Attributes().PutStr("order_id", "991")
	in.Attributes().PutInt("http.response.status_code", 500)
	orig := plog.NewLogs()
	ld.CopyTo(orig)

	for _, keep := range []bool{true, false} {
		sink := new(consumertest.LogsSink)
		f := NewFactory()
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.Logs.KeepAttributes = keep
		p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
		require.NoError(t, err)
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		require.Len(t, sink.AllLogs(), 1)
		out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)

		want := plog.NewLogRecord()
		in.CopyTo(want)
		if !keep {
			want.Attributes().RemoveIf(func(k string, _ pcommon.Value) bool { return k == "order_id" || k == "http.response.status_code" })
			want.SetDroppedAttributesCount(3)
		}
		// What the processor adds is checked elsewhere; here, what it kept.
		got := plog.NewLogRecord()
		out.CopyTo(got)
		got.Attributes().RemoveIf(func(k string, _ pcommon.Value) bool {
			return k == vecattr.Template || k == vecattr.TemplateHash || k == vecattr.Vector || k == vecattr.Model
		})
		assert.Equal(t, want, got, "keep_attributes=%v", keep)
		_, ok := out.Attributes().Get(vecattr.TemplateHash)
		assert.True(t, ok)
	}
	assert.Equal(t, orig, ld, "the input batch is left as it was")
}

// An embedding API outage must not stop the records: they flow on with
// their templates and without vectors.
func TestLogsFlowWhenTheEmbedderFails(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":{"message":"overloaded"}}`, http.StatusServiceUnavailable)
	}))
	defer api.Close()
	cfg := createDefaultConfig()
	cfg.Embedder.Provider = "openai"
	cfg.Embedder.Model = "text-embedding-3-small"
	cfg.Embedder.BaseURL = api.URL + "/v1"
	cfg.Embedder.MaxRetries = 1
	cfg.Embedder.Timeout = 2 * time.Second
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), logBatch()))
	require.Len(t, sink.AllLogs(), 1)
	out := sink.AllLogs()[0]
	assert.Equal(t, 4, out.LogRecordCount())
	rec := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	_, hasVec := rec.Attributes().Get(vecattr.Vector)
	assert.False(t, hasVec)
	_, hasTemplate := rec.Attributes().Get(vecattr.Template)
	assert.True(t, hasTemplate)
}

func traceBatch(traceByte byte, slow bool) ptrace.Traces {
	td := ptrace.NewTraces()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	tid := pcommon.TraceID([16]byte{traceByte, 1})
	mk := func(svc, name string, id, parent byte, startMs, durMs int, isErr bool) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID([8]byte{id}))
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID([8]byte{parent}))
		}
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(startMs) * time.Millisecond)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(startMs+durMs) * time.Millisecond)))
		if isErr {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	dur := 10
	if slow {
		dur = 100
	}
	// Children first: the root must be found, not assumed to come first.
	mk("inventory", "SELECT stock", 3, 2, 2, dur, false)
	mk("payment", "POST /charge", 2, 1, 1, dur+2, slow)
	mk("frontend", "POST /checkout", 1, 0, 0, dur+4, false)
	return td
}

func TestTracesSummariseEachTraceOnItsRootSpan(t *testing.T) {
	sink := new(consumertest.TracesSink)
	f := NewFactory()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	td := traceBatch(1, false)
	traceBatch(2, true).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	require.Len(t, sink.AllTraces(), 1)
	out := sink.AllTraces()[0]
	require.Equal(t, 2, out.SpanCount(), "one root span per trace")

	for i := range 2 {
		rs := out.ResourceSpans().At(i)
		span := rs.ScopeSpans().At(0).Spans().At(0)
		assert.Equal(t, "POST /checkout", span.Name())
		svc, _ := rs.Resource().Attributes().Get("service.name")
		assert.Equal(t, "frontend", svc.Str())
		attrs := span.Attributes()
		seq, _ := attrs.Get(vecattr.SpanSequence)
		assert.Equal(t, "frontend POST /checkout -> payment POST /charge -> inventory SELECT stock", seq.Str())
		n, _ := attrs.Get(vecattr.SpanCount)
		assert.Equal(t, int64(3), n.Int())
		errs, _ := attrs.Get(vecattr.ErrorCount)
		anomalous, _ := attrs.Get(vecattr.IsAnomaly)
		typ, _ := attrs.Get(vecattr.AnomalyType)
		if span.TraceID()[0] == 2 {
			assert.Equal(t, int64(1), errs.Int())
			assert.True(t, anomalous.Bool())
			assert.Equal(t, "error", typ.Str())
		} else {
			assert.Equal(t, int64(0), errs.Int())
			assert.False(t, anomalous.Bool())
		}
		vec, ok := attrs.Get(vecattr.Vector)
		require.True(t, ok)
		assert.Len(t, vec.Bytes().AsRaw(), 4*384)
	}
}

// A trace longer than groupbytrace's wait arrives in parts; each later part
// is summarised with the earlier ones, on the trace's entry span, whichever
// part brought it.
func TestTracesMergesAPartThatArrivesLate(t *testing.T) {
	for _, rootFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "children first", true: "root first"}[rootFirst], func(t *testing.T) {
			sink := new(consumertest.TracesSink)
			f := NewFactory()
			p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), f.CreateDefaultConfig(), sink)
			require.NoError(t, err)
			whole := traceBatch(7, true)
			// traceBatch appends one resource per span: inventory, payment, frontend.
			early, late := ptrace.NewTraces(), ptrace.NewTraces()
			for i := range whole.ResourceSpans().Len() {
				rs := whole.ResourceSpans().At(i)
				svc, _ := rs.Resource().Attributes().Get("service.name")
				dst := early
				if (svc.Str() == "frontend") != rootFirst {
					dst = late
				}
				rs.CopyTo(dst.ResourceSpans().AppendEmpty())
			}
			require.NoError(t, p.ConsumeTraces(context.Background(), early))
			require.NoError(t, p.ConsumeTraces(context.Background(), late))
			require.Len(t, sink.AllTraces(), 2)
			out := sink.AllTraces()[1]
			require.Equal(t, 1, out.SpanCount())
			rs := out.ResourceSpans().At(0)
			svc, _ := rs.Resource().Attributes().Get("service.name")
			assert.Equal(t, "frontend", svc.Str())
			span := rs.ScopeSpans().At(0).Spans().At(0)
			assert.Equal(t, "POST /checkout", span.Name())
			seq, _ := span.Attributes().Get(vecattr.SpanSequence)
			assert.Equal(t, "frontend POST /checkout -> payment POST /charge -> inventory SELECT stock", seq.Str())
			n, _ := span.Attributes().Get(vecattr.SpanCount)
			assert.Equal(t, int64(3), n.Int())
		})
	}
}

func TestErrorTypeOfASpan(t *testing.T) {
	s := ptrace.NewSpan()
	assert.Empty(t, errorType(s))
	s.Attributes().PutInt("http.response.status_code", 503)
	assert.Equal(t, "status 503", errorType(s))
	ev := s.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "InventoryDBError")
	assert.Equal(t, "InventoryDBError", errorType(s))
}

// sessionRequest is the trace of one request of a client session: the
// frontend's entry span, with the session it recorded, and one call.
func sessionRequest(n int, session, name string, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	tid := pcommon.TraceID([16]byte{byte(n >> 8), byte(n), 2})
	mk := func(svc, name string, id, parent byte, from, to time.Time) ptrace.Span {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", svc)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(tid)
		s.SetSpanID(pcommon.SpanID([8]byte{id}))
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID([8]byte{parent}))
		}
		s.SetKind(ptrace.SpanKindServer)
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(from))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(to))
		return s
	}
	end := start.Add(10 * time.Millisecond)
	mk("inventory", "GET /internal/products", 2, 1, start.Add(time.Millisecond), end.Add(-time.Millisecond))
	mk("frontend", name, 1, 0, start, end).Attributes().PutStr("session.id", session)
	return td
}

// A session's earliest requests look like anyone's; when a later one shows
// the session abnormal (here: pages requested back to back, which no other
// session does), those already emitted are emitted again, flagged, with
// the same span count, so the readers' fullest flagged row holds the
// session's verdict. Ordinary sessions get one row per trace.
func TestTracesRevisesTheEarlierRequestsOfAnAbnormalSession(t *testing.T) {
	sink := new(consumertest.TracesSink)
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.Traces.MinSamples = 2
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	n := 0
	send := func(session, name string, pause time.Duration) pcommon.TraceID {
		n++
		at = at.Add(pause)
		td := sessionRequest(n, session, name, at)
		at = at.Add(10 * time.Millisecond)
		require.NoError(t, p.ConsumeTraces(context.Background(), td))
		return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceID()
	}
	var ordinary []pcommon.TraceID
	for i := range 60 {
		s := fmt.Sprintf("visitor-%d", i)
		for j, page := range []string{"GET /products", "GET /products/{id}", "GET /products/{id}"} {
			id := send(s, page, time.Duration(150+50*j+i%7*20)*time.Millisecond)
			if i >= 40 {
				ordinary = append(ordinary, id)
			}
		}
	}
	scraper := []pcommon.TraceID{send("scraper", "GET /products", 200*time.Millisecond)}
	for range 6 {
		scraper = append(scraper, send("scraper", "GET /products/{id}", time.Millisecond))
	}

	type verdict struct{ rows, flagged int }
	rows := map[pcommon.TraceID]*verdict{}
	for _, td := range sink.AllTraces() {
		for i := range td.ResourceSpans().Len() {
			span := td.ResourceSpans().At(i).ScopeSpans().At(0).Spans().At(0)
			v := rows[span.TraceID()]
			if v == nil {
				v = &verdict{}
				rows[span.TraceID()] = v
			}
			v.rows++
			count, _ := span.Attributes().Get(vecattr.SpanCount)
			assert.Equal(t, int64(2), count.Int(), "a revised row is as full as the first")
			if a, _ := span.Attributes().Get(vecattr.IsAnomaly); a.Bool() {
				v.flagged++
				typ, _ := span.Attributes().Get(vecattr.AnomalyType)
				assert.Equal(t, "request_rate", typ.Str())
				vec, ok := span.Attributes().Get(vecattr.Vector)
				require.True(t, ok, "a revised row keeps its vector")
				assert.Len(t, vec.Bytes().AsRaw(), 4*384)
			}
		}
	}
	for _, id := range ordinary {
		assert.Equal(t, verdict{rows: 1}, *rows[id], "ordinary request %s", id)
	}
	revisedRows := 0
	for i, id := range scraper {
		assert.Positive(t, rows[id].flagged, "scraper request %d", i)
		if rows[id].rows == 2 {
			revisedRows++
		}
	}
	assert.Positive(t, revisedRows, "the first request, flagged once the session showed what it is")
}
