// Package faultapi holds the wire types of the sample shop's fault admin
// API (POST /admin/faults): the failure primitives and their specs. The shop
// (sampleapp/faults) applies them and the load generator (loadgen/run) sends
// them; both import this package and neither imports the other.
package faultapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Type names a primitive.
type Type string

const (
	// Latency delays matching work: a route's handler, a named database
	// operation (statement "SELECT carts" or logical operation
	// "recompute_totals"), or outbound calls to a dependency.
	Latency Type = "latency"
	// ErrorRate makes a share of a route's requests fail inside the handler:
	// mode "panic" dereferences a nil pointer (recovered into a 500), mode
	// "abort" drops the connection without a response.
	ErrorRate Type = "error_rate"
	// PoolSqueeze starves a service's database connection pool: lower the
	// open-connection cap, hold connections in idle transactions, and/or keep
	// the connection of a share of requests checked out for a while after the
	// request ends.
	PoolSqueeze Type = "pool_squeeze"
	// MemoryGrowth makes a service retain memory: per request and/or per
	// second, kept until the primitive is removed (which models a restart).
	MemoryGrowth Type = "memory_growth"
	// DependencyUnavailable makes a service's calls to one dependency dial a
	// port nobody listens on (connection refused).
	DependencyUnavailable Type = "dependency_unavailable"
	// ListenerDown closes a service's listener; every caller gets connection
	// refused until the primitive is removed.
	ListenerDown Type = "listener_down"
)

// Types lists every primitive, in documentation order.
var Types = []Type{Latency, ErrorRate, PoolSqueeze, MemoryGrowth, DependencyUnavailable, ListenerDown}

// Spec is one primitive applied to one service. Fields that do not apply to
// the primitive's type must be left empty.
type Spec struct {
	Type    Type   `json:"type" yaml:"type"`
	Service string `json:"service" yaml:"service"`

	// Route restricts latency/error_rate/memory_growth to one route, either
	// the full pattern ("POST /carts/{id}/items") or its path alone.
	Route string `json:"route,omitempty" yaml:"route,omitempty"`
	// Operation restricts latency to a database operation: a statement
	// ("UPDATE carts"), a logical operation ("recompute_totals") or "*".
	Operation string `json:"operation,omitempty" yaml:"operation,omitempty"`
	// Dependency is the callee for dependency_unavailable, and restricts
	// latency to outbound calls to it.
	Dependency string `json:"dependency,omitempty" yaml:"dependency,omitempty"`

	// Probability is the share of matching requests/operations affected:
	// latency (default 1), error_rate (required), pool_squeeze (share of
	// requests whose connection stays checked out), memory_growth (default 1).
	Probability float64 `json:"probability,omitempty" yaml:"probability,omitempty"`

	Latency Duration `json:"latency,omitempty" yaml:"latency,omitempty"`
	Jitter  Duration `json:"jitter,omitempty" yaml:"jitter,omitempty"`

	Mode string `json:"mode,omitempty" yaml:"mode,omitempty"`

	MaxOpenConns int      `json:"max_open_conns,omitempty" yaml:"max_open_conns,omitempty"`
	HoldConns    int      `json:"hold_conns,omitempty" yaml:"hold_conns,omitempty"`
	HoldFor      Duration `json:"hold_for,omitempty" yaml:"hold_for,omitempty"`

	BytesPerRequest Bytes `json:"bytes_per_request,omitempty" yaml:"bytes_per_request,omitempty"`
	BytesPerSecond  Bytes `json:"bytes_per_second,omitempty" yaml:"bytes_per_second,omitempty"`
	MaxBytes        Bytes `json:"max_bytes,omitempty" yaml:"max_bytes,omitempty"`
}

// Error modes for ErrorRate.
const (
	ModePanic = "panic"
	ModeAbort = "abort"
)

// DefaultMaxBytes caps memory_growth when the spec sets no cap, so a
// forgotten primitive cannot take the machine down.
const DefaultMaxBytes = 1 << 30

// Validate reports every problem with the spec.
func (s Spec) Validate() error {
	var errs []error
	if s.Service == "" {
		errs = append(errs, errors.New("service is required"))
	}
	if s.Probability < 0 || s.Probability > 1 {
		errs = append(errs, fmt.Errorf("probability %v is outside [0, 1]", s.Probability))
	}
	if s.Latency < 0 || s.Jitter < 0 || s.HoldFor < 0 {
		errs = append(errs, errors.New("durations must not be negative"))
	}
	if s.BytesPerRequest < 0 || s.BytesPerSecond < 0 || s.MaxBytes < 0 {
		errs = append(errs, errors.New("byte sizes must not be negative"))
	}
	switch s.Type {
	case Latency:
		if s.Latency == 0 && s.Jitter == 0 {
			errs = append(errs, errors.New("latency: set latency and/or jitter"))
		}
	case ErrorRate:
		if s.Probability == 0 {
			errs = append(errs, errors.New("error_rate: probability is required"))
		}
		if s.Mode != "" && s.Mode != ModePanic && s.Mode != ModeAbort {
			errs = append(errs, fmt.Errorf("error_rate: mode %q is not panic or abort", s.Mode))
		}
	case PoolSqueeze:
		if s.MaxOpenConns < 0 || s.HoldConns < 0 {
			errs = append(errs, errors.New("pool_squeeze: connection counts must not be negative"))
		}
		if s.MaxOpenConns == 0 && s.HoldConns == 0 && s.Probability == 0 {
			errs = append(errs, errors.New("pool_squeeze: set max_open_conns, hold_conns and/or probability"))
		}
		if s.Probability > 0 && s.HoldFor == 0 {
			errs = append(errs, errors.New("pool_squeeze: probability needs hold_for"))
		}
	case MemoryGrowth:
		if s.BytesPerRequest == 0 && s.BytesPerSecond == 0 {
			errs = append(errs, errors.New("memory_growth: set bytes_per_request and/or bytes_per_second"))
		}
	case DependencyUnavailable:
		if s.Dependency == "" {
			errs = append(errs, errors.New("dependency_unavailable: dependency is required"))
		}
	case ListenerDown:
	case "":
		errs = append(errs, errors.New("type is required"))
	default:
		errs = append(errs, fmt.Errorf("unknown type %q (want one of %v)", s.Type, Types))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s on %q: %w", s.Type, s.Service, err)
	}
	return nil
}

// Duration is a time.Duration that reads "250ms"/"2s" strings or a number of
// milliseconds, in JSON and YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// MarshalJSON writes the duration as a string such as "1.5s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON accepts "1.5s" or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	return d.set(v)
}

// UnmarshalYAML accepts "1.5s" or a number of milliseconds.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	return d.set(v)
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

func (d *Duration) set(v any) error {
	switch x := v.(type) {
	case string:
		p, err := time.ParseDuration(x)
		if err != nil {
			return fmt.Errorf("duration %q: %w", x, err)
		}
		*d = Duration(p)
	case float64:
		*d = Duration(x * float64(time.Millisecond))
	case int:
		*d = Duration(time.Duration(x) * time.Millisecond)
	case nil:
		*d = 0
	default:
		return fmt.Errorf("duration: unsupported value %v", v)
	}
	return nil
}

// Bytes is a byte count that reads numbers or strings with a binary unit
// ("64KiB", "1MiB", "1GiB"), in JSON and YAML.
type Bytes int64

// UnmarshalJSON accepts a number or a string with a unit.
func (b *Bytes) UnmarshalJSON(p []byte) error {
	var v any
	if err := json.Unmarshal(p, &v); err != nil {
		return fmt.Errorf("byte size: %w", err)
	}
	return b.set(v)
}

// UnmarshalYAML accepts a number or a string with a unit.
func (b *Bytes) UnmarshalYAML(n *yaml.Node) error {
	var v any
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("byte size: %w", err)
	}
	return b.set(v)
}

func (b *Bytes) set(v any) error {
	switch x := v.(type) {
	case float64:
		*b = Bytes(x)
	case int:
		*b = Bytes(x)
	case nil:
		*b = 0
	case string:
		n, err := ParseBytes(x)
		if err != nil {
			return err
		}
		*b = Bytes(n)
	default:
		return fmt.Errorf("byte size: unsupported value %v", v)
	}
	return nil
}

// ParseBytes reads "512", "64KiB", "1.5MiB", "2GiB" (also KB/MB/GB, taken as
// binary units).
func ParseBytes(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("byte size %q: want a non-negative number with an optional KiB/MiB/GiB unit", s)
	}
	return int64(f * float64(mult)), nil
}

// AddRequest is the body of POST /admin/faults: either a built-in scenario
// name or an explicit list of primitives.
type AddRequest struct {
	Scenario string   `json:"scenario,omitempty"`
	Label    string   `json:"label,omitempty"`
	Faults   []Spec   `json:"faults,omitempty"`
	TTL      Duration `json:"ttl,omitempty"`
}
