package searcheval

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/mcp"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
)

// Options of a run.
type Options struct {
	// Endpoint is a ClickHouse HTTP interface (http://host:port) that may
	// create Database.
	Endpoint string
	Database string
	// Embedder is the collector's and the MCP server's embedder.
	Embedder embed.Config
	// LoghubDir holds the Loghub 2k samples; when they are missing the run
	// uses the shop's documents and the queries labelled with them only.
	LoghubDir string
	// ShopOnly leaves the Loghub samples out.
	ShopOnly bool
	// Rankings are find_similar_errors' ranking values to score; "" is the
	// tool's default.
	Rankings []string
	// Progress, if set, gets a line per stage.
	Progress io.Writer
}

// QueryResult is one query under one ranking.
type QueryResult struct {
	ID      string   `json:"id"`
	Kind    string   `json:"kind"`
	Text    string   `json:"text"`
	Hits    []string `json:"hits"` // document ids of each hit's template, "|"-joined
	Scores  Scores   `json:"scores"`
	Answers int      `json:"relevant_templates"`
	// LowConfidence is set when the tool flagged its answer as such.
	LowConfidence bool `json:"low_confidence,omitempty"`
}

// RankingResult is a ranking's scores over the set.
type RankingResult struct {
	Ranking string                  `json:"ranking"`
	Mean    Scores                  `json:"mean"`
	ByKind  map[string]Scores       `json:"by_kind"`
	Queries []QueryResult           `json:"queries"`
	Latency map[string]float64      `json:"latency_ms"` // p50, p95
	Hits    map[string]map[int]bool `json:"-"`
}

// PasteResult scores a ranking on pasted messages: every shop document's
// own body as the query, as an agent pastes an error it holds.
type PasteResult struct {
	Ranking string `json:"ranking"`
	// Self is the share of messages whose own template comes first.
	Self float64 `json:"self_at_1"`
	// TypePrecision is precision@10 by error class (the class a message
	// leads with, as make eval's similar-error score counts it), over the
	// messages that lead with one.
	TypePrecision float64 `json:"type_precision_at_10"`
	Messages      int     `json:"messages"`
}

// Report is a whole run.
type Report struct {
	Documents int             `json:"documents"`
	Templates int             `json:"templates"`
	Queries   int             `json:"queries"`
	Loghub    bool            `json:"loghub"`
	Model     string          `json:"embedding_model"`
	Rankings  []RankingResult `json:"rankings"`
	Pasted    []PasteResult   `json:"pasted"`
}

// Run writes the corpus through the collector's embedding processor and
// clickhouse_vector exporter into Database, then asks the MCP server's
// find_similar_errors every query under every ranking (k = 10, cut-off
// off, so the rankings are compared whole) and scores the answers.
func Run(ctx context.Context, o Options) (*Report, error) {
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	docs, err := ShopDocs()
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	lh, err := LoghubDocs(o.LoghubDir)
	switch {
	case o.ShopOnly:
	case err == nil:
		docs = append(docs, lh...)
		rep.Loghub = true
	case errors.Is(err, ErrNoLoghub):
		fmt.Fprintf(progress, "  %v: scoring the shop's queries only\n", err)
	default:
		return nil, err
	}
	queries, err := Queries()
	if err != nil {
		return nil, err
	}
	ids := map[string]bool{}
	for _, d := range docs {
		ids[d.ID] = true
	}
	// Only queries whose answers are all in the store.
	queries = slices.DeleteFunc(queries, func(q Query) bool {
		return slices.ContainsFunc(q.Relevant, func(id string) bool { return !ids[id] })
	})
	rep.Documents, rep.Queries = len(docs), len(queries)
	fmt.Fprintf(progress, "  writing %d documents through the embedding pipeline into %s…\n", len(docs), o.Database)
	if err := writeDocs(ctx, o, docs); err != nil {
		return nil, err
	}
	docsOf, err := templateDocs(ctx, o, docs)
	if err != nil {
		return nil, err
	}
	rep.Templates = len(docsOf)
	srv, cs, err := connect(ctx, o)
	if err != nil {
		return nil, err
	}
	defer srv.Close()
	defer cs.Close()
	rep.Model = o.Embedder.Model
	if rep.Model == "" {
		rep.Model = embed.NewHash(o.Embedder.Dims).Model()
	}
	for _, ranking := range o.Rankings {
		name := ranking
		if name == "" {
			name = "default"
		}
		fmt.Fprintf(progress, "  ranking %s: %d queries…\n", name, len(queries))
		rr := RankingResult{Ranking: name, ByKind: map[string]Scores{}}
		byKind := map[string][]Scores{}
		var all []Scores
		var lat []float64
		for _, q := range queries {
			args := map[string]any{"text": q.Text, "k": 10, "window": "30d"}
			if ranking != "" {
				args["ranking"] = ranking
			}
			t0 := time.Now()
			out, err := findSimilar(ctx, cs, args)
			if err != nil {
				return nil, fmt.Errorf("query %s (%s): %w", q.ID, name, err)
			}
			lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
			qr := QueryResult{ID: q.ID, Kind: q.Kind, Text: q.Text, LowConfidence: out.LowConfidence}
			rel := map[string]bool{}
			for _, id := range q.Relevant {
				rel[id] = true
			}
			for _, ds := range docsOf {
				if slices.ContainsFunc(ds, func(id string) bool { return rel[id] }) {
					qr.Answers++
				}
			}
			var hits []bool
			for _, h := range out.Hits {
				ds := docsOf[h.TemplateHash]
				qr.Hits = append(qr.Hits, strings.Join(ds, "|"))
				hits = append(hits, slices.ContainsFunc(ds, func(id string) bool { return rel[id] }))
			}
			qr.Scores = Score(hits, qr.Answers)
			rr.Queries = append(rr.Queries, qr)
			byKind[q.Kind] = append(byKind[q.Kind], qr.Scores)
			all = append(all, qr.Scores)
		}
		rr.Mean = Mean(all)
		for k, ss := range byKind {
			rr.ByKind[k] = Mean(ss)
		}
		slices.Sort(lat)
		rr.Latency = map[string]float64{"p50": percentile(lat, 0.5), "p95": percentile(lat, 0.95)}
		rep.Rankings = append(rep.Rankings, rr)
	}
	shop, err := ShopDocs()
	if err != nil {
		return nil, err
	}
	for _, ranking := range o.Rankings {
		fmt.Fprintf(progress, "  ranking %s: %d pasted messages…\n", cmpOr(ranking, "default"), len(shop))
		pr, err := scorePasted(ctx, cs, ranking, shop, docsOf, docs)
		if err != nil {
			return nil, err
		}
		rep.Pasted = append(rep.Pasted, pr)
	}
	return rep, nil
}

func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// errorClassRE is the class a message leads with, as demo.ErrorType reads
// it for make eval's similar-error score.
var errorClassRE = regexp.MustCompile(`^\s*(?:\[[^\]]*\]\s*)?([A-Za-z_][A-Za-z0-9_.$]*(?:Error|Exception|Failure|Fault|Panic|Timeout))\b`)

func errorClass(s string) string {
	if m := errorClassRE.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func scorePasted(ctx context.Context, cs *sdk.ClientSession, ranking string, shop []Doc, docsOf map[string][]string, all []Doc) (PasteResult, error) {
	pr := PasteResult{Ranking: cmpOr(ranking, "default"), Messages: len(shop)}
	body := map[string]string{}
	for _, d := range all {
		body[d.ID] = d.Body
	}
	typed := 0
	for _, d := range shop {
		args := map[string]any{"text": d.Body, "k": 10, "window": "30d"}
		if ranking != "" {
			args["ranking"] = ranking
		}
		out, err := findSimilar(ctx, cs, args)
		if err != nil {
			return pr, fmt.Errorf("pasted %s (%s): %w", d.ID, pr.Ranking, err)
		}
		if len(out.Hits) > 0 && slices.Contains(docsOf[out.Hits[0].TemplateHash], d.ID) {
			pr.Self++
		}
		class := errorClass(d.Body)
		if class == "" {
			continue
		}
		typed++
		same := 0
		for _, h := range out.Hits {
			if ds := docsOf[h.TemplateHash]; len(ds) > 0 && errorClass(body[ds[0]]) == class {
				same++
			}
		}
		if len(out.Hits) > 0 {
			pr.TypePrecision += float64(same) / float64(len(out.Hits))
		}
	}
	pr.Self /= float64(len(shop))
	if typed > 0 {
		pr.TypePrecision /= float64(typed)
	}
	return pr, nil
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[i]
}

type similarAnswer struct {
	Hits []struct {
		TemplateHash string `json:"template_hash"`
	} `json:"hits"`
	LowConfidence bool `json:"low_confidence"`
}

func findSimilar(ctx context.Context, cs *sdk.ClientSession, args map[string]any) (similarAnswer, error) {
	var out similarAnswer
	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: mcp.ToolFindSimilarErrors, Arguments: args})
	if err != nil {
		return out, err
	}
	if res.IsError {
		var msg strings.Builder
		for _, c := range res.Content {
			if tc, ok := c.(*sdk.TextContent); ok {
				msg.WriteString(tc.Text)
			}
		}
		return out, errors.New(msg.String())
	}
	b, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(b, &out)
}

// connect starts an MCP server on the database and a client session to it.
func connect(ctx context.Context, o Options) (*mcp.Server, *sdk.ClientSession, error) {
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return nil, nil, err
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil {
		return nil, nil, fmt.Errorf("endpoint %s has no port: %w", o.Endpoint, err)
	}
	cfg := mcp.DefaultConfig()
	cfg.ClickHouse.Host = u.Hostname()
	cfg.ClickHouse.Port = port
	cfg.ClickHouse.Database = o.Database
	// The engines Run is pointed at (the test engine, RunStandalone's)
	// have the "default" user of a fresh server.
	cfg.ClickHouse.User, cfg.ClickHouse.Password = "default", ""
	cfg.Embedder = o.Embedder
	srv, err := mcp.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if err := srv.Check(ctx); err != nil {
		srv.Close()
		return nil, nil, err
	}
	ct, st := sdk.NewInMemoryTransports()
	if _, err := srv.MCP().Connect(ctx, st, nil); err != nil {
		srv.Close()
		return nil, nil, err
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "searcheval", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, cs, nil
}

// writeDocs sends every document as an ERROR log of its service through the
// embedding processor into the clickhouse_vector exporter, as the
// collector's logs/vector pipeline does.
func writeDocs(ctx context.Context, o Options, docs []Doc) error {
	vf := clickhousevectorexporter.NewFactory()
	vcfg := vf.CreateDefaultConfig().(*clickhousevectorexporter.Config)
	vcfg.Endpoint = o.Endpoint
	vcfg.Database = o.Database
	vcfg.Embedder = o.Embedder
	vcfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	vcfg.StatsFlushInterval = 0
	exp, err := vf.CreateLogs(ctx, exportertest.NewNopSettings(vf.Type()), vcfg)
	if err != nil {
		return fmt.Errorf("clickhouse_vector exporter: %w", err)
	}
	pf := embeddingprocessor.NewFactory()
	pcfg := pf.CreateDefaultConfig().(*embeddingprocessor.Config)
	pcfg.Embedder = o.Embedder
	sink := new(consumertest.LogsSink)
	proc, err := pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pcfg, sink)
	if err != nil {
		return fmt.Errorf("embedding processor: %w", err)
	}
	host := componenttest.NewNopHost()
	for _, c := range []component.Component{exp, proc} {
		if err := c.Start(ctx, host); err != nil {
			return err
		}
	}
	defer func() {
		_ = proc.Shutdown(context.WithoutCancel(ctx))
		_ = exp.Shutdown(context.WithoutCancel(ctx))
	}()
	at := time.Now().Add(-2 * time.Hour)
	for start := 0; start < len(docs); start += 200 {
		ld := plog.NewLogs()
		bySvc := map[string]plog.LogRecordSlice{}
		for i, d := range docs[start:min(start+200, len(docs))] {
			lrs, ok := bySvc[d.Service]
			if !ok {
				rl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().Attributes().PutStr("service.name", d.Service)
				lrs = rl.ScopeLogs().AppendEmpty().LogRecords()
				bySvc[d.Service] = lrs
			}
			lr := lrs.AppendEmpty()
			ts := pcommon.NewTimestampFromTime(at.Add(time.Duration(start+i) * time.Second))
			lr.SetTimestamp(ts)
			lr.SetObservedTimestamp(ts)
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.SetTraceID(traceID(d.ID))
			lr.Body().SetStr(d.Body)
		}
		sink.Reset()
		if err := proc.ConsumeLogs(ctx, ld); err != nil {
			return err
		}
		for _, out := range sink.AllLogs() {
			if out.LogRecordCount() > 0 {
				if err := exp.ConsumeLogs(ctx, out); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// traceID gives every document a trace id of its own, so its occurrence
// row can be found again.
func traceID(id string) pcommon.TraceID {
	h := fnv.New128a()
	_, _ = h.Write([]byte(id))
	var t pcommon.TraceID
	copy(t[:], h.Sum(nil))
	if binary.BigEndian.Uint64(t[:8]) == 0 {
		t[0] = 1
	}
	return t
}

// templateDocs maps each stored template (by hash, as the tool reports it)
// to the documents written as it.
func templateDocs(ctx context.Context, o Options, docs []Doc) (map[string][]string, error) {
	byTrace := map[string]string{}
	for _, d := range docs {
		byTrace[traceID(d.ID).String()] = d.ID
	}
	u, err := url.Parse(o.Endpoint)
	if err != nil {
		return nil, err
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{u.Host}, Protocol: clickhouse.HTTP, Auth: clickhouse.Auth{Database: o.Database}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// A template that generalised into another (the template miner) is
	// answered as the one it became.
	rows, err := conn.Query(ctx, `SELECT DISTINCT l.TraceId, toString(if(a.canonical_hash = 0, l.template_hash, a.canonical_hash))
		FROM logs_with_embeddings AS l LEFT JOIN log_template_canonical AS a ON a.template_hash = l.template_hash`)
	if err != nil {
		return nil, fmt.Errorf("read the documents' templates: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var tid, hash string
		if err := rows.Scan(&tid, &hash); err != nil {
			return nil, err
		}
		if id, ok := byTrace[tid]; ok {
			out[hash] = append(out[hash], id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no document reached logs_with_embeddings: the pipeline dropped them")
	}
	for _, ds := range out {
		slices.Sort(ds)
	}
	return out, nil
}
