package searcheval

// Scores of one ranking of one query. A hit is a stored template; it stands
// for the documents that were written as it (several when the template
// normaliser puts two documents in one template), and is relevant when one
// of them is.
type Scores struct {
	P1  float64 `json:"p_at_1"`
	P5  float64 `json:"p_at_5"`
	MRR float64 `json:"mrr"`
}

// Score computes P@1, P@5 and the reciprocal rank of the first relevant hit
// (0 when none of the hits is). relevantHits is how many stored templates
// hold a relevant document: P@5 is over min(5, relevantHits), so a query
// with two right answers can score 1.
func Score(hits []bool, relevantHits int) Scores {
	var s Scores
	if len(hits) > 0 && hits[0] {
		s.P1 = 1
	}
	found := 0
	for i, ok := range hits {
		if !ok {
			continue
		}
		if s.MRR == 0 {
			s.MRR = 1 / float64(i+1)
		}
		if i < 5 {
			found++
		}
	}
	if d := min(5, relevantHits); d > 0 {
		s.P5 = float64(found) / float64(d)
	}
	return s
}

// Mean averages scores.
func Mean(ss []Scores) Scores {
	var m Scores
	if len(ss) == 0 {
		return m
	}
	for _, s := range ss {
		m.P1 += s.P1
		m.P5 += s.P5
		m.MRR += s.MRR
	}
	n := float64(len(ss))
	return Scores{P1: m.P1 / n, P5: m.P5 / n, MRR: m.MRR / n}
}
