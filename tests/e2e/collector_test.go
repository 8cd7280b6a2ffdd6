package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
)

// sendTelemetry emits, through the OTel Go SDK over OTLP/HTTP, one trace of
// two spans, an ERROR log inside it and a counter, and returns the trace id.
func sendTelemetry(t *testing.T, endpoint, service string) trace.TraceID {
	t.Helper()
	ctx := context.Background()
	res := resource.NewSchemaless(semconv.ServiceName(service))

	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(endpoint), otlptracehttp.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(texp))
	lexp, err := otlploghttp.New(ctx, otlploghttp.WithEndpoint(endpoint), otlploghttp.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(lexp)))
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpoint(endpoint), otlpmetrichttp.WithInsecure())
	require.NoError(t, err)
	reader := sdkmetric.NewPeriodicReader(mexp)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(reader))

	tracer := tp.Tracer("e2e")
	ctx, root := tracer.Start(ctx, "POST /checkout", trace.WithSpanKind(trace.SpanKindServer))
	_, child := tracer.Start(ctx, "SELECT inventory", trace.WithSpanKind(trace.SpanKindClient))
	time.Sleep(5 * time.Millisecond)
	child.End()

	var rec otellog.Record
	rec.SetSeverity(otellog.SeverityError)
	rec.SetSeverityText("ERROR")
	rec.SetBody(attribute.StringValue("payment declined: gateway timeout after 3000ms"))
	rec.AddAttributes(attribute.String("order.id", "o-123"))
	lp.Logger("e2e").Emit(ctx, rec)
	root.End()

	counter, err := mp.Meter("e2e").Int64Counter("checkout.requests")
	require.NoError(t, err)
	counter.Add(ctx, 7, metric.WithAttributes(attribute.String("route", "/checkout")))

	require.NoError(t, tp.Shutdown(context.Background()))
	require.NoError(t, lp.Shutdown(context.Background()))
	require.NoError(t, mp.Shutdown(context.Background()))
	return root.SpanContext().TraceID()
}

func TestCollectorStoresOTLPInClickHouseAndKeepsItAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	col := StartCollector(t, dir)

	traceID := sendTelemetry(t, col.OTLPHTTP, "checkout-e2e")
	tid := traceID.String()

	logs := col.Eventually(t, "SELECT ServiceName, SeverityText, Body, TraceId, LogAttributes['order.id'] FROM otel_logs WHERE ServiceName = 'checkout-e2e' FORMAT TabSeparated",
		func(s string) bool { return s != "" })
	assert.Equal(t, "checkout-e2e\tERROR\tpayment declined: gateway timeout after 3000ms\t"+tid+"\to-123", logs)

	spans := col.Eventually(t, "SELECT SpanName, SpanKind, Duration FROM otel_traces WHERE TraceId = '"+tid+"' ORDER BY Timestamp",
		func(s string) bool { return strings.Count(s, "\n") == 1 })
	lines := strings.Split(spans, "\n")
	require.Len(t, lines, 2)
	root := strings.Split(lines[0], "\t")
	child := strings.Split(lines[1], "\t")
	assert.Equal(t, []string{"POST /checkout", "Server"}, root[:2])
	assert.Equal(t, []string{"SELECT inventory", "Client"}, child[:2])
	childDur, err := strconv.ParseUint(child[2], 10, 64)
	require.NoError(t, err)
	rootDur, err := strconv.ParseUint(root[2], 10, 64)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, childDur, uint64(5*time.Millisecond), "Duration is in nanoseconds")
	assert.GreaterOrEqual(t, rootDur, childDur)

	metric := col.Eventually(t, "SELECT MetricName, Value, Attributes['route'] FROM otel_metrics_sum WHERE ServiceName = 'checkout-e2e'",
		func(s string) bool { return s != "" })
	assert.Equal(t, "checkout.requests\t7\t/checkout", metric)

	col.Stop(t)
	assert.NotContains(t, col.Log(), "panic")

	again := StartCollector(t, dir)
	n, err := again.Query(context.Background(), "SELECT (SELECT count() FROM otel_logs WHERE ServiceName = 'checkout-e2e') + (SELECT count() FROM otel_traces WHERE TraceId = '"+tid+"')")
	require.NoError(t, err)
	assert.Equal(t, "3", n, "logs and spans survive a restart")
	again.Stop(t)
}
