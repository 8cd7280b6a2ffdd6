package mcp

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/internal/search"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// FindSimilarErrorsInput is a search over error templates.
type FindSimilarErrorsInput struct {
	Text        string  `json:"text,omitempty" jsonschema:"an error message, a description or a few words, in English or Korean: 'NullPointerException in getUserById', 'connection refused', 'ECONNREFUSED', '결제 시간 초과'; give text or trace_id"`
	TraceID     string  `json:"trace_id,omitempty" jsonschema:"use the error logs of this trace (32 hex digits) as the query"`
	Service     string  `json:"service,omitempty" jsonschema:"count only occurrences in this service"`
	Window      string  `json:"window,omitempty" jsonschema:"how far back to count occurrences, e.g. 1h, 24h, 7d (default 7d, at most 90d)"`
	K           int     `json:"k,omitempty" jsonschema:"templates to return, 1-50 (default 10)"`
	MaxDistance float64 `json:"max_distance,omitempty" jsonschema:"largest cosine distance that counts as a confident match on its own, 0-2 (default with the hash embedder 0.5 for a message that leads with its error type, e.g. 'InventoryDBError: …', 0.7 for free text; 0.6 with other models); a template holding half of the query's words and concepts counts as well"`
	Ranking     string  `json:"ranking,omitempty" jsonschema:"hybrid (default): the query's words, their spellings across ecosystems and languages, and the embedding, fused; vector or lexical: one of them alone, to compare"`
}

// Default cut-offs of find_similar_errors. The hash embedder gives a
// message's leading error type 60 % of the vector, so errors of one type lie
// within 0.4 of each other and errors of different types beyond 0.6 unless
// their wording matches: 0.5 keeps the query's type. Free text names no type
// and reaches typed templates only through their wording (at most
// 1 - sqrt(0.4) = 0.37 of similarity to them from words alone): it needs a
// looser cut-off.
const (
	similarMaxDistanceTyped = 0.5
	similarMaxDistanceText  = 0.7
	similarMaxDistanceOther = 0.6
)

// similarMaxDistance is the default cut-off for a query template: the
// calibrated ones for the hash embedder, 0.6 for other models.
func (s *Server) similarMaxDistance(template string) float64 {
	if !strings.HasPrefix(s.embed.Model(), "hash-") {
		return similarMaxDistanceOther
	}
	if embed.LeadingErrorType(template) != "" {
		return similarMaxDistanceTyped
	}
	return similarMaxDistanceText
}

// FindSimilarErrorsOutput lists the error templates that match the query.
type FindSimilarErrorsOutput struct {
	Query  SimilarityQuery `json:"query"`
	Window Window          `json:"window"`
	Hits   []SimilarError  `json:"hits"`
	// LowConfidence: no template matched confidently; Hits are the closest
	// few and Notice says why.
	LowConfidence bool   `json:"low_confidence,omitempty"`
	Notice        string `json:"notice,omitempty"`
}

// SimilarityQuery says what was searched for.
type SimilarityQuery struct {
	Source    string   `json:"source"`
	Templates []string `json:"templates"`
	Model     string   `json:"model"`
	Ranking   string   `json:"ranking"`
	// Concepts are the failures the query names (lexicon concepts), whose
	// other spellings were searched too.
	Concepts []string `json:"concepts,omitempty"`
	// Corrections are words read as a stored word they nearly spell.
	Corrections map[string]string `json:"corrections,omitempty"`
}

// SimilarError is one error template matching the query, with its
// occurrences and why it matched.
type SimilarError struct {
	Template        string    `json:"template"`
	Service         string    `json:"service"`
	ExampleBody     string    `json:"example_body"`
	Distance        float64   `json:"distance"`
	Similarity      float64   `json:"similarity"`
	Match           HitMatch  `json:"match"`
	Occurrences     uint64    `json:"occurrences"`
	FirstSeen       time.Time `json:"first_seen"`
	LastSeen        time.Time `json:"last_seen"`
	ExampleTraceIDs []string  `json:"example_trace_ids"`
	TemplateHash    string    `json:"template_hash"`
	score           float64
}

var traceIDRe = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)

func normTraceID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if !traceIDRe.MatchString(id) {
		return "", userErrorf("trace_id %q is not a trace id: it must be 32 hex digits, as in otel_traces.TraceId", truncate(id, 80))
	}
	return strings.ToLower(id), nil
}

func (s *Server) findSimilarErrors(ctx context.Context, _ *sdk.CallToolRequest, in FindSimilarErrorsInput) (*sdk.CallToolResult, FindSimilarErrorsOutput, error) {
	var out FindSimilarErrorsOutput
	w, err := parseWindow(in.Window, "", 7*24*time.Hour, 90*24*time.Hour, s.now())
	if err != nil {
		return nil, out, err
	}
	k := clampInt(in.K, 10, 1, 50)
	if in.MaxDistance > 2 {
		return nil, out, userErrorf("max_distance must be within (0, 2]: cosine distance is 0 for identical and 2 for opposite vectors")
	}
	vw, lw, err := rankingWeights(in.Ranking)
	if err != nil {
		return nil, out, err
	}
	texts, source, err := s.queryTexts(ctx, in.Text, in.TraceID)
	if err != nil {
		return nil, out, err
	}
	out.Window = w.out()
	out.Query = SimilarityQuery{Source: source, Model: s.embed.Model(), Templates: []string{}, Ranking: cmpOr(in.Ranking, RankingHybrid)}
	best := map[string]SimilarError{}
	nearest, coverage, maxDist := 2.0, 0.0, 0.0
	var lastQuery search.Query
	for _, text := range texts {
		tpl, vec, err := s.embedText(ctx, text)
		if err != nil {
			return nil, out, err
		}
		out.Query.Templates = append(out.Query.Templates, tpl.Template)
		maxDist = in.MaxDistance
		if maxDist <= 0 {
			maxDist = s.similarMaxDistance(tpl.Template)
		}
		a := s.analyze(ctx, "log_templates", text)
		lastQuery = a.q
		concepts, corrections := queryInfo(a.q)
		out.Query.Concepts = appendNew(out.Query.Concepts, concepts...)
		if corrections != nil {
			if out.Query.Corrections == nil {
				out.Query.Corrections = map[string]string{}
			}
			for a, b := range corrections {
				out.Query.Corrections[a] = b
			}
		}
		wv := vw
		if lw > 0 {
			wv = s.hybridVectorWeight(tpl.Template, vw)
		}
		rows, err := s.searchTemplates(ctx, a, vec, wv, lw, maxDist, k, w.Start, in.Service)
		if err != nil {
			return nil, out, err
		}
		class := embed.LeadingErrorType(tpl.Template)
		for _, r := range rows {
			h := uitoa(r.Hash)
			m := r.match(a, maxDist)
			if class != "" && m.Confident && float64(r.Distance) > maxDist && !strings.EqualFold(embed.LeadingErrorType(r.Template), class) {
				// A message that names its error class matches an error of
				// another class only by being near: its words alone are
				// shared by every wrapper of it.
				m.Confident = false
			}
			nearest, coverage = min(nearest, float64(r.Distance)), max(coverage, m.Coverage)
			if prev, ok := best[h]; ok && prev.score >= r.FusedScore {
				continue
			}
			best[h] = SimilarError{
				Template: r.Template, Service: r.Service, ExampleBody: truncate(r.Example, 600),
				Distance: round3(float64(r.Distance)), Similarity: round3(1 - float64(r.Distance)), Match: m,
				Occurrences: r.Occurrences, FirstSeen: r.FirstSeen.UTC(), LastSeen: r.LastSeen.UTC(),
				ExampleTraceIDs: sortedCopy(r.Traces), TemplateHash: h, score: r.FusedScore,
			}
		}
	}
	for _, h := range best {
		out.Hits = append(out.Hits, h)
	}
	slices.SortFunc(out.Hits, func(a, b SimilarError) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		if a.Distance != b.Distance {
			if a.Distance < b.Distance {
				return -1
			}
			return 1
		}
		return strings.Compare(a.TemplateHash, b.TemplateHash)
	})
	// A message that names its error class is cut where its confident hits
	// end (its cut-off is calibrated for that); free text keeps the first
	// few too.
	freeText := !slices.ContainsFunc(out.Query.Templates, func(t string) bool { return embed.LeadingErrorType(t) != "" })
	out.Hits, out.LowConfidence = cutAtConfidence(out.Hits, func(h SimilarError) bool { return h.Match.Confident }, k, freeText)
	out.Hits = orEmpty(out.Hits)
	switch {
	case len(out.Hits) == 0:
		out.Notice = "no error template had occurrences in the window" + ifThen(in.Service != "", " for service "+in.Service) +
			": widen the window (e.g. 30d) or drop the service filter. error_summary lists the errors that did occur."
	case out.LowConfidence:
		out.Notice = lowConfidenceNotice("error template", lastQuery, maxDist, nearest, coverage)
	}
	return nil, out, nil
}

func appendNew(xs []string, ys ...string) []string {
	for _, y := range ys {
		if !slices.Contains(xs, y) {
			xs = append(xs, y)
		}
	}
	return xs
}

// queryTexts are the texts to embed: the given text, or the distinct error
// messages of a trace.
func (s *Server) queryTexts(ctx context.Context, text, traceID string) ([]string, string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text != "" && traceID != "":
		return nil, "", userErrorf("give either text or trace_id, not both")
	case text != "":
		if len(text) > 8192 {
			text = text[:8192]
		}
		return []string{text}, "text", nil
	case traceID == "":
		return nil, "", userErrorf("give text (an error message or description) or trace_id")
	}
	id, err := normTraceID(traceID)
	if err != nil {
		return nil, "", err
	}
	// The trace's time range bounds the reads when the lookup table has it.
	from, to, ok, err := s.traceRange(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		from, to = time.Unix(0, 0), s.now().Add(time.Hour)
	}
	p := params{}.str("id", id).time("from", from.Add(-time.Minute)).time("to", to.Add(time.Minute))
	var rows []struct {
		Body string `ch:"Body"`
	}
	// The error logs the pipeline embedded for the trace, one per template
	// as it is now (an occurrence stored under a hash its template had
	// before it generalised counts as the template's); the raw logs when
	// the vector pipeline did not see it.
	if err := s.db.selectInto(ctx, &rows, `SELECT any(o.Body) AS Body FROM logs_with_embeddings AS o
		LEFT JOIN log_template_canonical AS a ON a.template_hash = o.template_hash
		WHERE o.TraceId = {id:String} AND o.Timestamp >= {from:DateTime64(9)} AND o.Timestamp <= {to:DateTime64(9)}
		GROUP BY if(a.canonical_hash = 0, o.template_hash, a.canonical_hash) ORDER BY min(o.Timestamp) LIMIT 3`, p); err != nil {
		return nil, "", err
	}
	if len(rows) == 0 {
		if err := s.db.selectInto(ctx, &rows, `SELECT Body FROM otel_logs
			WHERE TraceId = {id:String} AND Timestamp >= {from:DateTime64(9)} AND Timestamp <= {to:DateTime64(9)}
			  AND (SeverityNumber >= 17 OR upper(SeverityText) IN ('ERROR', 'FATAL', 'CRITICAL'))
			ORDER BY Timestamp LIMIT 20`, p); err != nil {
			return nil, "", err
		}
	}
	var texts []string
	seen := map[uint64]bool{}
	for _, r := range rows {
		h := logtemplate.Normalize(r.Body).Hash
		if !seen[h] && len(texts) < 3 {
			seen[h] = true
			texts = append(texts, r.Body)
		}
	}
	if len(texts) == 0 {
		return nil, "", userErrorf("trace %s has no error logs: call get_trace to see its spans, or search by text (a span's status message)", id)
	}
	return texts, "error logs of trace " + id, nil
}

// DetectAnomalousTracesInput selects the traces to rank.
type DetectAnomalousTracesInput struct {
	Window        string `json:"window,omitempty" jsonschema:"how far back to look, e.g. 15m, 1h (default 1h, at most 7d)"`
	End           string `json:"end,omitempty" jsonschema:"end of the window, RFC 3339 (default now)"`
	Service       string `json:"service,omitempty" jsonschema:"only traces that pass through this service"`
	K             int    `json:"k,omitempty" jsonschema:"traces to return, 1-100 (default 20)"`
	OnlyAnomalous bool   `json:"only_anomalous,omitempty" jsonschema:"only traces the pipeline flagged as anomalous"`
}

// DetectAnomalousTracesOutput ranks the window's traces by anomaly.
type DetectAnomalousTracesOutput struct {
	Window    Window           `json:"window"`
	Traces    uint64           `json:"traces_in_window"`
	Anomalous uint64           `json:"anomalous_in_window"`
	ByType    map[string]int64 `json:"anomalous_by_type,omitempty"`
	Top       []AnomalousTrace `json:"top"`
	// Incidents group the window's flagged traces (list_incidents, for
	// windows up to 24h); each trace of Top names its incident.
	Incidents []Incident `json:"incidents,omitempty"`
	// Sessions are the user sessions the flagged traces of top touched.
	Sessions *SessionImpact `json:"sessions,omitempty"`
	Notice   string         `json:"notice,omitempty"`
}

// AnomalousTrace is one trace's summary and scores.
type AnomalousTrace struct {
	TraceID          string    `json:"trace_id"`
	Timestamp        time.Time `json:"timestamp"`
	Service          string    `json:"service"`
	RootOperation    string    `json:"root_operation"`
	SpanSequence     string    `json:"span_sequence"`
	DurationMs       float64   `json:"duration_ms"`
	SpanCount        uint32    `json:"span_count"`
	ErrorCount       uint32    `json:"error_count"`
	AnomalyScore     float64   `json:"anomaly_score"`
	IsAnomaly        bool      `json:"is_anomaly"`
	AnomalyType      string    `json:"anomaly_type,omitempty"`
	CentroidDistance float64   `json:"centroid_distance"`
	Incident         string    `json:"incident,omitempty"`
	// SessionID is the user session the trace belongs to, if any.
	SessionID string `json:"session_id,omitempty"`
}

// allRows is the largest k: the anomaly query with it returns every trace
// of the window, for counting.
const allRows = "18446744073709551615"

func (s *Server) detectAnomalousTraces(ctx context.Context, _ *sdk.CallToolRequest, in DetectAnomalousTracesInput) (*sdk.CallToolResult, DetectAnomalousTracesOutput, error) {
	var out DetectAnomalousTracesOutput
	w, err := parseWindow(in.Window, in.End, time.Hour, 7*24*time.Hour, s.now())
	if err != nil {
		return nil, out, err
	}
	out.Window = w.out()
	k := clampInt(in.K, 20, 1, 100)
	baseline := w.Start.Add(-max(w.End.Sub(w.Start)*4, time.Hour))
	p := params{}.time("since", w.Start).time("until", w.End).time("baseline_since", baseline).
		str("service", in.Service).int("k", k).int("only_anomalous", boolInt(in.OnlyAnomalous))
	var rows []anomalyRow
	anomalySQL, err := schema.Query("anomaly_detection")
	if err != nil {
		return nil, out, err
	}
	if err := s.db.selectInto(ctx, &rows, anomalySQL, p); err != nil {
		return nil, out, err
	}
	for _, r := range rows {
		out.Top = append(out.Top, AnomalousTrace{
			TraceID: r.TraceID, Timestamp: r.Timestamp.UTC(), Service: r.Service, RootOperation: r.RootOp,
			SpanSequence: truncate(r.Sequence, 600), DurationMs: round3(float64(r.Duration) / 1e6),
			SpanCount: r.Spans, ErrorCount: r.Errors, AnomalyScore: round3(float64(r.Score)), IsAnomaly: r.IsAnomaly == 1,
			AnomalyType: r.Type, CentroidDistance: round3(r.Centroid),
		})
	}
	out.Top = orEmpty(out.Top)
	if err := s.anomalySessions(ctx, &out, w); err != nil {
		return nil, out, err
	}
	var counts []struct {
		Type string `ch:"anomaly_type"`
		N    uint64 `ch:"n"`
		A    uint64 `ch:"a"`
	}
	all := params{}
	for k, v := range p {
		all[k] = v
	}
	all["k"], all["only_anomalous"] = allRows, "0"
	if err := s.db.selectInto(ctx, &counts, `SELECT anomaly_type, count() AS n, countIf(is_anomaly = 1) AS a FROM (`+anomalySQL+`)
		GROUP BY anomaly_type`, all); err != nil {
		return nil, out, err
	}
	for _, c := range counts {
		out.Traces += c.N
		out.Anomalous += c.A
		if c.A > 0 && c.Type != "" {
			if out.ByType == nil {
				out.ByType = map[string]int64{}
			}
			out.ByType[c.Type] += int64(c.A)
		}
	}
	if out.Traces == 0 {
		out.Notice = "no traces in the window: the traces/vector pipeline may not have run, or widen the window"
	}
	if out.Anomalous > 0 && w.End.Sub(w.Start) <= 24*time.Hour {
		inc, of, err := s.incidents(ctx, w, in.Service, 5)
		if err != nil {
			return nil, out, err
		}
		out.Incidents = inc.Incidents
		for i := range out.Top {
			out.Top[i].Incident = of[out.Top[i].TraceID]
		}
	}
	return nil, out, nil
}

// MatchErrorPatternsInput is the error to look up among known patterns.
type MatchErrorPatternsInput struct {
	Text        string  `json:"text,omitempty" jsonschema:"the error message or a few words (English or Korean); give text or trace_id"`
	TraceID     string  `json:"trace_id,omitempty" jsonschema:"use the error logs of this trace as the query"`
	Service     string  `json:"service,omitempty" jsonschema:"prefer patterns of this service (patterns of any service are still considered)"`
	K           int     `json:"k,omitempty" jsonschema:"patterns to return, 1-20 (default 5)"`
	MaxDistance float64 `json:"max_distance,omitempty" jsonschema:"largest cosine distance that counts as a confident match on its own, 0-2 (default 0.5); a pattern holding half of the query's words and concepts counts as well"`
	Ranking     string  `json:"ranking,omitempty" jsonschema:"hybrid (default), or vector or lexical alone"`
}

// MatchErrorPatternsOutput lists known patterns with root cause and fix.
type MatchErrorPatternsOutput struct {
	Query    SimilarityQuery `json:"query"`
	Patterns []PatternMatch  `json:"patterns"`
	// LowConfidence: no pattern matched confidently; Patterns are the
	// closest few and Notice says why.
	LowConfidence bool   `json:"low_confidence,omitempty"`
	Notice        string `json:"notice,omitempty"`
}

// PatternMatch is a known error pattern matching the query.
type PatternMatch struct {
	Signature       string    `json:"signature"`
	Service         string    `json:"service"`
	ErrorMessage    string    `json:"error_message"`
	RootCause       string    `json:"root_cause"`
	Resolution      string    `json:"resolution"`
	OccurrenceCount uint32    `json:"occurrence_count"`
	LastSeen        time.Time `json:"last_seen"`
	RelatedTraceIDs []string  `json:"related_trace_ids"`
	Distance        float64   `json:"distance"`
	Similarity      float64   `json:"similarity"`
	// Why is the lexical and vector evidence of the match (match_error_patterns).
	Why *HitMatch `json:"why,omitempty"`
	// Match says why analyze_root_cause attached the pattern.
	Match string `json:"match,omitempty"`
	score float64
}

func (s *Server) matchErrorPatterns(ctx context.Context, _ *sdk.CallToolRequest, in MatchErrorPatternsInput) (*sdk.CallToolResult, MatchErrorPatternsOutput, error) {
	var out MatchErrorPatternsOutput
	k := clampInt(in.K, 5, 1, 20)
	maxDist := in.MaxDistance
	if maxDist <= 0 {
		maxDist = 0.5
	}
	if maxDist > 2 {
		return nil, out, userErrorf("max_distance must be within (0, 2]")
	}
	if _, _, err := rankingWeights(in.Ranking); err != nil {
		return nil, out, err
	}
	texts, source, err := s.queryTexts(ctx, in.Text, in.TraceID)
	if err != nil {
		return nil, out, err
	}
	out.Query = SimilarityQuery{Source: source, Model: s.embed.Model(), Templates: []string{}, Ranking: cmpOr(in.Ranking, RankingHybrid)}
	best := map[string]PatternMatch{}
	nearest, coverage := 2.0, 0.0
	var lastQuery search.Query
	for _, text := range texts {
		res, err := s.patternsFor(ctx, text, in.Service, k, maxDist, in.Ranking)
		if err != nil {
			return nil, out, err
		}
		lastQuery = res.query
		out.Query.Templates = append(out.Query.Templates, res.template)
		out.Query.Concepts = appendNew(out.Query.Concepts, res.query.Concepts()...)
		for _, m := range res.matches {
			nearest, coverage = min(nearest, m.Distance), max(coverage, m.Why.Coverage)
			if prev, ok := best[m.Signature]; !ok || m.score > prev.score {
				best[m.Signature] = m
			}
		}
	}
	for _, m := range best {
		out.Patterns = append(out.Patterns, m)
	}
	sortPatternsFused(out.Patterns, in.Service)
	out.Patterns, out.LowConfidence = cutAtConfidence(out.Patterns, func(p PatternMatch) bool { return p.Why.Confident }, k, false)
	out.Patterns = orEmpty(out.Patterns)
	switch {
	case len(out.Patterns) == 0:
		out.Notice = "the error pattern catalogue is empty: the collector seeds it at start (schema/patterns); find_similar_errors shows past occurrences of similar errors."
	case out.LowConfidence:
		out.Notice = lowConfidenceNotice("known pattern", lastQuery, maxDist, nearest, coverage) +
			" This error may be new to the catalogue: find_similar_errors shows past occurrences of similar errors."
	}
	return nil, out, nil
}

// patternsResult is one text's patterns.
type patternsResult struct {
	matches  []PatternMatch
	template string
	query    search.Query
}

// patternsFor runs the pattern_matching query for one text under a
// ranking; every pattern comes back with its evidence, confident or not.
func (s *Server) patternsFor(ctx context.Context, text, service string, k int, maxDist float64, ranking string) (patternsResult, error) {
	var res patternsResult
	vw, lw, err := rankingWeights(ranking)
	if err != nil {
		return res, err
	}
	tpl, vec, err := s.embedText(ctx, text)
	if err != nil {
		return res, err
	}
	res.template = tpl.Template
	sql, err := schema.Query("pattern_matching")
	if err != nil {
		return res, err
	}
	var a analysed
	if lw > 0 {
		a = s.analyze(ctx, "error_patterns", text)
	}
	res.query = a.q
	var rows []struct {
		ID         uuid.UUID `ch:"pattern_id"`
		Signature  string    `ch:"error_signature"`
		Message    string    `ch:"error_message"`
		Service    string    `ch:"service_name"`
		RootCause  string    `ch:"root_cause"`
		Resolution string    `ch:"resolution"`
		Count      uint32    `ch:"occurrence_count"`
		LastSeen   time.Time `ch:"last_seen"`
		Related    []string  `ch:"related_trace_ids"`
		hybridRow
	}
	// Fetch more than k: the service preference reorders them.
	if lw > 0 {
		vw = s.hybridVectorWeight(tpl.Template, vw)
	}
	p := hybridParams(a, vec, vw, lw).float("max_distance", maxDist).int("k", k*3)
	if err := s.db.selectInto(ctx, &rows, sql, p); err != nil {
		return res, err
	}
	for _, r := range rows {
		why := r.match(a, maxDist)
		m := PatternMatch{Signature: r.Signature, Service: r.Service, ErrorMessage: r.Message, RootCause: r.RootCause,
			Resolution: r.Resolution, OccurrenceCount: r.Count, RelatedTraceIDs: lastN(r.Related, 5),
			Distance: round3(float64(r.Distance)), Similarity: round3(1 - float64(r.Distance)), Why: &why, score: r.FusedScore}
		if r.LastSeen.Unix() > 0 {
			m.LastSeen = r.LastSeen.UTC()
		}
		res.matches = append(res.matches, m)
	}
	if lw > 0 {
		sortPatternsFused(res.matches, service)
	} else {
		sortPatterns(res.matches, service)
	}
	return res, nil
}

// sortPatterns orders by distance, a pattern of the asked service (or of
// any service) counting as slightly nearer.
func sortPatterns(ps []PatternMatch, service string) {
	eff := func(p PatternMatch) float64 {
		if service != "" && p.Service != service && p.Service != "" {
			return p.Distance + 0.05
		}
		return p.Distance
	}
	slices.SortFunc(ps, func(a, b PatternMatch) int {
		ea, eb := eff(a), eff(b)
		switch {
		case ea < eb:
			return -1
		case ea > eb:
			return 1
		}
		return strings.Compare(a.Signature, b.Signature)
	})
}
