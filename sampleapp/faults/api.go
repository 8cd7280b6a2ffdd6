// Package faults holds the failure primitives the sample system can be put
// into, the named compositions of them (scenarios) and the registry the
// services consult on their hot paths.
//
// Every primitive works through a real mechanism (a connection really held,
// memory really retained, a listener really closed, a dial to a dead port), so
// the telemetry the services emit describes symptoms only. Nothing in this
// package writes telemetry.
//
// The admin API's wire types live in internal/faultapi, which the load
// generator imports too; the names below keep this package's callers as
// they were.
package faults

import "github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"

// The admin API's wire types (see internal/faultapi).
type (
	Type       = faultapi.Type
	Spec       = faultapi.Spec
	Duration   = faultapi.Duration
	Bytes      = faultapi.Bytes
	AddRequest = faultapi.AddRequest
)

// The primitives, error modes and the memory_growth cap (see
// internal/faultapi).
const (
	Latency               = faultapi.Latency
	ErrorRate             = faultapi.ErrorRate
	PoolSqueeze           = faultapi.PoolSqueeze
	MemoryGrowth          = faultapi.MemoryGrowth
	DependencyUnavailable = faultapi.DependencyUnavailable
	ListenerDown          = faultapi.ListenerDown
	ModePanic             = faultapi.ModePanic
	ModeAbort             = faultapi.ModeAbort
	DefaultMaxBytes       = faultapi.DefaultMaxBytes
)

// Types lists every primitive, in documentation order.
var Types = faultapi.Types

// ParseBytes reads "256KiB", "2MiB", "1GB" or a plain number of bytes.
func ParseBytes(s string) (int64, error) { return faultapi.ParseBytes(s) }
