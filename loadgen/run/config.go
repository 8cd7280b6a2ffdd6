// Package run is the load generator as a library: user journeys in a
// configured mix against the sample shop, fault windows injected through its
// admin API, and a ground-truth file of what was injected and which traces it
// touched.
package run

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
)

// Journey categories.
const (
	Normal         = "normal"
	ErrorInjection = "error_injection"
	Anomalous      = "anomalous"
	EdgeCase       = "edge_case"
)

// Categories lists the journey categories in mix order.
var Categories = []string{Normal, ErrorInjection, Anomalous, EdgeCase}

// Config is a run's configuration, read from YAML (see loadgen/config.yaml).
type Config struct {
	Target         string         `yaml:"target"`
	Admin          string         `yaml:"admin"`
	Rate           float64        `yaml:"rate"`
	Duration       Duration       `yaml:"duration"`
	Concurrency    int            `yaml:"concurrency"`
	Seed           uint64         `yaml:"seed"`
	GroundTruth    string         `yaml:"ground_truth"`
	RequestTimeout Duration       `yaml:"request_timeout"`
	ThinkTime      Range          `yaml:"think_time"`
	JourneyMix     map[string]int `yaml:"journey_mix"`
	// Patterns weighs the journeys within a category; a category left out
	// uses every pattern equally.
	Patterns  map[string]map[string]int `yaml:"patterns"`
	Faults    FaultSettings             `yaml:"faults"`
	Scenarios []Scenario                `yaml:"scenarios"`
	// Browsers is how many headless Chromium browsers run journeys at once,
	// besides the HTTP journeys (0: none); Browser configures them.
	Browsers int             `yaml:"browsers"`
	Browser  BrowserSettings `yaml:"browser"`
}

// Range is a [min, max] duration range.
type Range struct {
	Min Duration `yaml:"min"`
	Max Duration `yaml:"max"`
}

// FaultSettings govern when windows open.
type FaultSettings struct {
	// Enabled switches fault injection on; false runs traffic only.
	Enabled *bool `yaml:"enabled"`
	// Tick is how often the scheduler considers opening a window.
	Tick Duration `yaml:"tick"`
	// Exclusive keeps at most one window open at a time, so every symptom
	// has one cause.
	Exclusive *bool `yaml:"exclusive"`
	// Cooldown is the quiet time after a window before the next may open,
	// so symptoms subside.
	Cooldown Duration `yaml:"cooldown"`
	// TriggerScale multiplies every trigger_rate (demos use > 1).
	TriggerScale float64 `yaml:"trigger_scale"`
	// First opens a paced window this long after the start (0: none); Every
	// then opens one every so often, start to start (0: only the first).
	// The scenarios take turns in a seeded order. Paced windows come on top
	// of the random ones of trigger_rate; when one is due while another
	// window is open or cooling down, it waits for it.
	First Duration `yaml:"first"`
	Every Duration `yaml:"every"`
}

// Scenario is a fault scenario: a named composition of primitives with the
// root cause it stands for.
type Scenario struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// TriggerRate is the target share of run time this scenario's window is
	// open ("5%" or 0.05).
	TriggerRate      Percent `yaml:"trigger_rate"`
	RootCause        string  `yaml:"root_cause"`
	RootCauseService string  `yaml:"root_cause_service"`
	RootCauseKind    string  `yaml:"root_cause_kind"`
	// Window is the length of each injection window.
	Window Duration `yaml:"window"`
	// Windows are explicit windows (offsets from the run start) opened in
	// addition to the random ones.
	Windows []FixedWindow `yaml:"windows"`
	// Affects lists the services whose requests count as touched by the
	// window; default: the root-cause service and the services the
	// primitives target.
	Affects []string        `yaml:"affects"`
	Inject  []faultapi.Spec `yaml:"inject"`
}

// FixedWindow is a window at a fixed offset from the run start.
type FixedWindow struct {
	Start    Duration `yaml:"start"`
	Duration Duration `yaml:"duration"`
}

// Duration is a time.Duration read from "10m"-style strings.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads "90s", "10m" or 0.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "0" || n.Value == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: %w", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

// Percent is a share in [0, 1] read from "5%" or 0.05.
type Percent float64

// UnmarshalYAML reads "5%" or a fraction.
func (p *Percent) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParsePercent(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = Percent(v)
	return nil
}

// ParsePercent reads "5%" as 0.05 and "0.05" as 0.05.
func ParsePercent(s string) (float64, error) {
	s = strings.TrimSpace(s)
	pct := strings.HasSuffix(s, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		return 0, fmt.Errorf("share %q: want a percentage (5%%) or a fraction (0.05)", s)
	}
	if pct {
		f /= 100
	}
	if f < 0 || f > 1 {
		return 0, fmt.Errorf("share %q is outside 0..100%%", s)
	}
	return f, nil
}

// Defaults returns the settings a config file may leave out.
func Defaults() Config {
	return Config{
		Target:         "http://127.0.0.1:8080",
		Admin:          "http://127.0.0.1:8085",
		Rate:           5,
		Concurrency:    32,
		Seed:           1,
		RequestTimeout: Duration(15 * time.Second),
		ThinkTime:      Range{Min: Duration(50 * time.Millisecond), Max: Duration(400 * time.Millisecond)},
		JourneyMix:     map[string]int{Normal: 70, ErrorInjection: 15, Anomalous: 10, EdgeCase: 5},
		Faults: FaultSettings{
			Tick:         Duration(5 * time.Second),
			Cooldown:     Duration(30 * time.Second),
			TriggerScale: 1,
		},
		Browser: defaultBrowserSettings(),
	}
}

// Load reads a YAML config file over the defaults.
func Load(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(b)
}

// Parse reads YAML config over the defaults.
func Parse(b []byte) (Config, error) {
	cfg := Defaults()
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("parse config: %w", err)
	}
	return cfg, nil
}

// FaultsEnabled reports whether fault windows are opened.
func (c Config) FaultsEnabled() bool { return c.Faults.Enabled == nil || *c.Faults.Enabled }

func (c Config) exclusive() bool { return c.Faults.Exclusive == nil || *c.Faults.Exclusive }

// AdminURL is the base URL of the fault admin API: the shop serves it on a
// port of its own (sampleapp --admin, 127.0.0.1:8085); an empty admin means
// the target serves it (sampleapp --admin-on-service-ports).
func (c Config) AdminURL() string {
	if c.Admin != "" {
		return strings.TrimRight(c.Admin, "/")
	}
	return strings.TrimRight(c.Target, "/")
}

// rootCause returns the scenario's root-cause service and kind, derived from
// "<service>_service_<kind>" when not given.
func (s Scenario) rootCause() (service, kind string) {
	service, kind = s.RootCauseService, s.RootCauseKind
	if before, after, ok := strings.Cut(s.RootCause, "_service_"); ok {
		if service == "" {
			service = before
		}
		if kind == "" {
			kind = after
		}
	}
	return service, kind
}

// affected is the set of services whose requests a window touches.
func (s Scenario) affected() []string {
	if len(s.Affects) > 0 {
		return slices.Clone(s.Affects)
	}
	svc, _ := s.rootCause()
	out := []string{svc}
	for _, f := range s.Inject {
		if !slices.Contains(out, f.Service) {
			out = append(out, f.Service)
		}
	}
	return out
}

// Validate reports every problem with the config.
func (c Config) Validate() error {
	var errs []error
	if !strings.HasPrefix(c.Target, "http://") && !strings.HasPrefix(c.Target, "https://") {
		errs = append(errs, fmt.Errorf("target %q must be an http(s) URL", c.Target))
	}
	if c.Rate <= 0 {
		errs = append(errs, fmt.Errorf("rate must be positive, got %v", c.Rate))
	}
	if c.Concurrency <= 0 {
		errs = append(errs, fmt.Errorf("concurrency must be positive, got %d", c.Concurrency))
	}
	if c.Duration < 0 {
		errs = append(errs, errors.New("duration must not be negative"))
	}
	if c.ThinkTime.Max < c.ThinkTime.Min || c.ThinkTime.Min < 0 {
		errs = append(errs, errors.New("think_time: need 0 <= min <= max"))
	}
	total := 0
	for k, v := range c.JourneyMix {
		if !slices.Contains(Categories, k) {
			errs = append(errs, fmt.Errorf("journey_mix: unknown category %q (want %v)", k, Categories))
		}
		if v < 0 {
			errs = append(errs, fmt.Errorf("journey_mix: %s is negative", k))
		}
		total += v
	}
	if total == 0 {
		errs = append(errs, errors.New("journey_mix: shares sum to 0"))
	}
	for cat, ps := range c.Patterns {
		known := patternNames(cat)
		if known == nil {
			errs = append(errs, fmt.Errorf("patterns: unknown category %q", cat))
			continue
		}
		for p, w := range ps {
			if !slices.Contains(known, p) {
				errs = append(errs, fmt.Errorf("patterns.%s: unknown pattern %q (want %v)", cat, p, known))
			}
			if w < 0 {
				errs = append(errs, fmt.Errorf("patterns.%s.%s is negative", cat, p))
			}
		}
	}
	errs = append(errs, c.Browser.validate(c.Browsers)...)
	if c.Faults.Tick <= 0 {
		errs = append(errs, errors.New("faults.tick must be positive"))
	}
	if c.Faults.First < 0 || c.Faults.Every < 0 {
		errs = append(errs, errors.New("faults.first and faults.every must not be negative"))
	}
	if c.Faults.Every > 0 && c.Faults.First == 0 {
		errs = append(errs, errors.New("faults.every needs faults.first: the time of the first paced window"))
	}
	if c.Faults.TriggerScale < 0 {
		errs = append(errs, errors.New("faults.trigger_scale must not be negative"))
	}
	names := map[string]bool{}
	for i, s := range c.Scenarios {
		where := fmt.Sprintf("scenarios[%d] %q", i, s.Name)
		if s.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", where))
		}
		if names[s.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate name", where))
		}
		names[s.Name] = true
		if svc, kind := s.rootCause(); s.RootCause == "" || svc == "" || kind == "" {
			errs = append(errs, fmt.Errorf("%s: root_cause is required, with root_cause_service and root_cause_kind unless it reads <service>_service_<kind>", where))
		}
		if len(s.Inject) == 0 {
			errs = append(errs, fmt.Errorf("%s: inject lists no primitives", where))
		}
		for j, f := range s.Inject {
			if err := f.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: inject[%d]: %w", where, j, err))
			}
		}
		if s.TriggerRate > 0 && s.Window <= 0 {
			errs = append(errs, fmt.Errorf("%s: trigger_rate needs a window duration", where))
		}
		for j, w := range s.Windows {
			if w.Duration <= 0 || w.Start < 0 {
				errs = append(errs, fmt.Errorf("%s: windows[%d]: need start >= 0 and duration > 0", where, j))
			}
		}
	}
	return errors.Join(errs...)
}
