// Package metadata holds the backpressure processor's component type and
// stability, as described by ../../metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the processor's configuration key.
	Type = component.MustNewType("backpressure")
	// ScopeName is the instrumentation scope of the processor's telemetry.
	ScopeName = "github.com/otelcol-agentic/otelcol-agentic/processor/backpressureprocessor"
)

const (
	// LogsStability is the stability of the logs pipeline support.
	LogsStability = component.StabilityLevelDevelopment
	// TracesStability is the stability of the traces pipeline support.
	TracesStability = component.StabilityLevelDevelopment
	// MetricsStability is the stability of the metrics pipeline support.
	MetricsStability = component.StabilityLevelDevelopment
)
