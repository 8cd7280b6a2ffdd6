package replay_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelcol-agentic/otelcol-agentic/loadgen/replay"
	"github.com/otelcol-agentic/otelcol-agentic/tests/e2e"
)

// An app's OTLP goes through the recorder to the built collector; the
// recording, with its ground truth, is replayed three times into a window
// two days back: the collector stores every copy at the shifted times
// under ids of its own (none the original's, none shared between copies),
// and the shifted ground truth names traces the store holds there.
func TestRecordThenReplayIntoThePast(t *testing.T) {
	col := e2e.StartCollector(t, t.TempDir())
	defer col.Stop(t)
	ctx := context.Background()

	var recording bytes.Buffer
	rec, err := replay.NewRecorder(&recording, "http://"+col.OTLPHTTP)
	require.NoError(t, err)
	srv := httptest.NewServer(rec)
	defer srv.Close()

	const traces = 4
	res := resource.NewSchemaless(semconv.ServiceName("replay-shop"))
	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(texp))
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(srv.URL+"/v1/logs"))
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(lexp)))
	var original []string
	recStart := time.Now()
	for i := range traces {
		c, root := tp.Tracer("shop").Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("session.id", fmt.Sprintf("5e55%04d-0000-4000-8000-00000000000%d", i, i))))
		_, child := tp.Tracer("shop").Start(c, "SELECT stock", trace.WithSpanKind(trace.SpanKindClient))
		child.End()
		var lr otellog.Record
		lr.SetTimestamp(time.Now())
		lr.SetSeverity(otellog.SeverityError)
		lr.SetSeverityText("ERROR")
		lr.SetBody(attribute.StringValue(fmt.Sprintf("payment declined for order %d: gateway timeout", i)))
		lp.Logger("shop").Emit(c, lr)
		root.End()
		original = append(original, root.SpanContext().TraceID().String())
	}
	require.NoError(t, tp.Shutdown(ctx))
	require.NoError(t, lp.Shutdown(ctx))
	truthFile := filepath.Join(t.TempDir(), "truth.jsonl")
	line, _ := json.Marshal(map[string]any{"kind": "fault_window", "scenario": "payment_timeout",
		"start": recStart.UTC().Format(time.RFC3339Nano), "end": time.Now().UTC().Format(time.RFC3339Nano),
		"trace_ids": original, "error_trace_ids": original[:1]})
	require.NoError(t, os.WriteFile(truthFile, append(line, '\n'), 0o600))
	n, err := rec.AddGroundTruth(truthFile)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, rec.Close())
	requests, _ := rec.Stats()
	require.GreaterOrEqual(t, requests, int64(2*traces), "every export request was recorded")

	// The recorder passed everything on: the originals are stored now.
	col.Eventually(t, "SELECT count() FROM otel_traces WHERE ServiceName = 'replay-shop'", func(s string) bool { return strings.TrimSpace(s) == fmt.Sprint(2*traces) })

	frames, err := replay.ReadAll(bytes.NewReader(recording.Bytes()))
	require.NoError(t, err)
	const copies = 3
	window := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	var truth bytes.Buffer
	st, err := replay.Replay(ctx, frames, replay.Options{Target: "http://" + col.OTLPHTTP, Start: window, Copies: copies, Seed: 7, GroundTruth: &truth})
	require.NoError(t, err)
	assert.Equal(t, copies*requests, st.Requests)

	past := fmt.Sprintf("ServiceName = 'replay-shop' AND Timestamp BETWEEN toDateTime64(%d, 9) AND toDateTime64(%d, 9)",
		window.Add(-time.Second).Unix(), st.WindowEnd.Add(time.Minute).Unix())
	col.Eventually(t, "SELECT count() FROM otel_traces WHERE "+past, func(s string) bool { return strings.TrimSpace(s) == fmt.Sprint(copies*2*traces) })
	col.Eventually(t, "SELECT count() FROM otel_logs WHERE "+past, func(s string) bool { return strings.TrimSpace(s) == fmt.Sprint(copies*traces) })

	got, err := col.Query(ctx, "SELECT uniqExact(TraceId), uniqExact(SpanAttributes['session.id']), countIf(TraceId IN ("+
		quoted(original)+")) FROM otel_traces WHERE "+past)
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d\t%d\t0", copies*traces, copies*traces+1), strings.TrimSpace(got),
		"each copy has its own traces and sessions (the child spans' empty session counts once), none the original's")
	got, err = col.Query(ctx, "SELECT countIf(TraceId NOT IN (SELECT TraceId FROM otel_traces WHERE "+past+")) FROM otel_logs WHERE "+past)
	require.NoError(t, err)
	assert.Equal(t, "0", strings.TrimSpace(got), "a replayed log keeps to its replayed trace")

	sc := bufio.NewScanner(&truth)
	var lines int
	for sc.Scan() {
		lines++
		var w struct {
			Start    time.Time `json:"start"`
			TraceIDs []string  `json:"trace_ids"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &w))
		assert.True(t, !w.Start.Before(window.Add(-time.Second)) && w.Start.Before(st.WindowEnd), "the ground truth moved into the window: %s", w.Start)
		got, err := col.Query(ctx, "SELECT uniqExact(TraceId) FROM otel_traces WHERE "+past+" AND TraceId IN ("+quoted(w.TraceIDs)+")")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(traces), strings.TrimSpace(got), "the shifted ground truth names replayed traces")
	}
	assert.Equal(t, copies, lines)
}

func quoted(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = "'" + id + "'"
	}
	return strings.Join(q, ",")
}
