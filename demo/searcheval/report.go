package searcheval

import (
	"fmt"
	"strings"
)

// Markdown renders the report: the rankings side by side, then per kind of
// query.
func (r *Report) Markdown() string {
	var b strings.Builder
	corpus := "the sample shop's error templates"
	if r.Loghub {
		corpus += " and the Loghub 2k samples' events"
	}
	fmt.Fprintf(&b, "### Error search (find_similar_errors), %d queries over %d templates (%s; %s)\n\n", r.Queries, r.Templates, corpus, r.Model)
	b.WriteString("| ranking | P@1 | P@5 | MRR | p50 ms | p95 ms |\n|---|---|---|---|---|---|\n")
	for _, x := range r.Rankings {
		fmt.Fprintf(&b, "| %s | %.2f | %.2f | %.2f | %.1f | %.1f |\n", x.Ranking, x.Mean.P1, x.Mean.P5, x.Mean.MRR, x.Latency["p50"], x.Latency["p95"])
	}
	b.WriteString("\nP@1 / P@5 / MRR by kind of query:\n\n| kind |")
	for _, x := range r.Rankings {
		b.WriteString(" " + x.Ranking + " |")
	}
	b.WriteString("\n|---|")
	for range r.Rankings {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, k := range Kinds {
		n := 0
		if len(r.Rankings) > 0 {
			for _, q := range r.Rankings[0].Queries {
				if q.Kind == k {
					n++
				}
			}
		}
		fmt.Fprintf(&b, "| %s (%d) |", k, n)
		for _, x := range r.Rankings {
			s := x.ByKind[k]
			fmt.Fprintf(&b, " %.2f / %.2f / %.2f |", s.P1, s.P5, s.MRR)
		}
		b.WriteString("\n")
	}
	if len(r.Pasted) > 0 {
		b.WriteString("\nPasted messages (each of the shop's error messages as the query):\n\n| ranking | own template first | error-class precision@10 |\n|---|---|---|\n")
		for _, p := range r.Pasted {
			fmt.Fprintf(&b, "| %s | %.2f | %.2f |\n", p.Ranking, p.Self, p.TypePrecision)
		}
	}
	b.WriteString("\nP@1: the first hit is a right answer. P@5: right answers among the first five over min(5, right answers stored). " +
		"MRR: 1/rank of the first right answer within k = 10. " +
		"Every query is asked as an agent asks it (k = 10, the tool's default cut-off: confident hits, or the best five flagged low-confidence), so the scores are of the answers a user gets; " +
		"queries and labels: demo/searcheval/testdata/queries.yaml. Error-class precision@10: hits whose message leads with the pasted message's error class, as make eval's similar-error score counts.\n")
	return b.String()
}
