// Package telemetry builds the OpenTelemetry SDK pipelines of one service:
// its own resource, tracer, logger (behind slog) and meter providers, all
// exporting OTLP/HTTP protobuf.
package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/bridges/otelslog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploghttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the services' own telemetry.
const ScopeName = "github.com/otelcol-agentic/otelcol-agentic/sampleapp"

// Settings are shared by every service of a process.
type Settings struct {
	// Endpoint is the OTLP/HTTP base URL (".../v1/traces" etc. are added).
	// Empty disables export; spans are still created so context propagates.
	Endpoint       string
	Environment    string
	Namespace      string
	BatchTimeout   time.Duration
	MetricInterval time.Duration
}

// Service is one service's telemetry.
type Service struct {
	Name       string
	Tracer     trace.Tracer
	Meter      metric.Meter
	Log        *slog.Logger
	Propagator propagation.TextMapPropagator

	TracerProvider *sdktrace.TracerProvider
	MeterProvider  *sdkmetric.MeterProvider
	LoggerProvider *sdklog.LoggerProvider
}

// New builds the pipelines of service name at version.
func New(ctx context.Context, name, version string, s Settings) (*Service, error) {
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithProcessPID(),
		resource.WithProcessRuntimeName(),
		resource.WithProcessRuntimeVersion(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(
			semconv.ServiceName(name),
			semconv.ServiceVersion(version),
			semconv.ServiceNamespace(s.Namespace),
			semconv.ServiceInstanceID(name+"-"+hex.EncodeToString(idb)),
			attribute.String("deployment.environment.name", s.Environment),
		),
	)
	if err != nil {
		return nil, fmt.Errorf("build resource for %s: %w", name, err)
	}

	tpOpts := []sdktrace.TracerProviderOption{
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	}
	lpOpts := []sdklog.LoggerProviderOption{sdklog.WithResource(res)}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res)}

	if s.Endpoint != "" {
		base := strings.TrimRight(s.Endpoint, "/")
		te, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(base+"/v1/traces"))
		if err != nil {
			return nil, fmt.Errorf("trace exporter: %w", err)
		}
		le, err := otlploghttp.New(ctx, otlploghttp.WithEndpointURL(base+"/v1/logs"))
		if err != nil {
			return nil, fmt.Errorf("log exporter: %w", err)
		}
		me, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(base+"/v1/metrics"))
		if err != nil {
			return nil, fmt.Errorf("metric exporter: %w", err)
		}
		batch := s.BatchTimeout
		if batch <= 0 {
			batch = 2 * time.Second
		}
		interval := s.MetricInterval
		if interval <= 0 {
			interval = 10 * time.Second
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(te,
			sdktrace.WithBatchTimeout(batch), sdktrace.WithMaxQueueSize(8192)))
		lpOpts = append(lpOpts, sdklog.WithProcessor(sdklog.NewBatchProcessor(le,
			sdklog.WithExportInterval(batch), sdklog.WithMaxQueueSize(8192))))
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(me,
			sdkmetric.WithInterval(interval))))
	}

	tp := sdktrace.NewTracerProvider(tpOpts...)
	lp := sdklog.NewLoggerProvider(lpOpts...)
	mp := sdkmetric.NewMeterProvider(mpOpts...)
	svc := &Service{
		Name:           name,
		Tracer:         tp.Tracer(ScopeName),
		Meter:          mp.Meter(ScopeName),
		Log:            otelslog.NewLogger(ScopeName, otelslog.WithLoggerProvider(lp)),
		Propagator:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		TracerProvider: tp,
		MeterProvider:  mp,
		LoggerProvider: lp,
	}
	if err := registerRuntimeMetrics(svc.Meter); err != nil {
		return nil, errors.Join(err, svc.Shutdown(ctx))
	}
	return svc, nil
}

// Flush exports everything buffered, metrics included.
func (s *Service) Flush(ctx context.Context) error {
	return errors.Join(
		s.TracerProvider.ForceFlush(ctx),
		s.LoggerProvider.ForceFlush(ctx),
		s.MeterProvider.ForceFlush(ctx),
	)
}

// Shutdown flushes and stops the pipelines.
func (s *Service) Shutdown(ctx context.Context) error {
	return errors.Join(
		s.TracerProvider.Shutdown(ctx),
		s.LoggerProvider.Shutdown(ctx),
		s.MeterProvider.Shutdown(ctx),
	)
}
