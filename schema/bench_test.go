package schema_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

var benchWords = strings.Fields(`timeout refused reset connection pool exhausted acquire lock deadlock
	insert update select delete order payment inventory cart checkout user session token expired invalid
	null pointer index out of range overflow disk full quota exceeded permission denied not found conflict
	version mismatch gateway upstream downstream retry backoff circuit open closed cache miss eviction
	memory heap allocation failed thread interrupted cancelled context deadline exceeded parse error`)

// synthTemplate makes a plausible error template from a seed.
func synthTemplate(r *rand.Rand, i int) string {
	n := 5 + r.IntN(8)
	w := make([]string, n)
	for j := range w {
		w[j] = benchWords[r.IntN(len(benchWords))]
	}
	return fmt.Sprintf("%sError%d: %s <*>", strings.ToUpper(benchWords[i%len(benchWords)][:1])+benchWords[i%len(benchWords)][1:], i%97, strings.Join(w, " "))
}

var searchStoreLoaded bool

func loadSearchStore(b *testing.B, e *chdb.Engine, templateRows string, templates, occurrences int) {
	ctx := context.Background()
	ex := chdb.Executor{Engine: e}
	if _, err := schema.Apply(ctx, ex, schema.Options{Database: "bench_search", Dims: 384}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	insert(b, e, "INSERT INTO bench_search.log_templates (template_hash, template, service_name, severity_text, first_seen, embedding)", templateRows)
	b.Logf("inserted %d templates with the HNSW index in %v", templates, time.Since(start))
	start = time.Now()
	if err := ex.Exec(ctx, fmt.Sprintf(`INSERT INTO bench_search.logs_with_embeddings (Timestamp, TraceId, SeverityText, ServiceName, Body, template, template_hash)
		SELECT toDateTime64('2026-11-27 10:00:00', 9) + toIntervalSecond(number %% 7200), hex(number), 'ERROR', concat('svc-', toString(number %% 7)),
		       'body', 'tpl', 1 + (cityHash64(number) %% %d) FROM numbers(%d)`, templates, occurrences)); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d occurrences in %v", occurrences, time.Since(start))
}

// BenchmarkSimilarErrorSearch measures similar_error_search's vector
// ranking over a store of 1,000,000 error occurrences of 10,000 templates:
// latency percentiles, and recall@10 of the vector-indexed answer against
// exact cosine distance computed here. The whole tool, words and vectors,
// is BenchmarkFindSimilarErrorsAtScale in mcp.
func BenchmarkSimilarErrorSearch(b *testing.B) {
	const templates, occurrences, dims = 10000, 1000000, 384
	e := chdbtest.Engine(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 7))
	h := embed.NewHash(dims)
	vecs := make([][]float32, templates)
	var rows strings.Builder
	for i := range templates {
		t := synthTemplate(r, i)
		vecs[i] = h.EmbedOne(t)
		fmt.Fprintf(&rows, `{"template_hash":%d,"template":%q,"service_name":"svc-%d","severity_text":"ERROR","first_seen":"2026-11-27 10:00:00","embedding":%s}`+"\n",
			i+1, t, i%7, vecJSON(vecs[i]))
	}
	// The benchmark function runs more than once; load the store once.
	if !searchStoreLoaded {
		searchStoreLoaded = true
		loadSearchStore(b, e, rows.String(), templates, occurrences)
	}
	sql, err := schema.Query("similar_error_search")
	if err != nil {
		b.Fatal(err)
	}
	conn, err := e.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer e.Release(conn)
	if _, err := conn.Query("USE bench_search", "TSV"); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	recall := 0.0
	b.ResetTimer()
	for i := range b.N {
		q := vecs[r.IntN(templates)]
		// A query near, not at, a stored template: perturb it.
		qv := slices.Clone(q)
		for j := range qv {
			qv[j] += float32(r.NormFloat64() * 0.01)
		}
		t0 := time.Now()
		// The vector ranking alone: what the vector index answers.
		res, err := conn.Query(sql, "TabSeparated",
			chdb.Param{Name: "embedding", Value: vecJSON(qv)}, chdb.Param{Name: "k", Value: "10"},
			chdb.Param{Name: "max_distance", Value: "2"}, chdb.Param{Name: "candidates", Value: "50"},
			chdb.Param{Name: "vector_weight", Value: "1"}, chdb.Param{Name: "lexical_weight", Value: "0"},
			chdb.Param{Name: "terms", Value: "[]"}, chdb.Param{Name: "groups", Value: "[]"}, chdb.Param{Name: "weights", Value: "[]"},
			chdb.Param{Name: "idf", Value: "[]"}, chdb.Param{Name: "probe", Value: "[]"}, chdb.Param{Name: "avg_len", Value: "1"})
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		got := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSpace(string(res.Data)), "\n") {
			got[strings.SplitN(line, "\t", 2)[0]] = true
		}
		exact := exactTop(vecs, qv, 10)
		hit := 0
		for _, id := range exact {
			if got[fmt.Sprint(id)] {
				hit++
			}
		}
		recall += float64(hit) / 10
		_ = i
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95_ms")
	b.ReportMetric(recall/float64(b.N), "recall@10")
	explain, err := conn.Query("EXPLAIN indexes = 1 SELECT template_hash FROM log_templates ORDER BY cosineDistance(embedding, {v:Array(Float32)}) LIMIT 10",
		"TSV", chdb.Param{Name: "v", Value: vecJSON(vecs[0])})
	if err == nil && !strings.Contains(string(explain.Data), "vector_similarity") {
		b.Log("warning: the vector index is not used:\n" + string(explain.Data))
	}
}

func exactTop(vecs [][]float32, q []float32, k int) []int {
	type scored struct {
		id int
		d  float64
	}
	s := make([]scored, len(vecs))
	for i, v := range vecs {
		var dot, nq, nv float64
		for j := range v {
			dot += float64(v[j]) * float64(q[j])
			nq += float64(q[j]) * float64(q[j])
			nv += float64(v[j]) * float64(v[j])
		}
		s[i] = scored{i + 1, 1 - dot/(math.Sqrt(nq)*math.Sqrt(nv))}
	}
	sort.Slice(s, func(i, j int) bool { return s[i].d < s[j].d })
	out := make([]int, k)
	for i := range out {
		out[i] = s[i].id
	}
	return out
}

func vecJSON(v []float32) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, f := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%g", f)
	}
	b.WriteByte(']')
	return b.String()
}

func insert(b *testing.B, e *chdb.Engine, sql, jsonRows string) {
	conn, err := e.Acquire(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	defer e.Release(conn)
	in, err := conn.Insert(sql, "JSONEachRow")
	if err != nil {
		b.Fatal(err)
	}
	if err := in.Append([]byte(jsonRows)); err != nil {
		b.Fatal(err)
	}
	if _, err := in.Done(); err != nil {
		b.Fatal(err)
	}
}
