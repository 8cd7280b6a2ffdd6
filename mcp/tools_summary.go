package mcp

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// ErrorSummaryInput selects the services and window.
type ErrorSummaryInput struct {
	Service string `json:"service,omitempty" jsonschema:"one service (default: every service)"`
	Window  string `json:"window,omitempty" jsonschema:"the window to summarise, e.g. 15m, 1h (default 1h, at most 7d); it is compared with the window just before it"`
	End     string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Top     int    `json:"top,omitempty" jsonschema:"error templates per service, 1-20 (default 5)"`
}

// ErrorSummaryOutput summarises errors per service against the previous
// window of the same length.
type ErrorSummaryOutput struct {
	Window   Window          `json:"window"`
	Previous Window          `json:"previous"`
	Services []ServiceErrors `json:"services"`
	Spikes   []string        `json:"spikes"`
	Notice   string          `json:"notice,omitempty"`
}

// ServiceErrors is one service's log and request counts.
type ServiceErrors struct {
	Service                string          `json:"service"`
	Spike                  bool            `json:"spike"`
	ErrorLogs              uint64          `json:"error_logs"`
	ErrorLogsPrevious      uint64          `json:"error_logs_previous"`
	ErrorLogsChange        string          `json:"error_logs_change"`
	Requests               uint64          `json:"requests"`
	FailedRequests         uint64          `json:"failed_requests"`
	ErrorRate              float64         `json:"error_rate"`
	RequestsPrevious       uint64          `json:"requests_previous"`
	FailedRequestsPrevious uint64          `json:"failed_requests_previous"`
	ErrorRatePrevious      float64         `json:"error_rate_previous"`
	BySeverity             []SeverityCount `json:"by_severity"`
	TopTemplates           []TemplateCount `json:"top_templates"`
}

// SeverityCount is the log count of one severity.
type SeverityCount struct {
	Severity string `json:"severity"`
	Count    uint64 `json:"count"`
	Previous uint64 `json:"previous"`
	Change   string `json:"change"`
}

// TemplateCount is one error template's occurrences.
type TemplateCount struct {
	Template        string    `json:"template"`
	Severity        string    `json:"severity"`
	Count           uint64    `json:"count"`
	Previous        uint64    `json:"previous"`
	Change          string    `json:"change"`
	New             bool      `json:"new"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	ExampleTraceIDs []string  `json:"example_trace_ids"`
}

const templateCountsSQL = `SELECT s.service_name AS service_name, s.severity_text AS severity_text, s.cur AS cur, s.prev AS prev,
       s.first_seen AS first_seen, s.last_seen AS last_seen, s.traces AS traces,
       t.template AS template, t.template_first_seen AS template_first_seen
FROM (
    SELECT service_name, severity_text, ifNull(nullIf(a.canonical_hash, 0), st.template_hash) AS template_hash,
           sumIf(occurrences, minute >= toStartOfMinute({start:DateTime64(9)})) AS cur,
           sumIf(occurrences, minute < toStartOfMinute({start:DateTime64(9)})) AS prev,
           minIf(first_seen, minute >= toStartOfMinute({start:DateTime64(9)})) AS first_seen,
           max(last_seen) AS last_seen,
           groupUniqArrayMergeIf(5)(example_trace_ids, minute >= toStartOfMinute({start:DateTime64(9)})) AS traces
    FROM log_template_stats AS st
    LEFT JOIN log_template_canonical AS a ON a.template_hash = st.template_hash
    WHERE minute >= toStartOfMinute({prev_start:DateTime64(9)}) AND minute < {end:DateTime64(9)}
      AND ({service:String} = '' OR service_name = {service:String})
    GROUP BY service_name, severity_text, template_hash
    HAVING cur > 0
    ORDER BY cur DESC, template_hash
    LIMIT {top:UInt32} BY service_name
) AS s
LEFT JOIN (
    SELECT template_hash, any(template) AS template, min(first_seen) AS template_first_seen
    FROM log_templates GROUP BY template_hash
) AS t USING (template_hash)`

// rawTemplateCountsSQL groups the raw logs by a coarse template when the
// vector pipeline has not counted them (it embeds ERROR and above only).
const rawTemplateCountsSQL = `SELECT ServiceName AS service_name, SeverityText AS severity_text,
       countIf(Timestamp >= {start:DateTime64(9)}) AS cur, countIf(Timestamp < {start:DateTime64(9)}) AS prev,
       minIf(Timestamp, Timestamp >= {start:DateTime64(9)}) AS first_seen, max(Timestamp) AS last_seen,
       groupUniqArrayIf(5)(TraceId, Timestamp >= {start:DateTime64(9)} AND TraceId != '') AS traces,
       tpl AS template, min(Timestamp) AS template_first_seen
FROM otel_logs
WHERE Timestamp >= {prev_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
  AND ({service:String} = '' OR ServiceName = {service:String})
  AND (SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL'))
GROUP BY service_name, severity_text, replaceRegexpAll(left(Body, 300), '[0-9a-fA-F]{8,}|[0-9]+', '<*>') AS tpl
HAVING cur > 0
ORDER BY cur DESC, tpl
LIMIT {top:UInt32} BY service_name`

type templateRow struct {
	Service           string    `ch:"service_name"`
	Severity          string    `ch:"severity_text"`
	Cur               uint64    `ch:"cur"`
	Prev              uint64    `ch:"prev"`
	FirstSeen         time.Time `ch:"first_seen"`
	LastSeen          time.Time `ch:"last_seen"`
	Traces            []string  `ch:"traces"`
	Template          string    `ch:"template"`
	TemplateFirstSeen time.Time `ch:"template_first_seen"`
}

func (s *Server) errorSummary(ctx context.Context, _ *sdk.CallToolRequest, in ErrorSummaryInput) (*sdk.CallToolResult, ErrorSummaryOutput, error) {
	var out ErrorSummaryOutput
	w, err := parseWindow(in.Window, in.End, time.Hour, 7*24*time.Hour, s.now())
	if err != nil {
		return nil, out, err
	}
	prev := w.previous()
	out.Window, out.Previous = w.out(), prev.out()
	top := clampInt(in.Top, 5, 1, 20)
	p := params{}.time("start", w.Start).time("end", w.End).time("prev_start", prev.Start).str("service", in.Service).int("top", top)

	services := map[string]*ServiceErrors{}
	get := func(name string) *ServiceErrors {
		if services[name] == nil {
			services[name] = &ServiceErrors{Service: name, BySeverity: []SeverityCount{}, TopTemplates: []TemplateCount{}}
		}
		return services[name]
	}
	var sev []struct {
		Service  string `ch:"ServiceName"`
		Severity string `ch:"severity"`
		Cur      uint64 `ch:"cur"`
		Prev     uint64 `ch:"prev"`
		Errors   uint64 `ch:"err_cur"`
		ErrPrev  uint64 `ch:"err_prev"`
	}
	if err := s.db.selectInto(ctx, &sev, `SELECT ServiceName, if(SeverityText = '', 'UNSET', SeverityText) AS severity,
		countIf(Timestamp >= {start:DateTime64(9)}) AS cur, countIf(Timestamp < {start:DateTime64(9)}) AS prev,
		countIf(Timestamp >= {start:DateTime64(9)} AND (SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL'))) AS err_cur,
		countIf(Timestamp < {start:DateTime64(9)} AND (SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL'))) AS err_prev
		FROM otel_logs
		WHERE Timestamp >= {prev_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
		  AND ({service:String} = '' OR ServiceName = {service:String})
		GROUP BY ServiceName, severity ORDER BY ServiceName, severity LIMIT 2000`, p); err != nil {
		return nil, out, err
	}
	for _, r := range sev {
		se := get(r.Service)
		se.BySeverity = append(se.BySeverity, SeverityCount{Severity: r.Severity, Count: r.Cur, Previous: r.Prev, Change: changeText(r.Prev, r.Cur)})
		se.ErrorLogs += r.Errors
		se.ErrorLogsPrevious += r.ErrPrev
	}
	var req []struct {
		Service string `ch:"ServiceName"`
		Cur     uint64 `ch:"cur"`
		CurErr  uint64 `ch:"cur_err"`
		Prev    uint64 `ch:"prev"`
		PrevErr uint64 `ch:"prev_err"`
	}
	if err := s.db.selectInto(ctx, &req, `SELECT ServiceName,
		countIf(Timestamp >= {start:DateTime64(9)}) AS cur,
		countIf(Timestamp >= {start:DateTime64(9)} AND StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS cur_err,
		countIf(Timestamp < {start:DateTime64(9)}) AS prev,
		countIf(Timestamp < {start:DateTime64(9)} AND StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS prev_err
		FROM otel_traces
		WHERE Timestamp >= {prev_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
		  AND SpanKind IN ('Server', 'SPAN_KIND_SERVER', 'Consumer', 'SPAN_KIND_CONSUMER')
		  AND ({service:String} = '' OR ServiceName = {service:String})
		GROUP BY ServiceName ORDER BY ServiceName LIMIT 1000`, p); err != nil {
		return nil, out, err
	}
	for _, r := range req {
		se := get(r.Service)
		se.Requests, se.FailedRequests, se.RequestsPrevious, se.FailedRequestsPrevious = r.Cur, r.CurErr, r.Prev, r.PrevErr
		se.ErrorRate = ratio(r.CurErr, r.Cur)
		se.ErrorRatePrevious = ratio(r.PrevErr, r.Prev)
	}
	var tpls []templateRow
	if err := s.db.selectInto(ctx, &tpls, templateCountsSQL, p); err != nil {
		return nil, out, err
	}
	if len(tpls) == 0 {
		if err := s.db.selectInto(ctx, &tpls, rawTemplateCountsSQL, p); err != nil {
			return nil, out, err
		}
	}
	for _, t := range tpls {
		se := get(t.Service)
		se.TopTemplates = append(se.TopTemplates, TemplateCount{
			Template: truncate(t.Template, 500), Severity: t.Severity, Count: t.Cur, Previous: t.Prev,
			Change: changeText(t.Prev, t.Cur), New: t.Prev == 0 && !t.TemplateFirstSeen.Before(prev.Start),
			FirstSeen: t.FirstSeen.UTC(), LastSeen: t.LastSeen.UTC(), ExampleTraceIDs: sortedCopy(t.Traces),
		})
	}
	for _, se := range services {
		se.ErrorLogsChange = changeText(se.ErrorLogsPrevious, se.ErrorLogs)
		var reasons []string
		if isSpike(se.ErrorLogsPrevious, se.ErrorLogs) {
			reasons = append(reasons, fmt.Sprintf("error logs %d → %d (%s)", se.ErrorLogsPrevious, se.ErrorLogs, se.ErrorLogsChange))
		}
		if isSpike(se.FailedRequestsPrevious, se.FailedRequests) {
			reasons = append(reasons, fmt.Sprintf("failed requests %d → %d (error rate %.1f%% → %.1f%%)",
				se.FailedRequestsPrevious, se.FailedRequests, 100*se.ErrorRatePrevious, 100*se.ErrorRate))
		}
		for _, t := range se.TopTemplates {
			if t.New && t.Count >= 10 {
				reasons = append(reasons, fmt.Sprintf("new error ×%d: %q", t.Count, truncate(t.Template, 120)))
				break
			}
		}
		if len(reasons) > 0 {
			se.Spike = true
			out.Spikes = append(out.Spikes, se.Service+": "+strings.Join(reasons, "; "))
		}
		out.Services = append(out.Services, *se)
	}
	slices.SortFunc(out.Services, func(a, b ServiceErrors) int {
		return cmp.Or(cmp.Compare(b.ErrorLogs+b.FailedRequests, a.ErrorLogs+a.FailedRequests), strings.Compare(a.Service, b.Service))
	})
	slices.Sort(out.Spikes)
	out.Services = orEmpty(out.Services)
	out.Spikes = orEmpty(out.Spikes)
	if len(out.Services) == 0 {
		out.Notice = "no logs or requests in this window" + ifThen(in.Service != "", " for service "+in.Service) + ": widen the window, or check the service name with run_select_query (SELECT DISTINCT ServiceName FROM otel_logs)"
	} else if len(out.Spikes) > 0 {
		out.Notice = "spikes found: call analyze_root_cause with the spiking service and this window"
	}
	return nil, out, nil
}

func isSpike(prev, cur uint64) bool { return cur >= 10 && cur >= 2*max(prev, 1) }

func ratio(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return round3(float64(a) / float64(b))
}

func changeText(prev, cur uint64) string {
	switch {
	case prev == cur:
		return "unchanged"
	case prev == 0:
		return "new"
	}
	return fmt.Sprintf("×%.2f", float64(cur)/float64(prev))
}
