// Package metadata holds the chdb extension's component type and stability,
// as described by ../../metadata.yaml.
package metadata

import (
	"go.opentelemetry.io/collector/component"
)

var (
	// Type is the extension's configuration key.
	Type = component.MustNewType("chdb")
	// ScopeName is the instrumentation scope of the extension's telemetry.
	ScopeName = "github.com/otelcol-agentic/otelcol-agentic/extension/chdbextension"
)

// ExtensionStability is the extension's stability level.
const ExtensionStability = component.StabilityLevelDevelopment
