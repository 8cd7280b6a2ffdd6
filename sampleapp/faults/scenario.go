package faults

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

// Scenario is a named composition of primitives with the root cause it
// models.
type Scenario struct {
	Name             string `json:"name" yaml:"name"`
	Description      string `json:"description,omitempty" yaml:"description,omitempty"`
	RootCause        string `json:"root_cause" yaml:"root_cause"`
	RootCauseService string `json:"root_cause_service" yaml:"root_cause_service"`
	RootCauseKind    string `json:"root_cause_kind" yaml:"root_cause_kind"`
	Faults           []Spec `json:"faults" yaml:"faults"`
}

// Validate checks the scenario and each of its primitives.
func (s Scenario) Validate() error {
	var errs []error
	if s.Name == "" {
		errs = append(errs, errors.New("name is required"))
	}
	if len(s.Faults) == 0 {
		errs = append(errs, errors.New("faults: at least one primitive is required"))
	}
	for i, f := range s.Faults {
		if err := f.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("faults[%d]: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("scenario %q: %w", s.Name, err)
	}
	return nil
}

//go:embed scenarios.yaml
var scenariosYAML []byte

var builtin = sync.OnceValues(func() ([]Scenario, error) {
	var doc struct {
		Scenarios []Scenario `yaml:"scenarios"`
	}
	if err := yaml.Unmarshal(scenariosYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse built-in scenarios: %w", err)
	}
	for _, s := range doc.Scenarios {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("built-in scenarios: %w", err)
		}
	}
	return doc.Scenarios, nil
})

// Scenarios returns the built-in scenario table (scenarios.yaml).
func Scenarios() []Scenario {
	s, err := builtin()
	if err != nil {
		// The table is embedded and covered by tests; a parse failure is a
		// build defect, not a runtime condition.
		panic(err)
	}
	return append([]Scenario(nil), s...)
}

// LookupScenario returns the built-in scenario with the given name.
func LookupScenario(name string) (Scenario, bool) {
	for _, s := range Scenarios() {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}
