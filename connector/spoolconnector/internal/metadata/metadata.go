// Package metadata holds the spool connector's component type and
// stability, as described by ../../metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the connector's configuration key.
	Type = component.MustNewType("spool")
	// ScopeName is the instrumentation scope of the connector's telemetry.
	ScopeName = "github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector"
)

const (
	// LogsToLogsStability is the stability of logs to logs.
	LogsToLogsStability = component.StabilityLevelDevelopment
	// TracesToTracesStability is the stability of traces to traces.
	TracesToTracesStability = component.StabilityLevelDevelopment
	// MetricsToMetricsStability is the stability of metrics to metrics.
	MetricsToMetricsStability = component.StabilityLevelDevelopment
)
