package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelcol-agentic/otelcol-agentic/internal/chdb"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

// scaleWords and scalePhrases make synthetic error templates with the
// shape of real ones: a class, a failure phrase, an operation and values.
var (
	scaleClasses = strings.Fields(`Upstream Database Cache Queue Payment Order Cart Inventory Auth Session Storage Gateway Search
		Mail Billing Shipping Catalog Profile Token Index Report Export Import Scheduler Worker Config`)
	scaleKinds   = strings.Fields(`Error Exception Failure Timeout`)
	scalePhrases = []string{"connection refused", "timed out after <*>", "pool exhausted (in_use=<*> max=<*>)", "no space left on device",
		"permission denied", "not found", "invalid argument", "deadlock detected", "too many requests", "out of memory",
		"connection reset by peer", "certificate has expired", "unexpected end of JSON input", "version conflict on <*>",
		"duplicate key value violates unique constraint", "context deadline exceeded", "upstream returned <*>", "read: broken pipe"}
	scaleOps = strings.Fields(`get_user list_items reserve_stock charge_card send_mail refresh_token write_file read_file
		update_order close_session enqueue_job dequeue_job render_page compute_total sync_index`)
	// scaleQueries are what people type, as in the public query set.
	scaleQueries = []string{"connection refused", "ECONNREFUSED", "DB connection pool exhausted", "커넥션 풀 고갈", "out of memory",
		"NullPointerException", "결제 시간 초과", "permission denied", "disk full", "conection refusd", "504 gateway timeout",
		"duplicate key value violates unique constraint", "deadlock", "unexpected end of JSON input", "too many requests", "session expired",
		"PaymentError: charge_card timed out after 3000ms during charge_card order_id=o-1"}
)

func scaleTemplate(r *rand.Rand, i int) (template, body string) {
	class := scaleClasses[i%len(scaleClasses)] + scaleKinds[(i/len(scaleClasses))%len(scaleKinds)]
	phrase := scalePhrases[r.IntN(len(scalePhrases))]
	op := scaleOps[r.IntN(len(scaleOps))]
	template = fmt.Sprintf("%s: %s %s during %s v%d", class, op, phrase, scaleOps[r.IntN(len(scaleOps))], i)
	body = strings.ReplaceAll(template, "<*>", fmt.Sprint(r.IntN(10000)))
	return template, body
}

var scaleStoreLoaded bool

// loadScaleStore writes 10,000 templates (with the HNSW index and the
// materialized search terms) and 1,000,000 occurrences with their
// per-minute stats, as the exporter leaves them.
func loadScaleStore(b *testing.B) string {
	const db, templates, occurrences = "mcp_search_scale", 10000, 1000000
	if scaleStoreLoaded {
		return db
	}
	ctx := context.Background()
	e := chdbtest.Engine(b)
	ex := chdb.Executor{Engine: e}
	if _, err := schema.Apply(ctx, ex, schema.Options{Database: db, Dims: 384}); err != nil {
		b.Fatal(err)
	}
	h := embed.NewHash(384)
	r := rand.New(rand.NewPCG(20, 20))
	var rows strings.Builder
	now := time.Now().UTC()
	for i := range templates {
		tpl, body := scaleTemplate(r, i)
		v, _ := json.Marshal(h.EmbedOne(tpl))
		row, _ := json.Marshal(map[string]any{"template_hash": i + 1, "template": tpl, "service_name": fmt.Sprintf("svc-%d", i%20),
			"severity_text": "ERROR", "example_body": body, "first_seen": now.Add(-2 * time.Hour).Format("2006-01-02 15:04:05"),
			"embedding_model": h.Model()})
		rows.Write(row[:len(row)-1])
		fmt.Fprintf(&rows, `,"embedding":%s}`+"\n", v)
	}
	start := time.Now()
	conn, err := e.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	in, err := conn.Insert("INSERT INTO "+db+".log_templates (template_hash, template, service_name, severity_text, example_body, first_seen, embedding_model, embedding)", "JSONEachRow")
	if err != nil {
		b.Fatal(err)
	}
	if err := in.Append([]byte(rows.String())); err != nil {
		b.Fatal(err)
	}
	if _, err := in.Done(); err != nil {
		b.Fatal(err)
	}
	e.Release(conn)
	b.Logf("inserted %d templates (HNSW index, search terms) in %v", templates, time.Since(start))
	start = time.Now()
	// Through the occurrences' input table, as the exporter writes them:
	// its views fill logs_with_embeddings and log_template_stats.
	if err := ex.Exec(ctx, fmt.Sprintf(`INSERT INTO %s.logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)
		SELECT now64(9) - toIntervalSecond(number %% 7200), hex(number), '', 'ERROR', concat('svc-', toString(th %% 20)), 'body', 'tpl', th, ''
		FROM (SELECT number, 1 + (cityHash64(number) %% %d) AS th FROM numbers(%d))`, db, templates, occurrences)); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d occurrences and their stats in %v", occurrences, time.Since(start))
	scaleStoreLoaded = true
	return db
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFindSimilarErrorsAtScale is find_similar_errors end to end (MCP
// client, JSON-RPC, query analysis, embedding, the hybrid query, stats) over
// 10,000 templates and 1,000,000 occurrences, with what people type as
// queries. Hybrid and vector-only calls alternate, so the machine's load
// falls on both alike; each reports its p50 and p95.
func BenchmarkFindSimilarErrorsAtScale(b *testing.B) {
	db := loadScaleStore(b)
	h := connect(b, testConfig(b, db), time.Now())
	ctx := context.Background()
	// Wall time and the process's CPU time (client, server and engine are
	// all in it): on a busy machine the CPU time is the steadier figure.
	call := func(args map[string]any) (time.Duration, time.Duration) {
		cpu0 := processCPU()
		start := time.Now()
		res, err := h.cs.CallTool(ctx, &sdk.CallToolParams{Name: ToolFindSimilarErrors, Arguments: args})
		if err != nil || res.IsError {
			b.Fatalf("%v %s", err, resultText(res))
		}
		return time.Since(start), processCPU() - cpu0
	}
	// Warm: the search vocabulary loads on the first call.
	call(map[string]any{"text": "warm up", "window": "24h"})
	var hybrid, vector, hybridCPU, vectorCPU []time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		q := scaleQueries[i%len(scaleQueries)]
		w, c := call(map[string]any{"text": q, "window": "24h"})
		hybrid, hybridCPU = append(hybrid, w), append(hybridCPU, c)
		w, c = call(map[string]any{"text": q, "window": "24h", "ranking": RankingVector})
		vector, vectorCPU = append(vector, w), append(vectorCPU, c)
	}
	b.StopTimer()
	report := func(name string, lat []time.Duration) {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2])/1e6, name+"-p50-ms")
		b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*95/100)])/1e6, name+"-p95-ms")
	}
	// The dearest queries, by CPU.
	type qc struct {
		q   string
		cpu time.Duration
	}
	var byQuery []qc
	for i, c := range hybridCPU {
		byQuery = append(byQuery, qc{scaleQueries[i%len(scaleQueries)], c})
	}
	slices.SortFunc(byQuery, func(a, b qc) int { return int(b.cpu - a.cpu) })
	for _, x := range byQuery[:min(5, len(byQuery))] {
		b.Logf("hybrid %v CPU: %q", x.cpu.Round(time.Millisecond), x.q)
	}
	report("hybrid", hybrid)
	report("vector", vector)
	report("hybrid-cpu", hybridCPU)
	report("vector-cpu", vectorCPU)
}
