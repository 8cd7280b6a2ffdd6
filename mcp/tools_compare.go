package mcp

import (
	"cmp"
	"context"
	"math"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// CompareWindowsInput names the two windows.
type CompareWindowsInput struct {
	Service  string `json:"service,omitempty" jsonschema:"only this service's templates and operations (default: all)"`
	Window   string `json:"window,omitempty" jsonschema:"the window to explain, e.g. 15m (default 15m, at most 24h)"`
	End      string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"length of the normal period just before the window (default: as long as the window, at most 7d)"`
	K        int    `json:"k,omitempty" jsonschema:"entries per list, 1-50 (default 10)"`
}

// CompareWindowsOutput is what changed between the baseline and the window.
type CompareWindowsOutput struct {
	Window   Window `json:"window"`
	Baseline Window `json:"baseline"`
	Service  string `json:"service,omitempty"`
	// Alpha is the chance, when nothing changed, that this answer flags
	// anything at all as significant (Bonferroni over every test made).
	Alpha      float64          `json:"false_alarm_rate"`
	Tests      int              `json:"tests"`
	Templates  TemplateChanges  `json:"error_templates"`
	Operations OperationChanges `json:"operations"`
	Notice     string           `json:"notice,omitempty"`
}

// TemplateChanges are error templates that appeared, grew or went away.
type TemplateChanges struct {
	New      []TemplateChange `json:"new"`
	Spiking  []TemplateChange `json:"spiking"`
	Vanished []TemplateChange `json:"vanished"`
}

// TemplateChange is one error template in both windows.
type TemplateChange struct {
	Service      string     `json:"service"`
	Template     string     `json:"template"`
	Count        uint64     `json:"count"`
	BaseCount    uint64     `json:"baseline_count"`
	PerMinute    float64    `json:"per_minute"`
	BasePerMin   float64    `json:"baseline_per_minute"`
	PValue       float64    `json:"p_value"`
	Significant  bool       `json:"significant"`
	NeverSeen    bool       `json:"never_seen_before,omitempty"`
	FirstSeen    *time.Time `json:"first_seen,omitempty"`
	ExampleTrace []string   `json:"example_trace_ids,omitempty"`
	hash         uint64
}

// OperationChanges are operations (service, span name) that changed.
type OperationChanges struct {
	New      []OperationChange `json:"new"`
	Vanished []OperationChange `json:"vanished"`
	Failing  []OperationChange `json:"error_rate_up"`
	Slower   []OperationChange `json:"slower"`
	Busier   []OperationChange `json:"throughput_up"`
	Quieter  []OperationChange `json:"throughput_down"`
}

// OperationChange is one operation in both windows, with the test that
// flagged it.
type OperationChange struct {
	Service       string  `json:"service"`
	Operation     string  `json:"operation"`
	Kind          string  `json:"span_kind,omitempty"`
	Calls         uint64  `json:"calls"`
	BaseCalls     uint64  `json:"baseline_calls"`
	Errors        uint64  `json:"errors"`
	BaseErrors    uint64  `json:"baseline_errors"`
	ErrorRate     float64 `json:"error_rate"`
	BaseErrorRate float64 `json:"baseline_error_rate"`
	P50Ms         float64 `json:"p50_ms"`
	BaseP50Ms     float64 `json:"baseline_p50_ms"`
	P95Ms         float64 `json:"p95_ms"`
	BaseP95Ms     float64 `json:"baseline_p95_ms"`
	// SlowerShare is the chance that a call of the window is slower than
	// one of the baseline (0.5: no shift), from the Mann-Whitney U.
	SlowerShare  float64    `json:"slower_share,omitempty"`
	PValue       float64    `json:"p_value"`
	Test         string     `json:"test"`
	FirstSeen    *time.Time `json:"first_seen,omitempty"`
	ExampleTrace []string   `json:"example_trace_ids,omitempty"`
}

// Effect sizes below which a significant change is not reported: with
// enough calls a 3 % shift is significant and means nothing.
const (
	minSlowerShare = 0.65 // a window call is slower than a baseline call 65 % of the time
	minRateRatio   = 2    // twice as often per minute
	minErrorRise   = 0.02 // two percentage points
)

type windowRows struct {
	templates []templateChangeRow
	ops       []opChangeRow
}

type templateChangeRow struct {
	Hash              uint64    `ch:"template_hash"`
	Service           string    `ch:"service_name"`
	Cur               uint64    `ch:"cur"`
	Base              uint64    `ch:"base"`
	FirstSeen         time.Time `ch:"first_seen"`
	LastSeen          time.Time `ch:"last_seen"`
	Traces            []string  `ch:"traces"`
	Template          string    `ch:"template"`
	TemplateFirstSeen time.Time `ch:"template_first_seen"`
}

type opChangeRow struct {
	Service     string    `ch:"service_name"`
	Name        string    `ch:"span_name"`
	Kind        string    `ch:"span_kind"`
	Cur         uint64    `ch:"cur"`
	Base        uint64    `ch:"base"`
	CurErrors   uint64    `ch:"cur_errors"`
	BaseErrors  uint64    `ch:"base_errors"`
	P50         float64   `ch:"p50"`
	BaseP50     float64   `ch:"base_p50"`
	P95         float64   `ch:"p95"`
	BaseP95     float64   `ch:"base_p95"`
	U           float64   `ch:"mw_u"`
	UP          float64   `ch:"mw_p"`
	FirstSeen   time.Time `ch:"first_seen"`
	BaseLast    time.Time `ch:"base_last_seen"`
	ErrorTraces []string  `ch:"error_traces"`
	Slowest     string    `ch:"slowest_trace"`
}

const compareRowLimit = 5000

func (s *Server) compareWindowsTool(ctx context.Context, _ *sdk.CallToolRequest, in CompareWindowsInput) (*sdk.CallToolResult, CompareWindowsOutput, error) {
	var out CompareWindowsOutput
	w, base, err := windowAndBaseline(in.Window, in.End, in.Baseline, 15*time.Minute, s.now())
	if err != nil {
		return nil, out, err
	}
	out, err = s.compareWindows(ctx, w, base, in.Service, clampInt(in.K, 10, 1, 50))
	return nil, out, err
}

// windowAndBaseline reads a window and the baseline just before it.
func windowAndBaseline(window, end, baseline string, def time.Duration, now time.Time) (timeWindow, timeWindow, error) {
	w, err := parseWindow(window, end, def, 24*time.Hour, now)
	if err != nil {
		return w, w, err
	}
	baseLen := w.End.Sub(w.Start)
	if baseline != "" {
		if baseLen, err = parseDuration(baseline); err != nil {
			return w, w, userErrorf("baseline: %v", err)
		}
		if baseLen < time.Minute || baseLen > 7*24*time.Hour {
			return w, w, userErrorf("baseline must be between 1m and 7d, got %s", baseLen)
		}
	}
	return w, timeWindow{Start: w.Start.Add(-baseLen), End: w.Start}, nil
}

func (s *Server) compareWindowRows(ctx context.Context, w, base timeWindow, service string) (windowRows, error) {
	var rows windowRows
	p := params{}.time("base_start", base.Start).time("start", w.Start).time("end", w.End).
		str("service", service).int("limit", compareRowLimit)
	for _, q := range []struct {
		name string
		dest any
	}{{"compare_windows_templates", &rows.templates}, {"compare_windows_spans", &rows.ops}} {
		sql, err := schema.Query(q.name)
		if err != nil {
			return rows, err
		}
		if err := s.db.selectInto(ctx, q.dest, sql, p); err != nil {
			return rows, err
		}
	}
	return rows, nil
}

func (s *Server) compareWindows(ctx context.Context, w, base timeWindow, service string, k int) (CompareWindowsOutput, error) {
	out := CompareWindowsOutput{Window: w.out(), Baseline: base.out(), Service: service, Alpha: rca.Alpha}
	rows, err := s.compareWindowRows(ctx, w, base, service)
	if err != nil {
		return out, err
	}
	out.Templates, out.Operations, out.Tests = classifyChanges(rows, w, base)
	trim := func(xs *[]TemplateChange) { *xs = orEmpty((*xs)[:min(k, len(*xs))]) }
	trim(&out.Templates.New)
	trim(&out.Templates.Spiking)
	trim(&out.Templates.Vanished)
	for _, xs := range []*[]OperationChange{&out.Operations.New, &out.Operations.Vanished, &out.Operations.Failing,
		&out.Operations.Slower, &out.Operations.Busier, &out.Operations.Quieter} {
		*xs = orEmpty((*xs)[:min(k, len(*xs))])
	}
	if len(rows.ops) == 0 && len(rows.templates) == 0 {
		out.Notice = "no spans or error logs in either window" + ifThen(service != "", " for "+service) +
			": check the window and the service name (list services with error_summary)"
	}
	return out, nil
}

// classifyChanges tests every template and operation and sorts the flagged
// ones, largest effect first. It returns the number of tests made: the
// Bonferroni divisor.
func classifyChanges(rows windowRows, w, base timeWindow) (TemplateChanges, OperationChanges, int) {
	var tc TemplateChanges
	var oc OperationChanges
	curMin := w.End.Sub(w.Start).Minutes()
	baseMin := base.End.Sub(base.Start).Minutes()
	tests := len(rows.templates) + 4*len(rows.ops)
	alpha := rca.Bonferroni(tests)

	for _, r := range rows.templates {
		c := TemplateChange{Service: r.Service, Template: r.Template, Count: r.Cur, BaseCount: r.Base,
			PerMinute: round(float64(r.Cur)/curMin, 3), BasePerMin: round(float64(r.Base)/baseMin, 3),
			ExampleTrace: r.Traces, hash: r.Hash}
		if r.Cur > 0 {
			c.FirstSeen = timePtr(r.FirstSeen)
			c.NeverSeen = !r.TemplateFirstSeen.IsZero() && !r.TemplateFirstSeen.Before(w.Start.Truncate(time.Minute))
		}
		switch {
		case r.Cur > 0 && r.Base == 0:
			c.PValue = rca.RateIncrease(r.Cur, r.Base, curMin, baseMin)
			c.Significant = c.PValue < alpha
			tc.New = append(tc.New, c)
		case r.Cur == 0 && r.Base > 0:
			c.PValue = rca.RateDecrease(r.Cur, r.Base, curMin, baseMin)
			c.Significant = c.PValue < alpha
			tc.Vanished = append(tc.Vanished, c)
		case r.Cur > 0:
			c.PValue = rca.RateIncrease(r.Cur, r.Base, curMin, baseMin)
			c.Significant = c.PValue < alpha
			if c.Significant && c.PerMinute >= minRateRatio*c.BasePerMin {
				tc.Spiking = append(tc.Spiking, c)
			}
		}
	}
	byCount := func(a, b TemplateChange) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.BaseCount, a.BaseCount), strings.Compare(a.Service, b.Service), cmp.Compare(a.hash, b.hash))
	}
	slices.SortFunc(tc.New, byCount)
	slices.SortFunc(tc.Vanished, byCount)
	slices.SortFunc(tc.Spiking, func(a, b TemplateChange) int {
		return cmp.Or(cmp.Compare(a.PValue, b.PValue), byCount(a, b))
	})

	for _, r := range rows.ops {
		c := OperationChange{Service: r.Service, Operation: r.Name, Kind: r.Kind, Calls: r.Cur, BaseCalls: r.Base,
			Errors: r.CurErrors, BaseErrors: r.BaseErrors,
			ErrorRate: rateOf(r.CurErrors, r.Cur), BaseErrorRate: rateOf(r.BaseErrors, r.Base),
			P50Ms: msOf(r.P50), BaseP50Ms: msOf(r.BaseP50), P95Ms: msOf(r.P95), BaseP95Ms: msOf(r.BaseP95),
			ExampleTrace: r.ErrorTraces}
		if r.Cur > 0 {
			c.FirstSeen = timePtr(r.FirstSeen)
		}
		switch {
		case r.Cur > 0 && r.Base == 0:
			c.PValue, c.Test = rca.RateIncrease(r.Cur, 0, curMin, baseMin), "poisson rate"
			oc.New = append(oc.New, c)
			continue
		case r.Cur == 0:
			c.PValue, c.Test = rca.RateDecrease(0, r.Base, curMin, baseMin), "poisson rate"
			oc.Vanished = append(oc.Vanished, c)
			continue
		}
		if p := rca.ProportionIncrease(r.CurErrors, r.Cur, r.BaseErrors, r.Base); p < alpha && c.ErrorRate-c.BaseErrorRate >= minErrorRise {
			e := c
			e.PValue, e.Test = p, "fisher exact (error rate)"
			oc.Failing = append(oc.Failing, e)
		}
		if share := 1 - r.U/(float64(r.Cur)*float64(r.Base)); r.UP < alpha && share >= minSlowerShare {
			e := c
			e.SlowerShare, e.PValue, e.Test = round(share, 3), r.UP, "mann-whitney u (durations)"
			if r.Slowest != "" {
				e.ExampleTrace = []string{r.Slowest}
			}
			oc.Slower = append(oc.Slower, e)
		}
		perMin, basePerMin := float64(r.Cur)/curMin, float64(r.Base)/baseMin
		if p := rca.RateIncrease(r.Cur, r.Base, curMin, baseMin); p < alpha && perMin >= minRateRatio*basePerMin {
			e := c
			e.PValue, e.Test = p, "poisson rate"
			oc.Busier = append(oc.Busier, e)
		}
		if p := rca.RateDecrease(r.Cur, r.Base, curMin, baseMin); p < alpha && perMin*minRateRatio <= basePerMin {
			e := c
			e.PValue, e.Test = p, "poisson rate"
			oc.Quieter = append(oc.Quieter, e)
		}
	}
	byCalls := func(a, b OperationChange) int {
		return cmp.Or(cmp.Compare(b.Calls, a.Calls), cmp.Compare(b.BaseCalls, a.BaseCalls), strings.Compare(a.Service, b.Service), strings.Compare(a.Operation, b.Operation))
	}
	slices.SortFunc(oc.New, byCalls)
	slices.SortFunc(oc.Vanished, func(a, b OperationChange) int {
		return byCalls(OperationChange{Calls: a.BaseCalls}, OperationChange{Calls: b.BaseCalls})
	})
	slices.SortFunc(oc.Failing, func(a, b OperationChange) int {
		return cmp.Or(cmp.Compare(b.ErrorRate-b.BaseErrorRate, a.ErrorRate-a.BaseErrorRate), byCalls(a, b))
	})
	slices.SortFunc(oc.Slower, func(a, b OperationChange) int {
		return cmp.Or(cmp.Compare(b.SlowerShare, a.SlowerShare), cmp.Compare(b.P50Ms/math.Max(b.BaseP50Ms, 0.001), a.P50Ms/math.Max(a.BaseP50Ms, 0.001)), byCalls(a, b))
	})
	slices.SortFunc(oc.Busier, byCalls)
	slices.SortFunc(oc.Quieter, byCalls)
	return tc, oc, tests
}

func rateOf(x, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return round(float64(x)/float64(n), 4)
}

func msOf(nanos float64) float64 {
	if math.IsNaN(nanos) || math.IsInf(nanos, 0) || nanos < 0 {
		return 0
	}
	return round(nanos/1e6, 2)
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return nil
	}
	u := t.UTC()
	return &u
}
