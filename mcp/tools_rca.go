package mcp

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
)

// AnalyzeRootCauseInput frames the question.
type AnalyzeRootCauseInput struct {
	Service  string `json:"service,omitempty" jsonschema:"the service showing the symptom, e.g. payment (default: the whole system); causes in its dependencies are found too"`
	Window   string `json:"window,omitempty" jsonschema:"the incident window, e.g. 15m, 1h (default 1h, at most 24h)"`
	End      string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"length of the normal period just before the window to compare with (default: as long as the window, at most 7d)"`
	K        int    `json:"k,omitempty" jsonschema:"candidates to return, 1-10 (default 5)"`
}

// AnalyzeRootCauseOutput ranks candidate root causes with their evidence.
type AnalyzeRootCauseOutput struct {
	Window     Window      `json:"window"`
	Baseline   Window      `json:"baseline"`
	Service    string      `json:"service,omitempty"`
	Symptom    Symptom     `json:"symptom"`
	Candidates []RootCause `json:"candidates"`
	// WhatChanged is compare_windows and compare_attributes over the same
	// window and baseline: the evidence the candidates cite.
	WhatChanged WhatChanged `json:"what_changed"`
	NextSteps   []string    `json:"next_steps"`
	Notice      string      `json:"notice,omitempty"`
}

// Symptom is what failed in the window.
type Symptom struct {
	FailingTraces         uint64 `json:"failing_traces"`
	FailingTracesBaseline uint64 `json:"failing_traces_baseline"`
	Sampled               int    `json:"failing_traces_sampled"`
	Description           string `json:"description"`
	// Sessions are the user sessions the sampled failing traces touched.
	Sessions *SessionImpact `json:"sessions,omitempty"`
}

// RootCause is a ranked candidate with the known patterns it matches.
type RootCause struct {
	rca.Candidate
	KnownPatterns []PatternMatch `json:"known_patterns"`
	// Sessions are the user sessions among the failing traces through the
	// candidate's service.
	Sessions *SessionImpact `json:"sessions,omitempty"`
	// Cites are the entries of what_changed that bear on this candidate.
	Cites []string `json:"cites"`
}

// WhatChanged is the significant part of compare_windows and
// compare_attributes.
type WhatChanged struct {
	NewTemplates     []TemplateChange  `json:"new_error_templates"`
	SpikingTemplates []TemplateChange  `json:"spiking_error_templates"`
	FailingOps       []OperationChange `json:"error_rate_up"`
	SlowerOps        []OperationChange `json:"slower"`
	Segments         []AttributeDelta  `json:"bad_trace_attributes"`
	FalseAlarmRate   float64           `json:"false_alarm_rate"`
}

// Pattern distances for root-cause candidates: close matches by text
// alone, looser ones when service and kind agree.
const (
	closePatternDistance = 0.5
	loosePatternDistance = 0.75
)

// failingSample is how many failing traces are read span by span; the
// deepest-failing-span counts are shares of it.
const failingSample = 400

const errorStatus = `StatusCode IN ('Error', 'STATUS_CODE_ERROR')`

const failingTracesSubquery = `SELECT TraceId FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND ` + errorStatus + `
          AND ({service:String} = '' OR ServiceName = {service:String})
        GROUP BY TraceId ORDER BY cityHash64(TraceId), TraceId LIMIT {sample:UInt32}`

func (s *Server) analyzeRootCause(ctx context.Context, _ *sdk.CallToolRequest, in AnalyzeRootCauseInput) (*sdk.CallToolResult, AnalyzeRootCauseOutput, error) {
	var out AnalyzeRootCauseOutput
	w, err := parseWindow(in.Window, in.End, time.Hour, 24*time.Hour, s.now())
	if err != nil {
		return nil, out, err
	}
	baseLen := w.End.Sub(w.Start)
	if in.Baseline != "" {
		if baseLen, err = parseDuration(in.Baseline); err != nil {
			return nil, out, userErrorf("baseline: %v", err)
		}
		if baseLen < time.Minute || baseLen > 7*24*time.Hour {
			return nil, out, userErrorf("baseline must be between 1m and 7d, got %s", baseLen)
		}
	}
	base := timeWindow{Start: w.Start.Add(-baseLen), End: w.Start}
	out.Window, out.Baseline, out.Service = w.out(), base.out(), in.Service
	k := clampInt(in.K, 5, 1, 10)
	// What changed (compare_windows, compare_attributes, deploys) is read
	// while the failing traces are.
	var changed rca.Input
	var changes WhatChanged
	var changeErr error
	var wg sync.WaitGroup
	wg.Go(func() { changes, changeErr = s.whatChanged(ctx, w, base, in.Service, &changed) })
	input, err := s.rcaInput(ctx, w, base, in.Service)
	wg.Wait()
	if err != nil {
		return nil, out, err
	}
	if changeErr != nil {
		return nil, out, changeErr
	}
	input.MaxCandidates = k
	input.Changes, input.Deploys = changed.Changes, changed.Deploys
	out.WhatChanged = changes
	cands := rca.Analyze(input)

	out.Symptom = Symptom{FailingTraces: input.FailingTotal, FailingTracesBaseline: input.BaseFailing, Sampled: countTraces(input.FailingSpans)}
	scope := "the system"
	if in.Service != "" {
		scope = in.Service
	}
	out.Symptom.Description = fmt.Sprintf("%d failing traces involving %s in the window vs %d in the baseline (%s)",
		input.FailingTotal, scope, input.BaseFailing, changeText(input.BaseFailing, input.FailingTotal))

	for _, c := range cands {
		rc := RootCause{Candidate: c, KnownPatterns: []PatternMatch{}, Cites: cite(c, changes)}
		seen := map[string]bool{}
		for _, m := range c.Evidence.Messages[:min(2, len(c.Evidence.Messages))] {
			// The vector ranking alone, as the rules below are written for
			// its distances.
			res, err := s.patternsFor(ctx, m.Text, c.Service, 3, loosePatternDistance, RankingVector)
			if err != nil {
				return nil, out, err
			}
			for _, p := range res.matches {
				if p.Distance > loosePatternDistance {
					continue
				}
				p.Why = nil
				if seen[p.Signature] || len(rc.KnownPatterns) >= 2 {
					continue
				}
				// A close text match counts; a looser one only when the
				// pattern is of the same service and describes the same
				// mechanism as the candidate.
				switch {
				case p.Distance <= closePatternDistance:
					p.Match = "error text"
				case (p.Service == c.Service || p.Service == "") && rca.SameFamily(rca.TextKind(p.ErrorMessage+"\n"+p.RootCause), c.Kind):
					p.Match = "same service and kind, looser error text"
				default:
					continue
				}
				seen[p.Signature] = true
				rc.KnownPatterns = append(rc.KnownPatterns, p)
			}
		}
		sortPatterns(rc.KnownPatterns, c.Service)
		out.Candidates = append(out.Candidates, rc)
	}
	out.Candidates = orEmpty(out.Candidates)
	if err := s.rcaSessions(ctx, &out, input.FailingSpans, w); err != nil {
		return nil, out, err
	}
	out.NextSteps = nextSteps(out)
	if len(out.Candidates) == 0 {
		out.Notice = "no failing traces, latency shifts or pool/heap anomalies in the window" + ifThen(in.Service != "", " for "+in.Service) +
			": widen the window, drop the service filter, or look at error_summary and detect_anomalous_traces"
	}
	return nil, out, nil
}

func countTraces(spans []rca.Span) int {
	ids := map[string]bool{}
	for _, s := range spans {
		ids[s.TraceID] = true
	}
	return len(ids)
}

func nextSteps(out AnalyzeRootCauseOutput) []string {
	steps := []string{}
	if len(out.Candidates) == 0 {
		return append(steps, "error_summary over a longer window to see whether anything failed")
	}
	top := out.Candidates[0]
	if ids := top.Evidence.ExampleTraceIDs; len(ids) > 0 {
		steps = append(steps, fmt.Sprintf("get_trace trace_id=%s to see the failing path span by span", ids[0]))
	}
	if len(top.Evidence.Messages) > 0 {
		steps = append(steps, fmt.Sprintf("find_similar_errors text=%q to see when this error occurred before", truncate(top.Evidence.Messages[0].Text, 200)))
	}
	if len(top.KnownPatterns) == 0 {
		steps = append(steps, "match_error_patterns with the top error message: no known pattern matched closely")
	}
	steps = append(steps, "run_select_query on otel_metrics_gauge / otel_metrics_sum for "+top.Service+" to chart the metrics named in the evidence")
	return steps
}

// rcaInput fetches what rca.Analyze needs, every query bounded by the
// baseline start, the window end and a row limit.
func (s *Server) rcaInput(ctx context.Context, w, base timeWindow, service string) (rca.Input, error) {
	in := rca.Input{Start: w.Start, End: w.End, BaseStart: base.Start, Service: service}
	p := params{}.time("start", w.Start).time("end", w.End).time("base_start", base.Start).
		time("from", w.Start.Add(-10*time.Minute)).time("to", w.End.Add(10*time.Minute)).
		str("service", service).int("sample", failingSample).int("metric_step", metricStep(w.End.Sub(w.Start)))

	var totals []struct {
		Cur  uint64 `ch:"cur"`
		Base uint64 `ch:"base"`
	}
	if err := s.db.selectInto(ctx, &totals, `SELECT uniqExactIf(TraceId, Timestamp >= {start:DateTime64(9)}) AS cur,
		uniqExactIf(TraceId, Timestamp < {start:DateTime64(9)}) AS base
		FROM otel_traces WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND `+errorStatus+`
		  AND ({service:String} = '' OR ServiceName = {service:String})`, p); err != nil {
		return in, err
	}
	if len(totals) == 1 {
		in.FailingTotal, in.BaseFailing = totals[0].Cur, totals[0].Base
	}

	var spans []struct {
		TraceID  string    `ch:"TraceId"`
		SpanID   string    `ch:"SpanId"`
		ParentID string    `ch:"ParentSpanId"`
		Service  string    `ch:"ServiceName"`
		Name     string    `ch:"SpanName"`
		Kind     string    `ch:"SpanKind"`
		Start    time.Time `ch:"Timestamp"`
		Duration uint64    `ch:"Duration"`
		Status   string    `ch:"StatusCode"`
		Message  string    `ch:"StatusMessage"`
		Peer     string    `ch:"peer"`
	}
	if in.FailingTotal > 0 {
		if err := s.db.selectInto(ctx, &spans, `SELECT TraceId, SpanId, ParentSpanId, ServiceName, SpanName, SpanKind, Timestamp, Duration,
			StatusCode, left(StatusMessage, 1000) AS StatusMessage,
			coalesce(nullIf(SpanAttributes['peer.service'], ''), nullIf(SpanAttributes['server.address'], ''), SpanAttributes['net.peer.name']) AS peer
			FROM otel_traces
			WHERE Timestamp >= {from:DateTime64(9)} AND Timestamp < {to:DateTime64(9)}
			  AND TraceId IN (`+failingTracesSubquery+`)
			LIMIT 100000`, p); err != nil {
			return in, err
		}
		for _, r := range spans {
			in.FailingSpans = append(in.FailingSpans, rca.Span{TraceID: r.TraceID, SpanID: r.SpanID, ParentID: r.ParentID,
				Service: r.Service, Name: r.Name, Kind: r.Kind, Start: r.Start, Duration: time.Duration(r.Duration),
				Error: isErrorStatus(r.Status), StatusMessage: r.Message, Peer: r.Peer})
		}
		var logs []struct {
			TraceID string `ch:"TraceId"`
			SpanID  string `ch:"SpanId"`
			Service string `ch:"ServiceName"`
			Body    string `ch:"Body"`
		}
		if err := s.db.selectInto(ctx, &logs, `SELECT TraceId, SpanId, ServiceName, left(Body, 2000) AS Body FROM otel_logs
			WHERE Timestamp >= {from:DateTime64(9)} AND Timestamp < {to:DateTime64(9)}
			  AND (SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL'))
			  AND TraceId IN (`+failingTracesSubquery+`)
			LIMIT 20000`, p); err != nil {
			return in, err
		}
		for _, l := range logs {
			in.Logs = append(in.Logs, rca.Log{TraceID: l.TraceID, SpanID: l.SpanID, Service: l.Service, Body: l.Body})
		}
	}

	var ops []struct {
		Service string  `ch:"ServiceName"`
		Name    string  `ch:"SpanName"`
		Kind    string  `ch:"kind"`
		Count   uint64  `ch:"cnt"`
		Errors  uint64  `ch:"errs"`
		BCount  uint64  `ch:"bcnt"`
		BErrors uint64  `ch:"berrs"`
		P95     float64 `ch:"p95"`
		BP95    float64 `ch:"bp95"`
	}
	if err := s.db.selectInto(ctx, &ops, `SELECT ServiceName, SpanName, any(SpanKind) AS kind,
		countIf(Timestamp >= {start:DateTime64(9)}) AS cnt,
		countIf(Timestamp >= {start:DateTime64(9)} AND `+errorStatus+`) AS errs,
		countIf(Timestamp < {start:DateTime64(9)}) AS bcnt,
		countIf(Timestamp < {start:DateTime64(9)} AND `+errorStatus+`) AS berrs,
		quantileIf(0.95)(Duration, Timestamp >= {start:DateTime64(9)}) AS p95,
		quantileIf(0.95)(Duration, Timestamp < {start:DateTime64(9)}) AS bp95
		FROM otel_traces WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
		GROUP BY ServiceName, SpanName ORDER BY errs DESC, cnt DESC, ServiceName, SpanName LIMIT 2000`, p); err != nil {
		return in, err
	}
	for _, o := range ops {
		in.Ops = append(in.Ops, rca.OpStats{Service: o.Service, Operation: o.Name, Kind: o.Kind, Count: o.Count, Errors: o.Errors,
			BaseCount: o.BCount, BaseErrors: o.BErrors, P95: nanos(o.P95), BaseP95: nanos(o.BP95)})
	}
	var mins []struct {
		Service string    `ch:"ServiceName"`
		Name    string    `ch:"SpanName"`
		Minute  time.Time `ch:"m"`
		Errors  uint64    `ch:"e"`
	}
	if err := s.db.selectInto(ctx, &mins, `SELECT ServiceName, SpanName, toStartOfMinute(Timestamp) AS m, count() AS e
		FROM otel_traces WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND `+errorStatus+`
		GROUP BY ServiceName, SpanName, m ORDER BY ServiceName, SpanName, m LIMIT 50000`, p); err != nil {
		return in, err
	}
	for _, m := range mins {
		in.OpMinutes = append(in.OpMinutes, rca.OpMinute{Service: m.Service, Operation: m.Name, Minute: m.Minute, Errors: m.Errors, Count: m.Errors})
	}
	metrics, err := s.rcaMetrics(ctx, p)
	if err != nil {
		return in, err
	}
	in.Metrics = metrics
	return in, nil
}

// Metric tables are the contrib clickhouse exporter's defaults.
const (
	metricsGaugeTable = "otel_metrics_gauge"
	metricsSumTable   = "otel_metrics_sum"
)

const metricNameFilter = `(MetricName ILIKE '%connection%' OR MetricName ILIKE '%pool%' OR MetricName ILIKE '%heap%'
       OR MetricName ILIKE '%memory%' OR MetricName ILIKE '%.mem.%' OR MetricName ILIKE '%rss%')`

const metricStateExpr = `coalesce(nullIf(Attributes['db.client.connection.state'], ''), nullIf(Attributes['db.client.connections.state'], ''),
       nullIf(Attributes['state'], ''), Attributes['pool.state'])`

// metricStep is the bucket metrics are averaged over: a sixth of the
// window, between 10 s (SDKs export every 10-60 s) and a minute. A leak
// shows as a heap rising bucket after bucket, so a one-minute incident
// window needs buckets shorter than a minute to show it at all.
func metricStep(window time.Duration) int {
	return int(min(max(window/6, 10*time.Second), time.Minute) / time.Second)
}

func (s *Server) rcaMetrics(ctx context.Context, p params) ([]rca.MetricPoint, error) {
	var out []rca.MetricPoint
	for _, t := range []struct {
		table, mono string
	}{{metricsGaugeTable, "0"}, {metricsSumTable, "IsMonotonic"}} {
		ok, err := s.db.tableExists(ctx, t.table)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		var rows []struct {
			Service string    `ch:"ServiceName"`
			Metric  string    `ch:"MetricName"`
			State   string    `ch:"state"`
			Mono    bool      `ch:"mono"`
			Minute  time.Time `ch:"m"`
			Avg     float64   `ch:"avg_v"`
			Max     float64   `ch:"max_v"`
			Last    float64   `ch:"last_v"`
		}
		sql := `SELECT ServiceName, MetricName, ` + metricStateExpr + ` AS state, toBool(` + t.mono + `) AS mono,
			toStartOfInterval(TimeUnix, toIntervalSecond({metric_step:UInt32})) AS m, avg(Value) AS avg_v, max(Value) AS max_v, argMax(Value, TimeUnix) AS last_v
			FROM ` + t.table + `
			WHERE TimeUnix >= toDateTime({base_start:DateTime64(9)}) AND TimeUnix < toDateTime({end:DateTime64(9)}) AND ` + metricNameFilter + `
			GROUP BY ServiceName, MetricName, state, mono, m
			ORDER BY ServiceName, MetricName, state, m LIMIT 50000`
		if err := s.db.selectInto(ctx, &rows, sql, p); err != nil {
			return nil, err
		}
		for _, r := range rows {
			v := r.Avg
			if r.Mono {
				v = r.Last
			}
			out = append(out, rca.MetricPoint{Service: r.Service, Metric: r.Metric, State: r.State, Minute: r.Minute,
				Value: v, Max: r.Max, Monotonic: r.Mono})
		}
	}
	return out, nil
}

func nanos(f float64) time.Duration {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return 0
	}
	return time.Duration(f)
}
