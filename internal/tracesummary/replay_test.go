package tracesummary

// An offline replay of a kept `make eval` run through the anomaly model, so
// the model can be tuned in seconds instead of 15-minute eval runs. Skipped
// unless TRACESUMMARY_REPLAY names a directory holding
//
//	spans.tsv   the run's spans, from the collector's ClickHouse:
//	            SELECT TraceId, SpanId, ParentSpanId, ServiceName, SpanName, SpanKind,
//	              StatusCode, toUnixTimestamp64Nano(Timestamp), Duration,
//	              SpanAttributes['http.response.status_code'],
//	              arrayStringConcat(arrayMap(a -> a['exception.type'], Events.Attributes), '|'),
//	              SpanAttributes['session.id']
//	            FROM otel_traces ORDER BY Timestamp FORMAT TabSeparated
//	            (the last column is optional: data from before sessions)
//	truth.jsonl loadgen's ground truth (`agentic-eval --data-dir DIR` keeps it
//	            as DIR/truth.jsonl)
//
// (Start build/otelcol-agentic with OTELCOL_AGENTIC_DATA=DIR and other ports
// to query a kept run; one process per data path.) Spans are grouped as
// groupbytrace releases them (each service's exporter flushes every 500 ms;
// a trace is released TRACESUMMARY_REPLAY_WAIT, default 2s as in the eval,
// after its first span arrived; later spans form a new part), and the parts
// go through Recent, Summarize, the hash embedder and Model.Observe in
// release order, as in the processor. The score is demo/eval.go's
// scoreAnomalies: traces whose entry service is frontend, positive = a trace
// of an anomalous journey or a failed trace of a fault window. The ground
// truth is read only to score, never by the model.
//
// Two scores are logged: the verdicts as each trace was judged when it came
// ("judged online"), and with the verdicts the model raised later
// (Score.Revised: the session turned out abnormal), which the processor
// stores as revised rows and the eval reads.
//
// TRACESUMMARY_REPLAY_VERBOSE=1 adds flag rates per journey pattern and per
// anomaly type; TRACESUMMARY_REPLAY_DUMP=group/pattern[:flagged|missed]
// prints such traces with their scores; TRACESUMMARY_REPLAY_SESSIONS (same
// form) prints sessions holding such traces request by request;
// TRACESUMMARY_REPLAY_CONFIG takes a ModelConfig as JSON.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
)

type replaySpan struct {
	traceID string
	span    Span
	arrive  time.Time
}

func readReplaySpans(t *testing.T, path string) map[string][]replaySpan {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]replaySpan{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) < 9 {
			continue
		}
		startNs, _ := strconv.ParseInt(c[7], 10, 64)
		durNs, _ := strconv.ParseInt(c[8], 10, 64)
		start := time.Unix(0, startNs).UTC()
		s := Span{SpanID: c[1], ParentID: c[2], Service: c[3], Name: c[4], Kind: spanKindOf(c[5]),
			Start: start, End: start.Add(time.Duration(durNs)), Error: c[6] == "Error"}
		if s.Error {
			// As the processor does: the exception type, else the status code.
			if len(c) > 10 && c[10] != "" {
				types := strings.Split(c[10], "|")
				s.ErrorType = types[len(types)-1]
			} else if c[9] != "" {
				s.ErrorType = "status " + c[9]
			}
		}
		if len(c) > 11 {
			s.Session = c[11]
		}
		s.Status, _ = strconv.Atoi(c[9])
		out[c[0]] = append(out[c[0]], replaySpan{traceID: c[0], span: s, arrive: arrival(s)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func spanKindOf(s string) SpanKind {
	switch s {
	case "Server":
		return KindServer
	case "Client":
		return KindClient
	case "Producer":
		return KindProducer
	case "Consumer":
		return KindConsumer
	case "Internal":
		return KindInternal
	}
	return KindUnspecified
}

// arrival: each service's batch exporter flushes every 500 ms at its own
// phase.
func arrival(s Span) time.Time {
	h := fnv.New32a()
	h.Write([]byte(s.Service))
	const tick = 500 * time.Millisecond
	phase := time.Duration(h.Sum32()%500) * time.Millisecond
	end := s.End.Add(-phase)
	return end.Truncate(tick).Add(tick + phase)
}

type replayGroup struct {
	traceID string
	release time.Time
	spans   []Span
}

func groupByTrace(traces map[string][]replaySpan, wait time.Duration) []replayGroup {
	var groups []replayGroup
	for id, spans := range traces {
		sort.Slice(spans, func(i, j int) bool { return spans[i].arrive.Before(spans[j].arrive) })
		var g *replayGroup
		for _, s := range spans {
			if g != nil && !s.arrive.After(g.release) {
				g.spans = append(g.spans, s.span)
				continue
			}
			if g != nil {
				groups = append(groups, *g)
			}
			g = &replayGroup{traceID: id, release: s.arrive.Add(wait), spans: []Span{s.span}}
		}
		if g != nil {
			groups = append(groups, *g)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if !groups[i].release.Equal(groups[j].release) {
			return groups[i].release.Before(groups[j].release)
		}
		return groups[i].traceID < groups[j].traceID
	})
	return groups
}

type replayTruth struct {
	start, end time.Time
	group      map[string]string // trace id -> ground-truth group
	pattern    map[string]string // trace id -> journey pattern / scenario (diagnostics)
	positive   map[string]bool
	windows    [][2]time.Time      // fault windows (diagnostics: the ceiling)
	journeys   map[string][]string // recorded journey -> its trace ids, as demo/eval.go scores journeys
}

func (tr replayTruth) inFault(at time.Time) bool {
	for _, w := range tr.windows {
		if !at.Before(w[0]) && !at.After(w[1].Add(5*time.Second)) {
			return true
		}
	}
	return false
}

func readReplayTruth(t *testing.T, path string) replayTruth {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type rec struct {
		Kind          string    `json:"kind"`
		JourneyID     string    `json:"journey_id"`
		Pattern       string    `json:"pattern"`
		Scenario      string    `json:"scenario"`
		Start         time.Time `json:"start"`
		End           time.Time `json:"end"`
		TraceIDs      []string  `json:"trace_ids"`
		ErrorTraceIDs []string  `json:"error_trace_ids"`
	}
	var recs []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 16<<20), 16<<20)
	for sc.Scan() {
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	tr := replayTruth{group: map[string]string{}, pattern: map[string]string{}, positive: map[string]bool{}, journeys: map[string][]string{}}
	for _, r := range recs {
		switch r.Kind {
		case "run_start":
			tr.start = r.Start
		case "run_end":
			tr.end = r.End
		case "error_journey", "anomalous_journey", "edge_case_journey":
			tr.journeys[r.JourneyID] = r.TraceIDs
			for _, id := range r.TraceIDs {
				tr.group[id], tr.pattern[id] = r.Kind, r.Pattern
				if r.Kind == "anomalous_journey" {
					tr.positive[id] = true
				}
			}
		}
	}
	for _, r := range recs {
		if r.Kind != "fault_window" {
			continue
		}
		tr.windows = append(tr.windows, [2]time.Time{r.Start, r.End})
		for _, id := range r.TraceIDs {
			if _, ok := tr.group[id]; !ok {
				tr.group[id], tr.pattern[id] = "fault_touched_ok", r.Scenario
			}
		}
		for _, id := range r.ErrorTraceIDs {
			tr.positive[id] = true
			if tr.group[id] != "anomalous_journey" {
				tr.group[id], tr.pattern[id] = "fault_error", r.Scenario
			}
		}
	}
	return tr
}

func TestReplayEval(t *testing.T) {
	dir := os.Getenv("TRACESUMMARY_REPLAY")
	if dir == "" {
		t.Skip("TRACESUMMARY_REPLAY not set: no kept eval data to replay")
	}
	wait := 2 * time.Second
	if w := os.Getenv("TRACESUMMARY_REPLAY_WAIT"); w != "" {
		var err error
		if wait, err = time.ParseDuration(w); err != nil {
			t.Fatal(err)
		}
	}
	truth := readReplayTruth(t, filepath.Join(dir, "truth.jsonl"))
	groups := groupByTrace(readReplaySpans(t, filepath.Join(dir, "spans.tsv")), wait)
	emb := embed.NewCached(embed.NewHash(384), 20000)
	// TRACESUMMARY_REPLAY_CONFIG: a ModelConfig as JSON (durations in ns).
	var cfg ModelConfig
	if c := os.Getenv("TRACESUMMARY_REPLAY_CONFIG"); c != "" {
		if err := json.Unmarshal([]byte(c), &cfg); err != nil {
			t.Fatal(err)
		}
	}
	m := NewModel(cfg)
	lo, hi := truth.start.Add(-time.Second), truth.end.Add(30*time.Second)

	type verdict struct {
		flagged bool
		types   map[string]bool
		keys    []string // op, path and error signature of its groups
		fault   bool     // started while a fault window was open
	}
	pred := map[string]*verdict{}
	revised := map[string]bool{} // earlier traces of sessions found abnormal later
	// TRACESUMMARY_REPLAY_DUMP=group/pattern[:flagged|missed] prints the
	// groups of those traces with their scores.
	dumpWant, dumpFlag, _ := strings.Cut(os.Getenv("TRACESUMMARY_REPLAY_DUMP"), ":")
	dumped := map[string]int{}
	t0 := time.Now()
	recent := NewRecent(time.Minute, 100000)
	if os.Getenv("TRACESUMMARY_REPLAY_NO_MERGE") != "" {
		recent = nil
	}
	merged := 0
	type sessionStep struct {
		id      string
		s       Summary
		sc      Score
		release time.Time
	}
	sessions := map[string][]sessionStep{}
	for _, g := range groups {
		all, prev, _ := recent.Add(g.traceID, g.spans, g.release)
		if prev > 0 {
			merged++
		}
		s := Summarize(g.traceID, all)
		vecs, err := emb.Embed(t.Context(), []string{s.EmbedText})
		if err != nil {
			t.Fatal(err)
		}
		sc := m.Observe(s, vecs[0])
		if s.Session != "" {
			sessions[s.Session] = append(sessions[s.Session], sessionStep{id: g.traceID, s: s, sc: sc, release: g.release})
		}
		root := all[s.RootIndex]
		if root.Service != "frontend" || root.Start.Before(lo) || root.Start.After(hi) {
			continue
		}
		if dumpWant != "" && strings.HasPrefix(truth.group[g.traceID]+"/"+truth.pattern[g.traceID], dumpWant) &&
			(dumpFlag == "" || (dumpFlag == "flagged") == sc.IsAnomaly) {
			key := fmt.Sprintf("%s %v %s", s.RootOperation, sc.IsAnomaly, sc.Type)
			if dumped[key] < 8 {
				dumped[key]++
				t.Logf("%s %s %s @%s dur=%s errs=%d retry=%d/%d flagged=%v %s score=%.2f pathShare=%.4f errShare=%.4f latZ=%.1f\n    %.300s",
					truth.group[g.traceID], truth.pattern[g.traceID], g.traceID[:8], root.Start.Sub(truth.start).Round(time.Second), s.Duration.Round(time.Millisecond),
					s.ErrorCount, s.RetryRun, s.MaxRepeat, sc.IsAnomaly, sc.Type, sc.Value, sc.PathShare, sc.ErrorShare, sc.LatencyZ, s.EmbedText)
			}
		}
		v := pred[g.traceID]
		if v == nil {
			v = &verdict{types: map[string]bool{}}
			pred[g.traceID] = v
		}
		if sc.IsAnomaly {
			v.flagged = true
			v.types[sc.Type] = true
		}
		v.fault = v.fault || truth.inFault(root.Start)
		for _, r := range sc.Revised {
			revised[r.TraceID] = true
		}
		v.keys = append(v.keys, fmt.Sprintf("%s|%x|%x|%v", s.RootOperation, s.Shape, s.ErrorSignature, s.RetryRun >= 3))
	}
	elapsed := time.Since(t0)
	// TRACESUMMARY_REPLAY_SESSIONS=group/pattern[:flagged|missed] prints
	// sessions of those traces (a trace of the kind asked for in them)
	// request by request, with the gaps between requests.
	if want := os.Getenv("TRACESUMMARY_REPLAY_SESSIONS"); want != "" {
		want, flag, _ := strings.Cut(want, ":")
		n := 0
		ids := make([]string, 0, len(sessions))
		for id := range sessions {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			steps := sessions[id]
			match := false
			for _, st := range steps {
				key := truth.group[st.id] + "/" + truth.pattern[st.id]
				if truth.group[st.id] == "" {
					key = "normal/"
				}
				match = match || (strings.HasPrefix(key, want) && (flag == "" || (flag == "flagged") == (st.sc.IsAnomaly || revised[st.id])))
			}
			if !match || n >= 12 {
				continue
			}
			n++
			sort.Slice(steps, func(i, j int) bool { return steps[i].s.Start.Before(steps[j].s.Start) })
			var b strings.Builder
			var prevEnd time.Time
			for _, st := range steps {
				gap := time.Duration(0)
				if !prevEnd.IsZero() {
					gap = st.s.Start.Sub(prevEnd)
				}
				prevEnd = st.s.Start.Add(st.s.Duration)
				fmt.Fprintf(&b, "\n    +%-8s %-28s dur=%-7s errs=%d flagged=%-5v %-16s session=%-16s revised=%v release=+%s",
					gap.Round(time.Millisecond), st.s.RootOperation, st.s.Duration.Round(time.Millisecond), st.s.ErrorCount,
					st.sc.IsAnomaly, st.sc.Type, st.sc.Session, revised[st.id], st.release.Sub(st.s.Start).Round(time.Millisecond))
			}
			st := steps[0]
			t.Logf("session %s %s/%s @%s:%s", id[:8], truth.group[st.id], truth.pattern[st.id], st.s.Start.Sub(truth.start).Round(time.Second), b.String())
		}
	}

	// Online: each trace's verdict when it was judged. Revised: with the
	// verdicts raised later, when its session was found abnormal.
	var otp, ofp, ofn int
	for id, v := range pred {
		switch pos := truth.positive[id]; {
		case v.flagged && pos:
			otp++
		case v.flagged:
			ofp++
		case pos:
			ofn++
		}
		if revised[id] && !v.flagged {
			v.flagged = true
			v.types["(revised)"] = true
		}
	}
	op, or := float64(otp)/float64(max(otp+ofp, 1)), float64(otp)/float64(max(otp+ofn, 1))
	t.Logf("judged online: TP %d FP %d FN %d precision %.3f recall %.3f F1 %.3f", otp, ofp, ofn, op, or, 2*op*or/math.Max(op+or, 1e-9))
	var tp, fp, fn, tn int
	type cnt struct{ flagged, all int }
	byGroup, byPattern, byType := map[string]*cnt{}, map[string]*cnt{}, map[string]int{}
	inc := func(mp map[string]*cnt, k string, f bool) {
		c := mp[k]
		if c == nil {
			c = &cnt{}
			mp[k] = c
		}
		c.all++
		if f {
			c.flagged++
		}
	}
	for id, v := range pred {
		pos := truth.positive[id]
		switch {
		case v.flagged && pos:
			tp++
		case v.flagged:
			fp++
		case pos:
			fn++
		default:
			tn++
		}
		g := truth.group[id]
		if g == "" {
			g = "normal (no record)"
		}
		inc(byGroup, g, v.flagged)
		inc(byPattern, g+"/"+truth.pattern[id], v.flagged)
		var ts []string
		for k := range v.types {
			ts = append(ts, k)
		}
		sort.Strings(ts)
		byType[g+" "+strings.Join(ts, ",")]++
	}
	p, r := float64(tp)/float64(max(tp+fp, 1)), float64(tp)/float64(max(tp+fn, 1))
	f1 := 0.0
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	t.Logf("%d groups (%d merged with an earlier part) replayed in %s; traces %d positives %d TP %d FP %d FN %d precision %.3f recall %.3f F1 %.3f",
		len(groups), merged, elapsed.Round(time.Millisecond), len(pred), tp+fn, tp, fp, fn, p, r, f1)
	// Per journey, as demo/eval.go: a recorded journey is positive when any
	// of its traces is, and flagged when any of its traces is.
	var jtp, jfp, jfn int
	jfpPattern := map[string]int{}
	for _, ids := range truth.journeys {
		seen, flagged, pos := false, false, false
		pattern := ""
		for _, id := range ids {
			if v, ok := pred[id]; ok {
				seen = true
				flagged = flagged || v.flagged
			}
			pos = pos || truth.positive[id]
			pattern = truth.group[id] + "/" + truth.pattern[id]
		}
		switch {
		case !seen:
		case flagged && pos:
			jtp++
		case flagged:
			jfp++
			jfpPattern[pattern]++
		case pos:
			jfn++
		}
	}
	jp, jr := float64(jtp)/float64(max(jtp+jfp, 1)), float64(jtp)/float64(max(jtp+jfn, 1))
	t.Logf("journeys: TP %d FP %d FN %d precision %.3f recall %.3f F1 %.3f; false positives by pattern %v", jtp, jfp, jfn, jp, jr, 2*jp*jr/math.Max(jp+jr, 1e-9), jfpPattern)
	dump := func(title string, mp map[string]*cnt) {
		var ks []string
		for k := range mp {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var b strings.Builder
		for _, k := range ks {
			fmt.Fprintf(&b, "\n  %-50s %5d/%-5d (%.0f%%)", k, mp[k].flagged, mp[k].all, 100*float64(mp[k].flagged)/float64(mp[k].all))
		}
		t.Logf("%s:%s", title, b.String())
	}
	dump("flag rate per ground-truth group", byGroup)
	t.Logf("ceiling: best F1 of any detector that judges a trace only by its entry operation, path shape, error signature and retry flag: %.3f", shapeCeiling(func(yield func([]string, bool) bool) {
		for id, v := range pred {
			sort.Strings(v.keys)
			if !yield(v.keys, truth.positive[id]) {
				return
			}
		}
	}))
	t.Logf("ceiling: the same, also told whether a fault window was open: %.3f", shapeCeiling(func(yield func([]string, bool) bool) {
		for id, v := range pred {
			if !yield(append(v.keys, fmt.Sprint(v.fault)), truth.positive[id]) {
				return
			}
		}
	}))
	if os.Getenv("TRACESUMMARY_REPLAY_VERBOSE") != "" {
		dump("flag rate per pattern", byPattern)
		var ks []string
		for k := range byType {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var b strings.Builder
		for _, k := range ks {
			fmt.Fprintf(&b, "\n  %-60s %5d", k, byType[k])
		}
		t.Logf("traces by group and anomaly types:%s", b.String())
	}
}

// shapeCeiling is the best F1 over all ways of flagging traces by their key
// (the best set of keys to flag: sorted by their share of positives).
func shapeCeiling(traces func(yield func([]string, bool) bool)) float64 {
	type pn struct{ p, n int }
	byKey := map[string]*pn{}
	total := 0
	for keys, pos := range traces {
		k := strings.Join(keys, ";")
		c := byKey[k]
		if c == nil {
			c = &pn{}
			byKey[k] = c
		}
		if pos {
			c.p++
			total++
		} else {
			c.n++
		}
	}
	var cs []*pn
	for _, c := range byKey {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].p*(cs[j].p+cs[j].n) > cs[j].p*(cs[i].p+cs[i].n) })
	best, tp, fp := 0.0, 0, 0
	for _, c := range cs {
		tp, fp = tp+c.p, fp+c.n
		if f := 2 * float64(tp) / float64(2*tp+fp+(total-tp)); f > best {
			best = f
		}
	}
	return best
}
