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

// Which traces are bad.
const (
	BadErrors = "errors"
	BadSlow   = "slow"
	BadEither = "either"
)

// CompareAttributesInput frames a BubbleUp question.
type CompareAttributesInput struct {
	Service  string `json:"service,omitempty" jsonschema:"only traces that pass through this service (default: all)"`
	Window   string `json:"window,omitempty" jsonschema:"the window whose traces are compared, e.g. 15m (default 15m, at most 24h)"`
	End      string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"length of the period before the window whose root-span latency defines slow (default: as long as the window)"`
	Bad      string `json:"bad,omitempty" jsonschema:"which traces are bad: errors (a span failed), slow (the root span slower than the baseline's p95 of its operation) or either (default)"`
	K        int    `json:"k,omitempty" jsonschema:"attribute values to return, 1-50 (default 10)"`
}

// CompareAttributesOutput lists attribute values over-represented among the
// bad traces.
type CompareAttributesOutput struct {
	Window     Window           `json:"window"`
	Baseline   Window           `json:"baseline"`
	Service    string           `json:"service,omitempty"`
	Bad        string           `json:"bad"`
	Traces     uint64           `json:"traces"`
	BadTraces  uint64           `json:"bad_traces"`
	GoodTraces uint64           `json:"good_traces"`
	Alpha      float64          `json:"false_alarm_rate"`
	Tests      int              `json:"tests"`
	Attributes []AttributeDelta `json:"attributes"`
	Notice     string           `json:"notice,omitempty"`
}

// AttributeDelta is one attribute value among bad and good traces.
type AttributeDelta struct {
	Key        string `json:"key"`
	Value      string `json:"value"`
	BadTraces  uint64 `json:"bad_traces"`
	GoodTraces uint64 `json:"good_traces"`
	// BadShare and GoodShare are the shares of bad and of good traces that
	// carry the value; Difference (their difference) is the effect size the
	// list is sorted by.
	BadShare   float64 `json:"bad_share"`
	GoodShare  float64 `json:"good_share"`
	Difference float64 `json:"difference"`
	// BadRateWith and BadRateWithout are the shares of traces that are bad
	// with and without the value.
	BadRateWith    float64 `json:"bad_rate_with"`
	BadRateWithout float64 `json:"bad_rate_without"`
	PValue         float64 `json:"p_value"`
	Significant    bool    `json:"significant"`
}

// maxAttributeValues leaves out keys with more values than this: ids and
// URLs say nothing about a segment.
const maxAttributeValues = 50

type attributeRow struct {
	Key       string `ch:"key"`
	Value     string `ch:"value"`
	BadWith   uint64 `ch:"bad_with"`
	GoodWith  uint64 `ch:"good_with"`
	KeyValues uint64 `ch:"key_values"`
}

func (s *Server) compareAttributesTool(ctx context.Context, _ *sdk.CallToolRequest, in CompareAttributesInput) (*sdk.CallToolResult, CompareAttributesOutput, error) {
	var out CompareAttributesOutput
	w, base, err := windowAndBaseline(in.Window, in.End, in.Baseline, 15*time.Minute, s.now())
	if err != nil {
		return nil, out, err
	}
	bad := strings.ToLower(strings.TrimSpace(in.Bad))
	switch bad {
	case "":
		bad = BadEither
	case BadErrors, BadSlow, BadEither:
	default:
		return nil, out, userErrorf("bad %q is not one of errors, slow, either", in.Bad)
	}
	out, err = s.compareAttributes(ctx, w, base, in.Service, bad, clampInt(in.K, 10, 1, 50))
	return nil, out, err
}

func (s *Server) compareAttributes(ctx context.Context, w, base timeWindow, service, bad string, k int) (CompareAttributesOutput, error) {
	out := CompareAttributesOutput{Window: w.out(), Baseline: base.out(), Service: service, Bad: bad, Alpha: rca.Alpha, Attributes: []AttributeDelta{}}
	sql, err := schema.Query("compare_attributes")
	if err != nil {
		return out, err
	}
	var rows []attributeRow
	p := params{}.time("base_start", base.Start).time("start", w.Start).time("end", w.End).str("service", service).
		str("bad", bad).int("max_values", maxAttributeValues).int("limit", compareRowLimit)
	if err := s.db.selectInto(ctx, &rows, sql, p); err != nil {
		return out, err
	}
	out.Attributes, out.BadTraces, out.GoodTraces, out.Tests = attributeDeltas(rows)
	out.Traces = out.BadTraces + out.GoodTraces
	out.Attributes = out.Attributes[:min(k, len(out.Attributes))]
	switch {
	case out.Traces == 0:
		out.Notice = "no traces in the window" + ifThen(service != "", " through "+service) + ": widen the window or drop the service filter"
	case out.BadTraces == 0:
		out.Notice = "no bad traces (" + bad + ") in the window: nothing to compare; try bad=slow or a longer window"
	case out.GoodTraces == 0:
		out.Notice = "every trace in the window is bad (" + bad + "): no good traces to compare with; widen the window"
	}
	return out, nil
}

// attributeDeltas tests each value for over-representation among the bad
// traces (Fisher's exact test, Bonferroni over all values) and keeps those
// more common among bad traces than good ones, significant first, by
// difference in share.
func attributeDeltas(rows []attributeRow) ([]AttributeDelta, uint64, uint64, int) {
	var badTotal, goodTotal uint64
	for _, r := range rows {
		if r.Key == "" {
			badTotal, goodTotal = r.BadWith, r.GoodWith
		}
	}
	tests := max(len(rows)-1, 1)
	alpha := rca.Bonferroni(tests)
	var out []AttributeDelta
	if badTotal == 0 || goodTotal == 0 {
		return out, badTotal, goodTotal, tests
	}
	for _, r := range rows {
		if r.Key == "" {
			continue
		}
		d := AttributeDelta{Key: r.Key, Value: r.Value, BadTraces: r.BadWith, GoodTraces: r.GoodWith,
			BadShare:  round(float64(r.BadWith)/float64(badTotal), 4),
			GoodShare: round(float64(r.GoodWith)/float64(goodTotal), 4)}
		d.Difference = round(d.BadShare-d.GoodShare, 4)
		if d.Difference <= 0 {
			continue
		}
		d.BadRateWith = rateOf(r.BadWith, r.BadWith+r.GoodWith)
		d.BadRateWithout = rateOf(badTotal-r.BadWith, badTotal-r.BadWith+goodTotal-r.GoodWith)
		d.PValue = rca.ProportionIncrease(r.BadWith, badTotal, r.GoodWith, goodTotal)
		d.Significant = d.PValue < alpha
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b AttributeDelta) int {
		if a.Significant != b.Significant {
			if a.Significant {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.Difference, a.Difference), cmp.Compare(a.PValue, b.PValue),
			strings.Compare(a.Key, b.Key), strings.Compare(a.Value, b.Value))
	})
	return out, badTotal, goodTotal, tests
}

// segmentOf is the most over-represented significant value that most bad
// traces carry and few good ones do: the segment a fault is confined to.
func segmentOf(ds []AttributeDelta) *AttributeDelta {
	for i, d := range ds {
		if d.Significant && d.BadShare >= 0.5 && d.BadRateWith > 0 && !math.IsNaN(d.Difference) {
			return &ds[i]
		}
	}
	return nil
}
