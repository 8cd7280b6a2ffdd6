package mcp

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// ListIncidentsInput selects the window whose flagged traces are grouped.
type ListIncidentsInput struct {
	Window  string `json:"window,omitempty" jsonschema:"how far back to look, e.g. 15m, 1h (default 1h, at most 24h)"`
	End     string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Service string `json:"service,omitempty" jsonschema:"only traces that pass through this service"`
	K       int    `json:"k,omitempty" jsonschema:"incidents to return, 1-20 (default 5)"`
}

// ListIncidentsOutput groups the window's flagged traces into incidents.
type ListIncidentsOutput struct {
	Window  Window `json:"window"`
	Traces  uint64 `json:"traces_in_window"`
	Flagged int    `json:"flagged_traces"`
	// Covered is the share of flagged traces in the incidents returned;
	// Isolated are flagged traces like no other (an incident needs two).
	Covered   float64    `json:"covered"`
	Isolated  int        `json:"isolated_traces"`
	Incidents []Incident `json:"incidents"`
	Notice    string     `json:"notice,omitempty"`
}

// Incident is one problem: flagged traces that deviate at the same place
// in the same way, close in time.
type Incident struct {
	ID string `json:"id"`
	// Culprit is where the traces deviate: the deepest failing span, or
	// the span that spent the most time itself in a slow trace.
	Culprit          string           `json:"culprit"`
	Kind             string           `json:"kind"`
	Traces           int              `json:"traces"`
	ErrorTraces      int              `json:"error_traces"`
	FirstSeen        time.Time        `json:"first_seen"`
	LastSeen         time.Time        `json:"last_seen"`
	EntryOperations  []OperationCount `json:"entry_operations"`
	Services         []string         `json:"services"`
	Sessions         int              `json:"sessions"`
	MedianDurationMs float64          `json:"median_duration_ms"`
	TypicalSequence  string           `json:"typical_sequence"`
	ExampleTraceIDs  []string         `json:"example_trace_ids"`
	members          []string
}

// OperationCount is an entry operation and how many of an incident's
// traces entered through it.
type OperationCount struct {
	Operation string `json:"operation"`
	Traces    int    `json:"traces"`
}

// Bounds of one answer: flagged traces read, traces read span by span
// (the rest take their entry operation's and anomaly type's culprit), and
// the quiet gap that splits one signature into two incidents.
const (
	incidentMaxFlagged = 20000
	incidentSpanSample = 2000
	incidentGap        = 10 * time.Minute
	minIncidentTraces  = 2
)

// anomalyRow is one row of the anomaly_detection query.
type anomalyRow struct {
	TraceID   string    `ch:"TraceId"`
	Timestamp time.Time `ch:"Timestamp"`
	Service   string    `ch:"ServiceName"`
	RootOp    string    `ch:"root_operation"`
	Sequence  string    `ch:"span_sequence"`
	Duration  int64     `ch:"total_duration"`
	Spans     uint32    `ch:"span_count"`
	Errors    uint32    `ch:"error_count"`
	Score     float32   `ch:"anomaly_score"`
	IsAnomaly uint8     `ch:"is_anomaly"`
	Type      string    `ch:"anomaly_type"`
	Centroid  float64   `ch:"centroid_distance"`
}

func (s *Server) listIncidents(ctx context.Context, _ *sdk.CallToolRequest, in ListIncidentsInput) (*sdk.CallToolResult, ListIncidentsOutput, error) {
	w, err := parseWindow(in.Window, in.End, time.Hour, 24*time.Hour, s.now())
	if err != nil {
		return nil, ListIncidentsOutput{}, err
	}
	out, _, err := s.incidents(ctx, w, in.Service, clampInt(in.K, 5, 1, 20))
	return nil, out, err
}

// incidents groups the window's flagged traces; it also returns the
// incident of each flagged trace in the k incidents returned.
func (s *Server) incidents(ctx context.Context, w timeWindow, service string, k int) (ListIncidentsOutput, map[string]string, error) {
	out := ListIncidentsOutput{Window: w.out()}
	anomalySQL, err := schema.Query("anomaly_detection")
	if err != nil {
		return out, nil, err
	}
	p := params{}.time("since", w.Start).time("until", w.End).time("baseline_since", w.Start.Add(-max(w.End.Sub(w.Start)*4, time.Hour))).
		str("service", service).int("only_anomalous", 1).int("k", incidentMaxFlagged).
		time("from", w.Start.Add(-10*time.Minute)).time("to", w.End.Add(10*time.Minute)).int("sample", incidentSpanSample)
	var flagged []anomalyRow
	if err := s.db.selectInto(ctx, &flagged, anomalySQL, p); err != nil {
		return out, nil, err
	}
	var total []struct {
		N uint64 `ch:"n"`
	}
	all := params{}
	for k, v := range p {
		all[k] = v
	}
	all["k"], all["only_anomalous"] = allRows, "0"
	if err := s.db.selectInto(ctx, &total, `SELECT count() AS n FROM (`+anomalySQL+`)`, all); err != nil {
		return out, nil, err
	}
	if len(total) == 1 {
		out.Traces = total[0].N
	}
	out.Flagged = len(flagged)

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
		Peer     string    `ch:"peer"`
		Session  string    `ch:"session"`
	}
	if len(flagged) > 0 {
		if err := s.db.selectInto(ctx, &spans, `SELECT TraceId, SpanId, ParentSpanId, ServiceName, SpanName, SpanKind, Timestamp, Duration, StatusCode,
			coalesce(nullIf(SpanAttributes['peer.service'], ''), nullIf(SpanAttributes['server.address'], ''), SpanAttributes['net.peer.name']) AS peer,
			ResourceAttributes['rum.sessionId'] AS session
			FROM otel_traces
			WHERE Timestamp >= {from:DateTime64(9)} AND Timestamp < {to:DateTime64(9)}
			  AND TraceId IN (SELECT TraceId FROM (`+anomalySQL+`) ORDER BY cityHash64(TraceId), TraceId LIMIT {sample:UInt32})
			LIMIT 200000`, p); err != nil {
			return out, nil, err
		}
	}
	byTrace := map[string][]rca.Span{}
	sessions := map[string]string{}
	for _, r := range spans {
		byTrace[r.TraceID] = append(byTrace[r.TraceID], rca.Span{TraceID: r.TraceID, SpanID: r.SpanID, ParentID: r.ParentID,
			Service: r.Service, Name: r.Name, Kind: r.Kind, Start: r.Start, Duration: time.Duration(r.Duration),
			Error: isErrorStatus(r.Status), Peer: r.Peer})
		if r.Session != "" {
			sessions[r.TraceID] = r.Session
		}
	}
	culprits := map[string]string{}
	for id, ss := range byTrace {
		culprits[id] = rca.Culprit(ss)
	}
	out.Incidents = groupIncidents(flagged, culprits, sessions)
	for len(out.Incidents) > 0 && out.Incidents[len(out.Incidents)-1].Traces < minIncidentTraces {
		out.Isolated += out.Incidents[len(out.Incidents)-1].Traces
		out.Incidents = out.Incidents[:len(out.Incidents)-1]
	}
	covered := 0
	for _, inc := range out.Incidents[:min(k, len(out.Incidents))] {
		covered += inc.Traces
	}
	if out.Flagged > 0 {
		out.Covered = round(float64(covered)/float64(out.Flagged), 3)
	}
	out.Incidents = orEmpty(out.Incidents[:min(k, len(out.Incidents))])
	of := map[string]string{}
	for _, inc := range out.Incidents {
		for _, id := range inc.members {
			of[id] = inc.ID
		}
	}
	switch {
	case out.Traces == 0:
		out.Notice = "no traces in the window: the traces/vector pipeline may not have run, or widen the window"
	case out.Flagged == 0:
		out.Notice = "no trace in the window was flagged anomalous"
	case out.Flagged >= incidentMaxFlagged:
		out.Notice = fmt.Sprintf("the %d highest-scoring flagged traces were grouped; narrow the window to group them all", incidentMaxFlagged)
	}
	return out, of, nil
}

// groupIncidents groups flagged traces by where and how they deviate: the
// culprit span and the anomaly type. A trace read without its spans takes
// the commonest culprit of the traces of its entry operation and anomaly
// type. A signature quiet for incidentGap starts a new incident.
func groupIncidents(flagged []anomalyRow, culprits, sessions map[string]string) []Incident {
	type opType struct{ op, typ string }
	votes := map[opType]map[string]int{}
	for _, f := range flagged {
		if c, ok := culprits[f.TraceID]; ok && c != "" {
			k := opType{f.RootOp, f.Type}
			if votes[k] == nil {
				votes[k] = map[string]int{}
			}
			votes[k][c]++
		}
	}
	culpritOf := func(f anomalyRow) string {
		if c := culprits[f.TraceID]; c != "" {
			return c
		}
		best, n := "", 0
		for c, v := range votes[opType{f.RootOp, f.Type}] {
			if v > n || v == n && c < best {
				best, n = c, v
			}
		}
		if best == "" {
			return f.RootOp
		}
		return best
	}
	type sig struct{ culprit, family string }
	groups := map[sig][]anomalyRow{}
	for _, f := range flagged {
		fam := "latency"
		if f.Errors > 0 {
			fam = "error"
		} else if f.Type != "" && f.Type != "latency" {
			fam = f.Type
		}
		k := sig{culpritOf(f), fam}
		groups[k] = append(groups[k], f)
	}
	var out []Incident
	for k, fs := range groups {
		slices.SortFunc(fs, func(a, b anomalyRow) int {
			return cmp.Or(a.Timestamp.Compare(b.Timestamp), strings.Compare(a.TraceID, b.TraceID))
		})
		start := 0
		for i := 1; i <= len(fs); i++ {
			if i < len(fs) && fs[i].Timestamp.Sub(fs[i-1].Timestamp) < incidentGap {
				continue
			}
			out = append(out, incidentOf(k.culprit, k.family, fs[start:i], sessions))
			start = i
		}
	}
	slices.SortFunc(out, func(a, b Incident) int {
		return cmp.Or(cmp.Compare(b.Traces, a.Traces), a.FirstSeen.Compare(b.FirstSeen), strings.Compare(a.Culprit, b.Culprit))
	})
	for i := range out {
		out[i].ID = fmt.Sprintf("incident-%d", i+1)
	}
	return out
}

func incidentOf(culprit, family string, fs []anomalyRow, sessions map[string]string) Incident {
	inc := Incident{Culprit: culprit, Kind: family, Traces: len(fs), FirstSeen: fs[0].Timestamp.UTC(), LastSeen: fs[len(fs)-1].Timestamp.UTC()}
	ops, seqs := map[string]int{}, map[string]int{}
	svcs, sess := map[string]bool{}, map[string]bool{}
	durs := make([]int64, 0, len(fs))
	for _, f := range fs {
		inc.members = append(inc.members, f.TraceID)
		if f.Errors > 0 {
			inc.ErrorTraces++
		}
		ops[f.RootOp]++
		seqs[f.Sequence]++
		for _, hop := range strings.Split(f.Sequence, " -> ") {
			if svc, _, ok := strings.Cut(hop, " "); ok {
				svcs[svc] = true
			}
		}
		if s := sessions[f.TraceID]; s != "" {
			sess[s] = true
		}
		durs = append(durs, f.Duration)
	}
	for op, n := range ops {
		inc.EntryOperations = append(inc.EntryOperations, OperationCount{Operation: op, Traces: n})
	}
	slices.SortFunc(inc.EntryOperations, func(a, b OperationCount) int {
		return cmp.Or(cmp.Compare(b.Traces, a.Traces), strings.Compare(a.Operation, b.Operation))
	})
	for svc := range svcs {
		inc.Services = append(inc.Services, svc)
	}
	slices.Sort(inc.Services)
	inc.Sessions = len(sess)
	slices.Sort(durs)
	inc.MedianDurationMs = round(float64(durs[len(durs)/2])/1e6, 2)
	best := 0
	for seq, n := range seqs {
		if n > best || n == best && seq < inc.TypicalSequence {
			inc.TypicalSequence, best = seq, n
		}
	}
	inc.TypicalSequence = truncate(inc.TypicalSequence, 600)
	// The highest-scoring traces are the examples.
	ex := slices.Clone(fs)
	slices.SortFunc(ex, func(a, b anomalyRow) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.TraceID, b.TraceID))
	})
	for _, f := range ex[:min(3, len(ex))] {
		inc.ExampleTraceIDs = append(inc.ExampleTraceIDs, f.TraceID)
	}
	return inc
}
