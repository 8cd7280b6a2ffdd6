package mcp

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
)

// whatChanged runs compare_windows and compare_attributes over the
// question's window and baseline, hands the operations' change tests and
// the services' version changes to the analysis, and keeps the significant
// changes as the evidence the candidates cite.
func (s *Server) whatChanged(ctx context.Context, w, base timeWindow, service string, in *rca.Input) (WhatChanged, error) {
	wc := WhatChanged{FalseAlarmRate: rca.Alpha}
	rows, err := s.compareWindowRows(ctx, w, base, service)
	if err != nil {
		return wc, err
	}
	for _, r := range rows.ops {
		if r.Cur == 0 || r.Base == 0 {
			continue
		}
		in.Changes = append(in.Changes, rca.OpChange{Service: r.Service, Operation: r.Name, Calls: r.Cur, BaseCalls: r.Base,
			P50: nanos(r.P50), BaseP50: nanos(r.BaseP50), P95: nanos(r.P95), BaseP95: nanos(r.BaseP95),
			SlowerShare: 1 - r.U/(float64(r.Cur)*float64(r.Base)), LatencyP: r.UP, SlowestTrace: r.Slowest})
	}
	tc, oc, _ := classifyChanges(rows, w, base)
	significant := func(xs []TemplateChange) []TemplateChange {
		out := []TemplateChange{}
		for _, x := range xs {
			if x.Significant && len(out) < 5 {
				out = append(out, x)
			}
		}
		return out
	}
	wc.NewTemplates, wc.SpikingTemplates = significant(tc.New), significant(tc.Spiking)
	wc.FailingOps, wc.SlowerOps = orEmpty(oc.Failing[:min(5, len(oc.Failing))]), orEmpty(oc.Slower[:min(5, len(oc.Slower))])

	attrs, err := s.compareAttributes(ctx, w, base, service, BadEither, 20)
	if err != nil {
		return wc, err
	}
	wc.Segments = []AttributeDelta{}
	for _, a := range attrs.Attributes {
		if a.Significant && len(wc.Segments) < 5 {
			wc.Segments = append(wc.Segments, a)
		}
	}
	if in.Deploys, err = s.deploys(ctx, w, base, service); err != nil {
		return wc, err
	}
	return wc, nil
}

// deploys are services that ran a service.version in the window that the
// baseline never saw, while the baseline ran another.
func (s *Server) deploys(ctx context.Context, w, base timeWindow, service string) ([]rca.Deploy, error) {
	var rows []struct {
		Service string    `ch:"ServiceName"`
		Version string    `ch:"version"`
		First   time.Time `ch:"first"`
		Base    uint64    `ch:"base"`
	}
	p := params{}.time("base_start", base.Start).time("start", w.Start).time("end", w.End).str("service", service)
	if err := s.db.selectInto(ctx, &rows, `SELECT ServiceName, ResourceAttributes['service.version'] AS version,
		min(Timestamp) AS first, countIf(Timestamp < {start:DateTime64(9)}) AS base
		FROM otel_traces
		WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND version != ''
		GROUP BY ServiceName, version ORDER BY ServiceName, first LIMIT 10000`, p); err != nil {
		return nil, err
	}
	old := map[string]string{}
	var oldCount = map[string]uint64{}
	for _, r := range rows {
		if r.Base > oldCount[r.Service] {
			old[r.Service], oldCount[r.Service] = r.Version, r.Base
		}
	}
	var out []rca.Deploy
	for _, r := range rows {
		if r.Base == 0 && old[r.Service] != "" && !r.First.Before(w.Start) {
			out = append(out, rca.Deploy{Service: r.Service, From: old[r.Service], To: r.Version, At: r.First.UTC()})
		}
	}
	return out, nil
}

// cite lists what changed that bears on a candidate: its operation's error
// rate or latency test, new or spiking error templates of its service that
// its messages match, and the attribute values most over-represented among
// bad traces (the segment or version the fault is confined to).
func cite(c rca.Candidate, wc WhatChanged) []string {
	out := []string{}
	for _, o := range wc.FailingOps {
		if o.Service == c.Service && (c.Operation == "" || o.Operation == c.Operation) {
			out = append(out, fmt.Sprintf("compare_windows: %s %s error rate %.1f%% vs %.1f%% (Fisher p=%.2g)", o.Service, o.Operation, 100*o.ErrorRate, 100*o.BaseErrorRate, o.PValue))
		}
	}
	for _, o := range wc.SlowerOps {
		if o.Service == c.Service && (c.Operation == "" || o.Operation == c.Operation) {
			out = append(out, fmt.Sprintf("compare_windows: %s %s slower, median %.0fms vs %.0fms (Mann-Whitney p=%.2g)", o.Service, o.Operation, o.P50Ms, o.BaseP50Ms, o.PValue))
		}
	}
	msgs := make([]string, 0, len(c.Evidence.Messages))
	for _, m := range c.Evidence.Messages {
		msgs = append(msgs, strings.ToLower(m.Text))
	}
	for _, list := range []struct {
		what string
		ts   []TemplateChange
	}{{"new", wc.NewTemplates}, {"spiking", wc.SpikingTemplates}} {
		for _, t := range list.ts {
			if t.Service != c.Service || !templateMatchesAny(t.Template, msgs) {
				continue
			}
			out = append(out, fmt.Sprintf("compare_windows: %s error template of %s, %d in the window vs %d in the baseline: %q",
				list.what, t.Service, t.Count, t.BaseCount, truncate(t.Template, 160)))
		}
	}
	if c.Rank <= 1 {
		for _, a := range wc.Segments[:min(3, len(wc.Segments))] {
			out = append(out, fmt.Sprintf("compare_attributes: %s=%s on %.0f%% of bad traces vs %.0f%% of good ones (Fisher p=%.2g)",
				a.Key, a.Value, 100*a.BadShare, 100*a.GoodShare, a.PValue))
		}
	}
	return out
}

// templateMatchesAny tells whether a template's constant words open one of
// the messages: the template is how the pipeline saw the message.
func templateMatchesAny(template string, msgs []string) bool {
	words := slices.DeleteFunc(strings.Fields(strings.ToLower(template)), func(w string) bool { return strings.Contains(w, "<*>") })
	if len(words) == 0 {
		return false
	}
	for _, m := range msgs {
		if strings.Contains(m, strings.Join(words[:min(3, len(words))], " ")) {
			return true
		}
	}
	return false
}
