package mcp

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/search"
)

// find_similar_errors ranks templates as schema/queries/similar_error_search.sql
// and similar_error_templates.sql describe, but in small statements with the
// fusion in Go: ClickHouse plans those two statements (CTEs, window
// functions, the alias view joined and probed) in ~40 ms of CPU on a small
// machine, more than it takes to run them; each statement below plans and
// runs in a few. TestSearchPiecesMatchTheNamedQueries holds both to the same
// answers.
const (
	// The nearest vectors, unfiltered (the vector index answers the
	// ORDER BY … LIMIT); each is read as the template it belongs to now.
	nearestSQL = `SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
FROM log_templates ORDER BY distance ASC LIMIT {n:UInt32}`
	// The templates holding a probe term (the text index finds them), with
	// the query's terms they hold, where: all the lexical ranking reads.
	lexicalSQL = `SELECT template_hash, arrayIntersect(search_terms, {terms:Array(String)}) AS terms,
       arrayIntersect(search_template_terms, {terms:Array(String)}) AS template_terms,
       arrayIntersect(search_type_terms, {terms:Array(String)}) AS type_terms,
       length(search_template_terms) AS template_len
FROM log_templates WHERE hasAny(search_terms, {probe:Array(String)})`
	// Which of the hashes generalised into another template, and which
	// older hashes generalised into them.
	aliasSQL = `SELECT template_hash, canonical_hash FROM log_template_canonical
WHERE template_hash IN {hashes:Array(UInt64)} OR canonical_hash IN {hashes:Array(UInt64)}`
	// Which older hashes generalised into the hashes.
	olderSQL = `SELECT template_hash, canonical_hash FROM log_template_canonical WHERE canonical_hash IN {hashes:Array(UInt64)}`
	// The chosen templates' text.
	textSQL = `SELECT template_hash, any(template) AS template, any(service_name) AS service_name, any(example_body) AS example_body
FROM log_templates WHERE template_hash IN {hashes:Array(UInt64)} GROUP BY template_hash`
	// Their occurrences in the window (and their older hashes').
	statsSQL = `SELECT template_hash, sum(occurrences) AS occurrences, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
       groupUniqArrayMerge(5)(example_trace_ids) AS example_trace_ids
FROM log_template_stats
WHERE template_hash IN {hashes:Array(UInt64)} AND minute >= toStartOfMinute({since:DateTime64(9)})
  AND ({service:String} = '' OR service_name = {service:String})
GROUP BY template_hash`
)

// rrfK is reciprocal rank fusion's constant: a ranking contributes
// weight / (rrfK + rank).
const rrfK = 60

func hashList(hs []uint64) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = uitoa(h)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// both runs two independent reads at once (the engine has a core for each).
func both(f, g func() error) error {
	var wg sync.WaitGroup
	var errG error
	wg.Go(func() { errG = g() })
	errF := f()
	wg.Wait()
	if errF != nil {
		return errF
	}
	return errG
}

type rankedTemplate struct {
	Hash uint64
	hybridRow
}

// rankTemplates is similar_error_search: the vector and lexical rankings
// (searchCandidates each) fused by reciprocal rank, best k first.
//
// It also returns the older hashes that generalised into each candidate
// (a neighbour's canonical template that was no candidate is not listed).
func (s *Server) rankTemplates(ctx context.Context, a analysed, vec []float32, vw, lw, maxDist float64, k int) ([]rankedTemplate, map[uint64][]uint64, error) {
	var near []struct {
		Hash     uint64  `ch:"template_hash"`
		Distance float32 `ch:"distance"`
	}
	var docs []struct {
		Hash     uint64   `ch:"template_hash"`
		Terms    []string `ch:"terms"`
		Template []string `ch:"template_terms"`
		Type     []string `ch:"type_terms"`
		Len      uint64   `ch:"template_len"`
	}
	probe := a.q.Probe(a.vocab)
	scorer := a.q.Scorer(a.idf, a.vocab.AvgTerms())
	err := both(func() error {
		if vw <= 0 {
			return nil
		}
		return s.db.selectInto(ctx, &near, nearestSQL, params{}.vector("embedding", vec).int("n", 2*searchCandidates))
	}, func() error {
		if lw <= 0 || len(probe) == 0 {
			return nil
		}
		return s.db.selectInto(ctx, &docs, lexicalSQL, params{}.strings("probe", probe).strings("terms", scorer.QueryTerms()))
	})
	if err != nil {
		return nil, nil, err
	}
	// Every candidate scored; only the best few need their aliases read
	// (a superseded template is left out of the ranking), the more only
	// while superseded ones leave the ranking short.
	var keys []uint64
	var sdocs []search.Doc
	dup := map[uint64]bool{}
	for _, d := range docs {
		if !dup[d.Hash] {
			dup[d.Hash] = true
			keys = append(keys, d.Hash)
			sdocs = append(sdocs, search.Doc{Terms: d.Terms, TemplateTerms: d.Template, TypeTerms: d.Type, TemplateLen: int(d.Len)})
		}
	}
	scored := scorer.Rank(keys, sdocs, len(sdocs))
	var cands []uint64
	for _, n := range near {
		cands = append(cands, n.Hash)
	}
	window := min(len(scored), 2*searchCandidates)
	for _, l := range scored[:window] {
		cands = append(cands, l.Key)
	}
	if len(cands) == 0 {
		return nil, nil, nil
	}
	canonical, older, err := s.aliases(ctx, cands)
	if err != nil {
		return nil, nil, err
	}
	var lr []search.Scored
	for {
		lr = lr[:0]
		for _, l := range scored[:window] {
			if _, superseded := canonical[l.Key]; !superseded && len(lr) < searchCandidates {
				lr = append(lr, l)
			}
		}
		if len(lr) == searchCandidates || window == len(scored) {
			break
		}
		next := min(len(scored), 2*window)
		more := make([]uint64, 0, next-window)
		for _, l := range scored[window:next] {
			more = append(more, l.Key)
		}
		c, o, err := s.aliases(ctx, more)
		if err != nil {
			return nil, nil, err
		}
		maps.Copy(canonical, c)
		maps.Copy(older, o)
		window = next
	}

	// The vector ranking: each neighbour as its canonical template, at its
	// nearest version's distance.
	type near1 struct {
		hash uint64
		dist float32
	}
	nearest := map[uint64]float32{}
	for _, n := range near {
		h := n.Hash
		if c, ok := canonical[h]; ok {
			h = c
		}
		if d, ok := nearest[h]; !ok || n.Distance < d {
			nearest[h] = n.Distance
		}
	}
	var vr []near1
	for h, d := range nearest {
		vr = append(vr, near1{h, d})
	}
	slices.SortFunc(vr, func(x, y near1) int {
		if x.dist != y.dist {
			if x.dist < y.dist {
				return -1
			}
			return 1
		}
		return cmpUint(x.hash, y.hash)
	})
	vr = vr[:min(len(vr), searchCandidates)]

	// Fusion.
	rows := map[uint64]*rankedTemplate{}
	row := func(h uint64) *rankedTemplate {
		if r, ok := rows[h]; ok {
			return r
		}
		r := &rankedTemplate{Hash: h}
		rows[h] = r
		return r
	}
	vw32, lw32 := float64(float32(vw)), float64(float32(lw))
	bound := float32(2)
	for i, n := range vr {
		r := row(n.hash)
		r.VectorRank, r.Distance = uint64(i+1), n.dist
		if i == len(vr)-1 {
			bound = n.dist
		}
	}
	for i, l := range lr {
		r := row(l.Key)
		r.LexicalRank, r.LexicalScore = uint64(i+1), l.Score
		r.Matched = make([]uint32, len(l.Matched))
		for j, m := range l.Matched {
			r.Matched[j] = uint32(m + 1) // as arrayEnumerate counts
		}
	}
	out := make([]rankedTemplate, 0, len(rows))
	for _, r := range rows {
		if r.VectorRank > 0 {
			if float64(r.Distance) <= float64(float32(maxDist)) {
				r.FusedScore += vw32 / float64(rrfK+r.VectorRank)
			}
		} else {
			r.Distance, r.Bound = bound, true
		}
		if r.LexicalRank > 0 {
			r.FusedScore += lw32 / float64(rrfK+r.LexicalRank)
		}
		if r.VectorRank > 0 {
			r.FusedScore += vw32 * 1e-6 / float64(r.VectorRank)
		}
		out = append(out, *r)
	}
	slices.SortFunc(out, func(x, y rankedTemplate) int {
		switch {
		case x.FusedScore != y.FusedScore:
			return cmpDesc(x.FusedScore, y.FusedScore)
		case x.LexicalScore != y.LexicalScore:
			return cmpDesc(x.LexicalScore, y.LexicalScore)
		case x.Distance != y.Distance:
			return -cmpDesc(float64(x.Distance), float64(y.Distance))
		}
		return cmpUint(x.Hash, y.Hash)
	})
	return out[:min(len(out), k)], older, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// aliases maps every hash among hs that generalised into another template
// to the template it belongs to now (canonical), and every hash among hs
// to the older hashes that generalised into it (older; a hash without
// any has an empty entry).
func (s *Server) aliases(ctx context.Context, hs []uint64) (canonical map[uint64]uint64, older map[uint64][]uint64, err error) {
	var rows []struct {
		Hash      uint64 `ch:"template_hash"`
		Canonical uint64 `ch:"canonical_hash"`
	}
	if err := s.db.selectInto(ctx, &rows, aliasSQL, params{"hashes": hashList(hs)}); err != nil {
		return nil, nil, fmt.Errorf("read template aliases: %w", err)
	}
	canonical, older = map[uint64]uint64{}, make(map[uint64][]uint64, len(hs))
	for _, h := range hs {
		older[h] = nil
	}
	for _, r := range rows {
		canonical[r.Hash] = r.Canonical
		if _, ok := older[r.Canonical]; ok {
			older[r.Canonical] = append(older[r.Canonical], r.Hash)
		}
	}
	return canonical, older, nil
}

// templateDetails is similar_error_templates: the ranked templates' text
// and occurrences in the window, those of their older hashes counted as
// theirs. Templates without occurrences there are left out; the rest keep
// the ranking's order.
// older gives each ranked template's older hashes; a template it does
// not list is looked up.
func (s *Server) templateDetails(ctx context.Context, ranked []rankedTemplate, older map[uint64][]uint64, since time.Time, service string) ([]templateHit, error) {
	hashes := make([]uint64, len(ranked))
	var unknown []uint64
	for i, r := range ranked {
		hashes[i] = r.Hash
		if _, ok := older[r.Hash]; !ok {
			unknown = append(unknown, r.Hash)
		}
	}
	if len(unknown) > 0 {
		var rows []struct {
			Hash      uint64 `ch:"template_hash"`
			Canonical uint64 `ch:"canonical_hash"`
		}
		if err := s.db.selectInto(ctx, &rows, olderSQL, params{"hashes": hashList(unknown)}); err != nil {
			return nil, fmt.Errorf("read template aliases: %w", err)
		}
		older = maps.Clone(older)
		if older == nil {
			older = map[uint64][]uint64{}
		}
		for _, r := range rows {
			older[r.Canonical] = append(older[r.Canonical], r.Hash)
		}
	}
	var members []uint64
	owner := map[uint64]uint64{}
	for _, h := range hashes {
		owner[h] = h
		members = append(members, h)
	}
	for _, h := range hashes {
		for _, o := range older[h] {
			if _, ok := owner[o]; !ok {
				owner[o] = h
				members = append(members, o)
			}
		}
	}
	var texts []struct {
		Hash     uint64 `ch:"template_hash"`
		Template string `ch:"template"`
		Service  string `ch:"service_name"`
		Example  string `ch:"example_body"`
	}
	var stats []struct {
		Hash        uint64    `ch:"template_hash"`
		Occurrences uint64    `ch:"occurrences"`
		FirstSeen   time.Time `ch:"first_seen"`
		LastSeen    time.Time `ch:"last_seen"`
		Traces      []string  `ch:"example_trace_ids"`
	}
	err := both(func() error {
		return s.db.selectInto(ctx, &texts, textSQL, params{"hashes": hashList(hashes)})
	}, func() error {
		return s.db.selectInto(ctx, &stats, statsSQL, params{"hashes": hashList(members)}.time("since", since).str("service", service))
	})
	if err != nil {
		return nil, err
	}
	type agg struct {
		n           uint64
		first, last time.Time
		traces      []string
	}
	byHash := map[uint64]*agg{}
	for _, st := range stats {
		h := owner[st.Hash]
		a := byHash[h]
		if a == nil {
			a = &agg{first: st.FirstSeen, last: st.LastSeen}
			byHash[h] = a
		}
		a.n += st.Occurrences
		if st.FirstSeen.Before(a.first) {
			a.first = st.FirstSeen
		}
		if st.LastSeen.After(a.last) {
			a.last = st.LastSeen
		}
		for _, t := range st.Traces {
			if len(a.traces) < 5 && !slices.Contains(a.traces, t) {
				a.traces = append(a.traces, t)
			}
		}
	}
	text := map[uint64]int{}
	for i, t := range texts {
		text[t.Hash] = i
	}
	var out []templateHit
	for _, r := range ranked {
		a, ok := byHash[r.Hash]
		i, hasText := text[r.Hash]
		if !ok || !hasText {
			continue
		}
		t := texts[i]
		out = append(out, templateHit{Hash: r.Hash, Template: t.Template, Service: t.Service, Example: t.Example,
			Occurrences: a.n, FirstSeen: a.first, LastSeen: a.last, Traces: a.traces, hybridRow: r.hybridRow})
	}
	return out, nil
}
