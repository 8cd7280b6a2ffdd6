// Package metadata holds the rrweb receiver's component type and stability,
// as described by ../../metadata.yaml (written by hand: mdatagen's output
// for this metadata.yaml).
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the receiver's configuration key.
	Type = component.MustNewType("rrweb")
	// ScopeName is the instrumentation scope of the receiver's telemetry.
	ScopeName = "github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver"
)

const (
	// LogsStability is the stability of the logs pipeline support.
	LogsStability = component.StabilityLevelDevelopment
	// TracesStability is the stability of the traces pipeline support.
	TracesStability = component.StabilityLevelDevelopment
)
