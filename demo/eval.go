package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/demo/searcheval"
	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
	"github.com/otelcol-agentic/otelcol-agentic/loadgen/run"
	"github.com/otelcol-agentic/otelcol-agentic/sampleapp/faults"
)

// EvalOptions configure an evaluation run.
type EvalOptions struct {
	DataDir string
	Rate    float64
	Seed    uint64
	Warmup  time.Duration // traffic before the first window
	Window  time.Duration // length of each fault window (the memory leak gets 1.5×)
	Gap     time.Duration // quiet time between windows
	Step    time.Duration // RCA is asked every Step within a window
	Report  string        // path prefix of the report (.json and .md); empty = none
	// Search scores error search on the public query set first (about a
	// minute, on an engine of its own); SearchOnly stops after it.
	Search     bool
	SearchOnly bool
}

// DefaultEvalOptions keep a full eval within ~15 minutes on 2 cores.
func DefaultEvalOptions() EvalOptions {
	return EvalOptions{Rate: 8, Seed: 42, Warmup: 60 * time.Second, Window: 60 * time.Second, Gap: 45 * time.Second, Step: 15 * time.Second, Report: "build/eval", Search: true}
}

// EvalCase is a scenario of the evaluation and what a correct answer names.
type EvalCase struct {
	Scenario run.Scenario
	Composed bool
	Expect   Expectation
}

func composedCases() []EvalCase {
	return []EvalCase{
		{Composed: true, Scenario: run.Scenario{
			Name: "slow_payment_gateway", Description: "latency on payment's calls to the external gateway",
			RootCause: "payment_gateway_latency", RootCauseService: "payment", RootCauseKind: "dependency_timeout",
			Inject: []faults.Spec{{Type: faults.Latency, Service: "payment", Dependency: "payment-gateway", Latency: faults.Duration(2500 * time.Millisecond), Jitter: faults.Duration(500 * time.Millisecond), Probability: 1}},
		}, Expect: Expectation{Services: []string{"payment", "payment-gateway"}, Kinds: []string{"dependency_timeout", "latency"}}},
		{Composed: true, Scenario: run.Scenario{
			Name: "cart_db_lock", Description: "cart's DB connections held in open transactions",
			RootCause: "cart_service_db_pool_exhaustion", RootCauseService: "cart", RootCauseKind: "db_pool_exhaustion",
			Inject: []faults.Spec{{Type: faults.PoolSqueeze, Service: "cart", HoldConns: 8, Probability: 0.5, HoldFor: faults.Duration(10 * time.Second)}},
		}, Expect: Expectation{Services: []string{"cart"}, Kinds: []string{"db_pool_exhaustion"}}},
		{Composed: true, Scenario: run.Scenario{
			Name: "inventory_unavailable", Description: "inventory's listener closed",
			RootCause: "inventory_service_unavailable", RootCauseService: "inventory", RootCauseKind: "dependency_unavailable",
			Inject: []faults.Spec{{Type: faults.ListenerDown, Service: "inventory"}},
		}, Expect: Expectation{Services: []string{"inventory"}, Kinds: []string{"dependency_unavailable"}}},
	}
}

// RCAPoint is analyze_root_cause asked at one offset into a window.
type RCAPoint struct {
	Offset  string   `json:"offset"`
	Window  string   `json:"window"`
	Answers []Answer `json:"answers"`
	Top1    bool     `json:"top1"`
	Top3    bool     `json:"top3"`
	Error   string   `json:"error,omitempty"`
}

// RCAResult is one scenario's root-cause scores.
type RCAResult struct {
	Scenario     string      `json:"scenario"`
	Composed     bool        `json:"composed"`
	Expect       Expectation `json:"expect"`
	Start        time.Time   `json:"start"`
	End          time.Time   `json:"end"`
	Points       []RCAPoint  `json:"points"`
	Top1         float64     `json:"top1_accuracy"`
	Top3         float64     `json:"top3_accuracy"`
	FirstCorrect string      `json:"time_to_first_correct"` // "" = never
}

// AnomalyResult scores is_anomaly against the ground truth.
type AnomalyResult struct {
	Traces    int               `json:"traces"`
	Positives int               `json:"positives"`
	TP        int               `json:"tp"`
	FP        int               `json:"fp"`
	FN        int               `json:"fn"`
	TN        int               `json:"tn"`
	Precision float64           `json:"precision"`
	Recall    float64           `json:"recall"`
	F1        float64           `json:"f1"`
	FlagRate  map[string]string `json:"flag_rate_by_group"`
	// ByJourney scores journeys, as the issue words the goal: a journey is
	// positive when anomalous by design or when one of its requests failed
	// in a fault window, and flagged when any of its traces is.
	ByJourney JourneyScore `json:"by_journey"`
}

// JourneyScore is anomaly detection scored per journey.
type JourneyScore struct {
	Journeys  int     `json:"journeys"`
	Positives int     `json:"positives"`
	TP        int     `json:"tp"`
	FP        int     `json:"fp"`
	FN        int     `json:"fn"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
}

// SimilarQuery is one find_similar_errors query and its score.
type SimilarQuery struct {
	Type      string   `json:"type"`
	Text      string   `json:"text"`
	HitTypes  []string `json:"hit_types"`
	Precision float64  `json:"precision_at_10"`
	// Available is how many stored templates share the type; Capped is
	// precision over the first min(10, Available) hits.
	Available int     `json:"templates_of_type"`
	Capped    float64 `json:"precision_at_10_capped"`
}

// EvalReport is the whole evaluation.
type EvalReport struct {
	Started    time.Time      `json:"started"`
	Options    EvalOptions    `json:"options"`
	Journeys   int            `json:"journeys"`
	RCA        []RCAResult    `json:"rca"`
	Anomaly    AnomalyResult  `json:"anomaly"`
	Similar    []SimilarQuery `json:"similar"`
	SimilarP10 float64        `json:"similar_precision_at_10"`
	SimilarCap float64        `json:"similar_precision_at_10_capped"`
	// Search is error search scored on the public query set.
	Search *searcheval.Report `json:"search,omitempty"`
}

// RunEval runs seeded traffic with every scenario at fixed windows, then
// scores the MCP tools' answers against loadgen's ground truth.
func RunEval(ctx context.Context, o EvalOptions, out io.Writer) (*EvalReport, error) {
	rep := &EvalReport{Started: time.Now().UTC(), Options: o}
	if o.Search || o.SearchOnly {
		search, err := runSearchEval(ctx, out)
		if err != nil {
			return nil, err
		}
		rep.Search = search
		if o.SearchOnly {
			return rep, writeReport(rep, o, out)
		}
	}
	st, err := StartStack(ctx, o.DataDir, out)
	if err != nil {
		return nil, err
	}
	defer st.Close()

	var cases []EvalCase
	for _, name := range []string{"payment_timeout", "cascade_failure", "intermittent_error"} {
		sc, err := st.SeedScenario(name)
		if err != nil {
			return nil, err
		}
		cases = append(cases, EvalCase{Scenario: sc, Expect: Expectation{Services: []string{sc.RootCauseService}, Kinds: []string{sc.RootCauseKind}}})
	}
	if cases[0].Scenario.RootCauseService == "" { // derived from root_cause by loadgen
		cases[0].Expect = Expectation{Services: []string{"inventory"}, Kinds: []string{"db_pool_exhaustion"}}
		cases[1].Expect = Expectation{Services: []string{"inventory"}, Kinds: []string{"memory_leak"}}
	}
	comp := composedCases()
	// Interleave seed and composed scenarios; the listener going down last.
	cases = []EvalCase{cases[0], comp[0], cases[1], comp[1], cases[2], comp[2]}
	at := o.Warmup
	var scenarios []run.Scenario
	expect := map[string]EvalCase{}
	for _, c := range cases {
		d := o.Window
		if c.Scenario.Name == "cascade_failure" {
			d = o.Window * 3 / 2
		}
		c.Scenario.TriggerRate = 0
		c.Scenario.Window = run.Duration(d)
		c.Scenario.Windows = []run.FixedWindow{{Start: run.Duration(at), Duration: run.Duration(d)}}
		scenarios = append(scenarios, c.Scenario)
		expect[c.Scenario.Name] = c
		at += d + o.Gap
	}
	total := at
	truthPath := filepath.Join(os.TempDir(), fmt.Sprintf("agentic-eval-truth-%d.jsonl", os.Getpid()))
	if o.DataDir != "" {
		// Kept beside the data so a run can be replayed offline.
		truthPath = filepath.Join(o.DataDir, "truth.jsonl")
	} else {
		defer os.Remove(truthPath)
	}
	lcfg, err := st.LoadgenConfig(o.Rate, total, o.Seed, truthPath, scenarios)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "▶ traffic: %.0f journeys/s for %s, %d fault windows:\n", o.Rate, total, len(scenarios))
	for _, s := range scenarios {
		kind := "seed"
		if expect[s.Name].Composed {
			kind = "composed"
		}
		fmt.Fprintf(out, "    %-22s %-8s at +%s for %s\n", s.Name, kind, s.Windows[0].Start.D(), s.Windows[0].Duration.D())
	}
	sum, err := run.Run(ctx, lcfg, &prefixWriter{w: out, prefix: "  [loadgen] "})
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	rep.Journeys = sum.Journeys
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	fmt.Fprintln(out, "▶ traffic done; waiting for the pipeline to drain…")
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	_ = st.Shop.Flush(fctx)
	cancel()
	time.Sleep(5 * time.Second)
	st.WaitIngested(ctx, 60*time.Second)
	truth, err := ReadTruth(truthPath)
	if err != nil {
		return nil, err
	}
	if err := st.StartAgent(ctx); err != nil {
		return nil, err
	}

	// Root-cause analysis.
	fmt.Fprintln(out, "▶ scoring analyze_root_cause…")
	for _, w := range truth.Windows {
		c := expect[w.Scenario]
		r := RCAResult{Scenario: w.Scenario, Composed: c.Composed, Expect: c.Expect, Start: w.Start, End: w.End}
		length := w.End.Sub(w.Start)
		var top1, top3 []bool
		for off := o.Step; off <= length+o.Step/2; off += o.Step {
			if off > length {
				off = length
			}
			win := off
			if win < time.Minute {
				win = time.Minute
			}
			p := RCAPoint{Offset: off.Round(time.Second).String(), Window: fmt.Sprintf("%ds", int(math.Ceil(win.Seconds())))}
			var ans RCAAnswer
			err := st.Agent.Call(ctx, "analyze_root_cause", map[string]any{
				"window": p.Window, "end": w.Start.Add(off).UTC().Format(time.RFC3339Nano), "k": 5,
			}, &ans)
			if err != nil {
				p.Error = err.Error()
			}
			for _, cand := range ans.Candidates {
				p.Answers = append(p.Answers, Answer{Service: cand.Service, Kind: cand.Kind})
			}
			p.Top1, p.Top3 = TopK(p.Answers, 1, c.Expect), TopK(p.Answers, 3, c.Expect)
			if p.Top1 && r.FirstCorrect == "" {
				r.FirstCorrect = p.Offset
			}
			// Accuracy is taken at 30 s, 60 s and the window's end.
			if off == 30*time.Second || off == 60*time.Second || off == length {
				top1 = append(top1, p.Top1)
				top3 = append(top3, p.Top3)
			}
			r.Points = append(r.Points, p)
			top := "-"
			if len(p.Answers) > 0 {
				top = p.Answers[0].Service + "/" + p.Answers[0].Kind
			}
			fmt.Fprintf(out, "    %-22s +%-5s top1=%-5v top3=%-5v answer=%s %s\n", w.Scenario, p.Offset, p.Top1, p.Top3, top, p.Error)
			if off == length {
				break
			}
		}
		r.Top1, r.Top3 = Accuracy(top1), Accuracy(top3)
		rep.RCA = append(rep.RCA, r)
	}

	// Anomalous traces.
	fmt.Fprintln(out, "▶ scoring is_anomaly…")
	if rep.Anomaly, err = scoreAnomalies(ctx, st.Col, truth); err != nil {
		fmt.Fprintf(out, "  anomaly scoring failed: %v\n", err)
	}

	// Similar-error search.
	fmt.Fprintln(out, "▶ scoring find_similar_errors…")
	if rep.Similar, err = scoreSimilar(ctx, st, 20); err != nil {
		fmt.Fprintf(out, "  similar-error scoring failed: %v\n", err)
	}
	var ps, pc []float64
	for _, q := range rep.Similar {
		ps, pc = append(ps, q.Precision), append(pc, q.Capped)
	}
	rep.SimilarP10, rep.SimilarCap = mean(ps), mean(pc)

	return rep, writeReport(rep, o, out)
}

// writeReport prints the report and writes it to o.Report (.md, .json).
func writeReport(rep *EvalReport, o EvalOptions, out io.Writer) error {
	md := rep.Markdown()
	fmt.Fprintln(out)
	fmt.Fprint(out, md)
	if o.Report != "" {
		_ = os.MkdirAll(filepath.Dir(o.Report), 0o755)
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.Report+".json", b, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(o.Report+".md", []byte(md), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(out, "\nreport written to %s.md and %s.json\n", o.Report, o.Report)
	}
	return nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// scoreAnomalies compares traces_with_embeddings.is_anomaly with the ground
// truth over the traces loadgen started (entry service frontend, in the run):
// positive = a journey anomalous by design, or a trace of a fault window whose
// request failed (error_trace_ids: touched traces that still succeeded look
// normal by construction, so counting them would measure nothing the
// detector could see).
func scoreAnomalies(ctx context.Context, col *Collector, t *Truth) (AnomalyResult, error) {
	var res AnomalyResult
	positive := map[string]bool{}
	group := map[string]string{}
	for _, j := range t.Journeys {
		for _, id := range j.TraceIDs {
			group[id] = j.Kind
			if j.Kind == run.KindAnomalous {
				positive[id] = true
			}
		}
	}
	for _, w := range t.Windows {
		for _, id := range w.TraceIDs {
			if _, ok := group[id]; !ok {
				group[id] = "fault_touched_ok"
			}
		}
		for _, id := range w.ErrorTraceIDs {
			positive[id] = true
			if group[id] != run.KindAnomalous {
				group[id] = "fault_error"
			}
		}
	}
	start, end := t.RunStart, t.RunEnd
	if start.IsZero() || end.IsZero() {
		return res, fmt.Errorf("ground truth lacks run_start/run_end")
	}
	// The fullest row of each trace (one whose spans arrived in parts may
	// also have a row of its first part; one whose session turned out
	// abnormal later also has a revised, flagged row), as the tools read it.
	sql := fmt.Sprintf(`SELECT TraceId, argMax(is_anomaly, (span_count, is_anomaly)) FROM traces_with_embeddings
		WHERE ServiceName = 'frontend' AND Timestamp BETWEEN toDateTime64('%s', 9) AND toDateTime64('%s', 9)
		GROUP BY TraceId FORMAT TabSeparated`,
		start.Add(-time.Second).UTC().Format("2006-01-02 15:04:05.000000"), end.Add(30*time.Second).UTC().Format("2006-01-02 15:04:05.000000"))
	out, err := col.Query(ctx, sql)
	if err != nil {
		return res, err
	}
	pred := map[string]bool{}
	flagged := map[string][2]int{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 2 {
			continue
		}
		pred[f[0]] = f[1] == "1"
		g := group[f[0]]
		if g == "" {
			g = "normal (no record)"
		}
		c := flagged[g]
		c[1]++
		if f[1] == "1" {
			c[0]++
		}
		flagged[g] = c
	}
	res.Traces = len(pred)
	for id := range positive {
		if _, ok := pred[id]; ok {
			res.Positives++
		}
	}
	res.TP, res.FP, res.FN, res.TN = Confusion(pred, positive)
	res.Precision, res.Recall, res.F1 = PRF(res.TP, res.FP, res.FN)
	res.FlagRate = map[string]string{}
	for g, c := range flagged {
		res.FlagRate[g] = fmt.Sprintf("%d/%d (%.0f%%)", c[0], c[1], 100*float64(c[0])/float64(c[1]))
	}
	journeys := map[string][]string{}
	jpositive := map[string]bool{}
	for _, j := range t.Journeys {
		journeys[j.JourneyID] = j.TraceIDs
		for _, id := range j.TraceIDs {
			if positive[id] {
				jpositive[j.JourneyID] = true
			}
		}
	}
	jpred := JourneyPredictions(journeys, pred)
	js := &res.ByJourney
	js.Journeys = len(jpred)
	for id := range jpositive {
		if _, ok := jpred[id]; ok {
			js.Positives++
		}
	}
	js.TP, js.FP, js.FN, _ = Confusion(jpred, jpositive)
	js.Precision, js.Recall, js.F1 = PRF(js.TP, js.FP, js.FN)
	return res, nil
}

// similarSampleSQL lists the error templates scoreSimilar samples from,
// with an occurrence's text each: the templates as they are now (one that
// generalised into another is left out; its occurrences are the other's).
const similarSampleSQL = `SELECT template, any(example_body) FROM log_templates FINAL
	WHERE template_hash NOT IN (SELECT template_hash FROM log_template_canonical)
	GROUP BY template ORDER BY cityHash64(template) FORMAT TabSeparated`

// scoreSimilar samples error templates (one per error type first, then
// more) and asks find_similar_errors with one occurrence's text.
func scoreSimilar(ctx context.Context, st *Stack, n int) ([]SimilarQuery, error) {
	out, err := st.Col.Query(ctx, similarSampleSQL)
	if err != nil {
		return nil, err
	}
	type tpl struct{ template, body, typ string }
	var all []tpl
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 2 {
			continue
		}
		body := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\\`, `\`).Replace(f[1])
		all = append(all, tpl{f[0], body, ErrorType(f[0])})
	}
	// Round-robin over error types so no single type dominates the sample.
	byType := map[string][]tpl{}
	var types []string
	for _, t := range all {
		if t.typ == "" {
			continue
		}
		if _, ok := byType[t.typ]; !ok {
			types = append(types, t.typ)
		}
		byType[t.typ] = append(byType[t.typ], t)
	}
	sort.Strings(types)
	var sample []tpl
	for round := 0; len(sample) < n; round++ {
		added := false
		for _, ty := range types {
			if round < len(byType[ty]) && len(sample) < n {
				sample = append(sample, byType[ty][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	var res []SimilarQuery
	for _, s := range sample {
		var ans SimilarErrors
		if err := st.Agent.Call(ctx, "find_similar_errors", map[string]any{"text": s.body, "k": 10}, &ans); err != nil {
			return res, err
		}
		q := SimilarQuery{Type: s.typ, Text: truncate(s.body, 160)}
		for _, h := range ans.Hits {
			q.HitTypes = append(q.HitTypes, ErrorType(h.Template))
		}
		q.Precision = PrecisionAtK(s.typ, q.HitTypes, 10)
		q.Available = len(byType[s.typ])
		q.Capped = PrecisionAtKCapped(s.typ, q.HitTypes, 10, q.Available)
		res = append(res, q)
	}
	return res, nil
}

// truncate puts s on one line and cuts it for the terminal and the report.
func truncate(s string, n int) string { return clip.Marked(strings.Join(strings.Fields(s), " "), n) }

// Markdown renders the report's tables.
func (r *EvalReport) Markdown() string {
	var b strings.Builder
	if r.Options.SearchOnly {
		b.WriteString("## otelcol-agentic eval: error search only\n\n")
		b.WriteString(r.Search.Markdown())
		return b.String()
	}
	fmt.Fprintf(&b, "## otelcol-agentic eval (%s, %d journeys at %.0f/s, seed %d, windows of %s)\n\n", r.Started.Format("2006-01-02 15:04 UTC"), r.Journeys, r.Options.Rate, r.Options.Seed, r.Options.Window)
	b.WriteString("### Root-cause analysis (analyze_root_cause, whole system, window = the fault window so far)\n\n")
	b.WriteString("| scenario | type | expected (service / kind) | top-1 | top-3 | first correct top-1 | answers (offset: top-1) |\n|---|---|---|---|---|---|---|\n")
	var seed1, seed3, comp1, comp3 []float64
	for _, x := range r.RCA {
		typ := "seed"
		if x.Composed {
			typ = "composed"
			comp1, comp3 = append(comp1, x.Top1), append(comp3, x.Top3)
		} else {
			seed1, seed3 = append(seed1, x.Top1), append(seed3, x.Top3)
		}
		first := x.FirstCorrect
		if first == "" {
			first = "never"
		} else {
			first = "+" + first
		}
		var ans []string
		for _, p := range x.Points {
			a := "—"
			if len(p.Answers) > 0 {
				a = p.Answers[0].Service + "/" + p.Answers[0].Kind
			}
			ans = append(ans, fmt.Sprintf("%s: %s", p.Offset, a))
		}
		fmt.Fprintf(&b, "| %s | %s | %s / %s | %.2f | %.2f | %s | %s |\n", x.Scenario, typ, strings.Join(x.Expect.Services, "|"), strings.Join(x.Expect.Kinds, "|"), x.Top1, x.Top3, first, strings.Join(ans, "; "))
	}
	fmt.Fprintf(&b, "| **seed scenarios** | | | **%.2f** | **%.2f** | | |\n", mean(seed1), mean(seed3))
	fmt.Fprintf(&b, "| **composed scenarios** | | | **%.2f** | **%.2f** | | |\n\n", mean(comp1), mean(comp3))
	b.WriteString("Top-k accuracy is the share of the checkpoints +30s, +60s and the window's end where a correct (service AND kind) candidate is in the first k; first correct is on a 15 s grid.\n\n")
	a := r.Anomaly
	b.WriteString("### Anomalous-trace detection (traces_with_embeddings.is_anomaly)\n\n")
	b.WriteString("| traces | positives | TP | FP | FN | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n\n", a.Traces, a.Positives, a.TP, a.FP, a.FN, a.Precision, a.Recall, a.F1)
	b.WriteString("Positives: traces of journeys anomalous by design plus the failed traces (error_trace_ids) of fault windows. Flag rate per ground-truth group:\n\n| group | flagged |\n|---|---|\n")
	var groups []string
	for g := range a.FlagRate {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	for _, g := range groups {
		fmt.Fprintf(&b, "| %s | %s |\n", g, a.FlagRate[g])
	}
	j := a.ByJourney
	b.WriteString("\nPer journey (the issue's wording: journeys anomalous by design or with a request failed by a fault are positive; a journey is flagged when any of its traces is):\n\n")
	b.WriteString("| journeys | positives | TP | FP | FN | precision | recall | F1 |\n|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %.2f | %.2f | %.2f |\n", j.Journeys, j.Positives, j.TP, j.FP, j.FN, j.Precision, j.Recall, j.F1)
	b.WriteString("\n### Similar-error search (find_similar_errors, k=10)\n\n| query error type | templates of the type | precision@10 | capped | hits' types |\n|---|---|---|---|---|\n")
	for _, q := range r.Similar {
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %s |\n", q.Type, q.Available, q.Precision, q.Capped, strings.Join(q.HitTypes, ", "))
	}
	fmt.Fprintf(&b, "| **mean** | | **%.2f** | **%.2f** | |\n\n", r.SimilarP10, r.SimilarCap)
	b.WriteString("precision@10 = hits sharing the query's error type (leading exception token) / hits returned (at most 10, within the tool's default max_distance: 0.5 for a message that leads with its error type). " +
		"capped = the same over the first min(10, templates of that type in the store) hits, so a type with only 2 templates can still score 1.\n")
	if r.Search != nil {
		b.WriteString("\n")
		b.WriteString(r.Search.Markdown())
	}
	return b.String()
}
