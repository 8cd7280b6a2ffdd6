package mcp

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/search"
)

// Rankings of find_similar_errors and match_error_patterns.
const (
	RankingHybrid  = "hybrid"  // words and vectors fused (the default)
	RankingVector  = "vector"  // the embedding alone
	RankingLexical = "lexical" // the words alone
)

// rankingWeights are the RRF weights of the vector and lexical rankings.
func rankingWeights(ranking string) (vector, lexical float64, err error) {
	switch ranking {
	case "", RankingHybrid:
		return 1, 1, nil
	case RankingVector:
		return 1, 0, nil
	case RankingLexical:
		return 0, 1, nil
	}
	return 0, 0, userErrorf("ranking %q is not one of hybrid, vector, lexical", truncate(ranking, 40))
}

// Hash-embedder vectors of free text are a hash of its words, which the
// lexical ranking already reads: in hybrid ranking they count a quarter, so
// that near-identical wording still breaks ties but does not outvote the
// words. A text that leads with its error class, and any other embedding
// model, counts whole. Chosen on the public query set and the shop's own
// messages pasted as queries (internal/searcheval): a quarter keeps the
// queries' P@1 at the lexical ranking's and the pasted messages' error-type
// precision at the vector ranking's.
const hashTextVectorWeight = 0.25

// hybridVectorWeight is the vector ranking's weight for a query template.
func (s *Server) hybridVectorWeight(template string, vw float64) float64 {
	if vw == 0 || !strings.HasPrefix(s.embed.Model(), "hash-") || embed.LeadingErrorType(template) != "" {
		return vw
	}
	return vw * hashTextVectorWeight
}

// searchCandidates is how many templates each ranking contributes before
// fusion.
const searchCandidates = 50

// minCoverage is the share of a query's words and concepts a template must
// hold to count as a confident lexical match.
const minCoverage = 0.5

// lowConfidenceHits is how many hits an answer without a confident one
// shows, and a free-text answer at least.
const lowConfidenceHits = 5

// HitMatch says why a template or pattern is in an answer.
type HitMatch struct {
	// Words are the query's words found in it ("conection→connection" for a
	// typo read as a stored word).
	Words []string `json:"words,omitempty"`
	// Concepts are failures (or domain terms) the query names that it names
	// too, with its spelling: connection_refused as "ECONNREFUSED".
	Concepts []string `json:"concepts,omitempty"`
	// Coverage is the share of the query's words and concepts it holds,
	// weighted by their rarity in the store (0 to 1).
	Coverage float64 `json:"coverage"`
	// VectorRank and LexicalRank are its places in the two rankings fused
	// (0: not among the first 50).
	VectorRank  int `json:"vector_rank,omitempty"`
	LexicalRank int `json:"lexical_rank,omitempty"`
	// DistanceIsBound: the template is not among the vector ranking's
	// candidates, and its distance is the farthest they reached, a lower
	// bound.
	DistanceIsBound bool `json:"distance_is_lower_bound,omitempty"`
	// Confident: within max_distance, or holding at least half of the query.
	Confident bool `json:"confident"`
}

// hybridRow is what both hybrid queries return beside their own columns.
type hybridRow struct {
	Distance     float32  `ch:"distance"`
	Bound        bool     `ch:"distance_is_bound"`
	VectorRank   uint64   `ch:"vector_rank"`
	LexicalRank  uint64   `ch:"lexical_rank"`
	LexicalScore float64  `ch:"lexical_score"`
	Matched      []uint32 `ch:"matched"`
	FusedScore   float64  `ch:"fused_score"`
}

// analysed is a query with its groups' rarity in the store.
type analysed struct {
	q     search.Query
	vocab *search.Vocabulary
	df    []uint64
	idf   []float64
}

func (r hybridRow) match(a analysed, maxDist float64) HitMatch {
	matched := make([]int, len(r.Matched))
	for i, m := range r.Matched {
		matched[i] = int(m) - 1 // arrayEnumerate counts from 1
	}
	m := a.q.Explain(matched, a.df, a.idf)
	return HitMatch{Words: m.Words, Concepts: m.Concepts, Coverage: m.Coverage,
		VectorRank: int(r.VectorRank), LexicalRank: int(r.LexicalRank), DistanceIsBound: r.Bound,
		Confident: (float64(r.Distance) <= maxDist && !r.Bound) || m.Coverage >= minCoverage}
}

// hybridParams binds a query's analysis and the ranking to the hybrid
// queries' parameters.
func hybridParams(a analysed, vec []float32, vw, lw float64) params {
	terms, groups, weights := a.q.Params()
	var b strings.Builder
	b.WriteByte('[')
	for i, ts := range terms {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, t := range ts {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteArrayString(t))
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
	p := params{}.vector("embedding", vec).float("vector_weight", vw).float("lexical_weight", lw).int("candidates", searchCandidates).
		float("avg_len", a.vocab.AvgTerms())
	p["terms"] = paramEscaper.Replace(b.String())
	p["groups"] = uintList(groups)
	p["weights"] = floatList(weights)
	idf := make([]float32, len(a.idf))
	for i, x := range a.idf {
		idf[i] = float32(x)
	}
	p["idf"] = floatList(idf)
	return p.strings("probe", a.q.Probe(a.vocab))
}

func uintList(xs []uint16) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(int(x))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func floatList(xs []float32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// queryInfo describes the analysed query in an answer.
func queryInfo(q search.Query) (concepts []string, corrections map[string]string) {
	concepts = q.Concepts()
	if len(q.Corrections) > 0 {
		corrections = q.Corrections
	}
	return concepts, corrections
}

// lowConfidenceNotice says why an answer has no confident hit.
func lowConfidenceNotice(what string, q search.Query, maxDist, nearest, coverage float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "low confidence: no %s is within max_distance %.2f (nearest %.2f) or holds half of the query's words and concepts (best %.0f%%)",
		what, maxDist, nearest, coverage*100)
	if len(q.Groups) == 0 {
		b.WriteString("; the query has no word the search can use")
	}
	b.WriteString(". These are the closest, weakly matched: check them against the error you have, or rephrase with the error's own words (an exception class, errno, status code).")
	return b.String()
}

// vocabularies keeps each searched table's vocabulary (its documents'
// terms and how many documents hold each), for reading a query's typos and
// word variants the way the store spells them. A vocabulary older than
// vocabTTL is rebuilt in the background while the old one still answers.
type vocabularies struct {
	db  *store
	ttl time.Duration
	wg  sync.WaitGroup

	mu      sync.Mutex
	entries map[string]*vocabEntry
	closed  bool
}

type vocabEntry struct {
	v       *search.Vocabulary
	built   time.Time
	loading bool
}

const (
	vocabTTL = 30 * time.Second
	// maxVocabTerms bounds a vocabulary's memory (about 100 bytes a term).
	maxVocabTerms = 500000
)

func newVocabularies(db *store) *vocabularies {
	return &vocabularies{db: db, ttl: vocabTTL, entries: map[string]*vocabEntry{}}
}

// vocabSQL reads a table's vocabulary; {{table}} is log_templates or
// error_patterns, whose materialized search_terms migration 0009 adds.
const vocabSQL = `SELECT term, toUInt64(count()) AS df, toUInt64(any(docs)) AS docs, toFloat64(any(avg_terms)) AS avg_terms
FROM (SELECT key, any(search_terms) AS terms, count() OVER () AS docs,
             avg(length(any(search_template_terms))) OVER () AS avg_terms
      FROM (SELECT {{key}} AS key, search_terms, search_template_terms FROM {{table}})
      GROUP BY key)
ARRAY JOIN terms AS term
GROUP BY term
ORDER BY df DESC, term
LIMIT ` + "500000"

// get returns a table's vocabulary, loading it the first time.
func (vs *vocabularies) get(ctx context.Context, table string) (*search.Vocabulary, error) {
	vs.mu.Lock()
	e := vs.entries[table]
	if e != nil && e.v != nil {
		if time.Since(e.built) > vs.ttl && !e.loading && !vs.closed {
			e.loading = true
			vs.wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				v, err := vs.load(ctx, table)
				vs.mu.Lock()
				defer vs.mu.Unlock()
				e.loading = false
				if err == nil {
					e.v, e.built = v, time.Now()
				}
			})
		}
		v := e.v
		vs.mu.Unlock()
		return v, nil
	}
	vs.mu.Unlock()
	v, err := vs.load(ctx, table)
	if err != nil {
		return nil, err
	}
	vs.mu.Lock()
	vs.entries[table] = &vocabEntry{v: v, built: time.Now()}
	vs.mu.Unlock()
	return v, nil
}

func (vs *vocabularies) load(ctx context.Context, table string) (*search.Vocabulary, error) {
	key := "template_hash"
	if table == "error_patterns" {
		key = "concat(service_name, '/', error_signature)"
	}
	sql := strings.NewReplacer("{{key}}", key, "{{table}}", table).Replace(vocabSQL)
	var rows []struct {
		Term     string  `ch:"term"`
		DF       uint64  `ch:"df"`
		Docs     uint64  `ch:"docs"`
		AvgTerms float64 `ch:"avg_terms"`
	}
	if err := vs.db.selectInto(ctx, &rows, sql, nil); err != nil {
		return nil, fmt.Errorf("read the search vocabulary of %s: %w", table, err)
	}
	df := make(map[string]int, len(rows))
	docs, avg := 0, 0.0
	for _, r := range rows {
		df[r.Term] = int(r.DF)
		docs, avg = int(r.Docs), r.AvgTerms
	}
	return search.NewVocabulary(df, docs, avg), nil
}

// close waits for background loads.
func (vs *vocabularies) close() {
	vs.mu.Lock()
	vs.closed = true
	vs.mu.Unlock()
	vs.wg.Wait()
}

// analyze reads a query text against a table's vocabulary. A vocabulary
// that cannot be read leaves typos, variants and rarity unread, not the
// search undone.
func (s *Server) analyze(ctx context.Context, table, text string) analysed {
	v, err := s.vocab.get(ctx, table)
	if err != nil {
		s.logger.Warn("search vocabulary unavailable; typos, word variants and rarity are not read", "table", table, "error", err)
	}
	a := analysed{q: search.Analyze(text, v), vocab: v}
	a.df, a.idf = a.q.GroupStats(v)
	return a
}

// checkSearchColumns verifies that the tables have migration 0009's search
// terms.
func (s *Server) checkSearchColumns(ctx context.Context) error {
	var rows []struct {
		N uint64 `ch:"n"`
	}
	if err := s.db.selectInto(ctx, &rows, `SELECT count() AS n FROM system.columns
		WHERE database = currentDatabase() AND table IN ('log_templates', 'error_patterns') AND name = 'search_terms'`, nil); err != nil {
		return err
	}
	if len(rows) == 0 || rows[0].N < 2 {
		return fmt.Errorf("%s.log_templates has no search terms (migration 0009): start the collector of this version once (make run) so that it applies the schema migrations", s.cfg.ClickHouse.Database)
	}
	return nil
}

// cutAtConfidence applies the cut-off to hits in rank order: the hits up to
// the last confident one stay (a weaker hit ranked above a confident one is
// kept: the ranking put it there, and it says it is not confident), and
// for a free-text query (atLeast) the first few whatever their confidence,
// each flagged for itself; the rest go. With no confident hit the first
// few stay and the answer is flagged low-confidence.
func cutAtConfidence[T any](hits []T, confident func(T) bool, k int, atLeast bool) ([]T, bool) {
	last := -1
	for i, h := range hits {
		if confident(h) {
			last = i
		}
	}
	keep := last + 1
	if last < 0 || atLeast {
		keep = max(keep, lowConfidenceHits)
	}
	return hits[:min(k, len(hits), keep)], last < 0 && len(hits) > 0
}

// sortPatternsFused orders patterns by fused score, a pattern of another
// service than the asked one counting as a few ranks lower.
func sortPatternsFused(ps []PatternMatch, service string) {
	eff := func(p PatternMatch) float64 {
		sc := p.score
		if service != "" && p.Service != service && p.Service != "" {
			sc -= 0.002 // about seven ranks of reciprocal rank fusion near the top
		}
		return sc
	}
	slices.SortFunc(ps, func(a, b PatternMatch) int {
		ea, eb := eff(a), eff(b)
		switch {
		case ea > eb:
			return -1
		case ea < eb:
			return 1
		case a.Distance != b.Distance:
			if a.Distance < b.Distance {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Signature, b.Signature)
	})
}

// templateHit is a template similar_error_search ranked, with what
// similar_error_templates read of it.
type templateHit struct {
	Hash        uint64
	Template    string
	Service     string
	Example     string
	Occurrences uint64
	FirstSeen   time.Time
	LastSeen    time.Time
	Traces      []string
	hybridRow
}

// searchTemplates ranks the error templates for one analysed query
// (similar_error_search), then reads the best 2k's text and occurrences in
// the window (similar_error_templates). Templates without occurrences there
// are left out; the rest keep the ranking's order.
func (s *Server) searchTemplates(ctx context.Context, a analysed, vec []float32, vw, lw, maxDist float64, k int, since time.Time, service string) ([]templateHit, error) {
	ranked, older, err := s.rankTemplates(ctx, a, vec, vw, lw, maxDist, 2*k)
	if err != nil || len(ranked) == 0 {
		return nil, err
	}
	return s.templateDetails(ctx, ranked, older, since, service)
}
