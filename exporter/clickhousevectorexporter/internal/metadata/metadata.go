// Package metadata holds the clickhouse_vector exporter's component type and
// stability, as described by ../../metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the exporter's configuration key.
	Type = component.MustNewType("clickhouse_vector")
	// ScopeName is the instrumentation scope of the exporter's telemetry.
	ScopeName = "github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter"
)

const (
	// LogsStability is the stability of the logs pipeline support.
	LogsStability = component.StabilityLevelDevelopment
	// TracesStability is the stability of the traces pipeline support.
	TracesStability = component.StabilityLevelDevelopment
)
