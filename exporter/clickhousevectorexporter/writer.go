package clickhousevectorexporter

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper/xexporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/occenc"
	"github.com/otelcol-agentic/otelcol-agentic/internal/clip"
	"github.com/otelcol-agentic/otelcol-agentic/internal/embed"
	"github.com/otelcol-agentic/otelcol-agentic/internal/insertdedup"
	"github.com/otelcol-agentic/otelcol-agentic/internal/logtemplate"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
	"github.com/otelcol-agentic/otelcol-agentic/schema"
)

type writer struct {
	cfg    *Config
	logger *zap.Logger
	// logs is set on the logs writer: only it seeds and matches error
	// patterns (the traces writer of the same config would race it).
	logs bool
	conn driver.Conn
	db   string

	mu        sync.Mutex
	templates map[uint64]struct{} // templates already stored with a vector
	// aliases are the re-pointings already stored (old hash -> canonical),
	// so that a template's batches do not write its aliases again.
	aliases  map[uint64]uint64
	patterns []*pattern

	stopStats chan struct{}
	statsDone chan struct{}
}

// pattern is a known error pattern (root cause and resolution), held in
// memory to match incoming errors against: catalogues hold tens to
// thousands of patterns, far fewer than errors arrive.
type pattern struct {
	id         uuid.UUID
	createdAt  time.Time
	signature  string
	message    string
	service    string
	rootCause  string
	resolution string
	count      uint32
	lastSeen   time.Time
	traceIDs   []string
	vec        []float32
	model      string
	pending    patternDelta // counted, not yet written
}

const maxRelatedTraces = 50

func (w *writer) dims() int { return w.cfg.Embedder.Dims }

func newWriter(cfg *Config, logger *zap.Logger) *writer {
	return &writer{cfg: cfg, logger: logger, db: cfg.Database, templates: map[uint64]struct{}{}, aliases: map[uint64]uint64{}}
}

func (w *writer) start(ctx context.Context, _ component.Host) error {
	u, err := url.Parse(w.cfg.Endpoint)
	if err != nil {
		return err
	}
	opts := &clickhouse.Options{
		Addr:        []string{u.Host},
		Protocol:    clickhouse.HTTP,
		Auth:        clickhouse.Auth{Database: w.db, Username: w.cfg.Username, Password: string(w.cfg.Password)},
		Compression: &clickhouse.Compression{Method: w.cfg.compression(u.Hostname())},
		DialTimeout: w.cfg.DialTimeout,
	}
	if u.Scheme == "https" {
		tlsCfg, err := w.cfg.TLS.LoadTLSConfig(ctx)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		opts.TLS = tlsCfg
	}
	// The dial timeout bounds each ping, not the migrations between them
	// (which on a busy machine take longer than a connection should).
	ping := func(conn driver.Conn) error {
		pingCtx, cancel := context.WithTimeout(ctx, w.cfg.DialTimeout)
		defer cancel()
		return conn.Ping(pingCtx)
	}
	if w.cfg.CreateSchema {
		// The database may not exist yet: create the schema through a
		// connection that names none.
		boot := *opts
		boot.Auth.Database = ""
		conn, err := clickhouse.Open(&boot)
		if err != nil {
			return fmt.Errorf("open ClickHouse at %s: %w", u.Host, err)
		}
		if err := ping(conn); err != nil {
			_ = conn.Close()
			return fmt.Errorf("reach ClickHouse at %s: %w (is the chdb extension or the server running?)", u.Host, err)
		}
		_, err = schema.Apply(ctx, executor(conn), schema.Options{Database: w.db, Dims: w.dims(), Cluster: w.cfg.ClusterName, Sharded: w.cfg.Sharded, TTL: w.cfg.TTL, Retention: w.cfg.Retention})
		_ = conn.Close()
		if err != nil {
			return fmt.Errorf("create the vector tables: %w", err)
		}
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return fmt.Errorf("open ClickHouse at %s: %w", u.Host, err)
	}
	w.conn = conn
	if err := ping(conn); err != nil {
		return fmt.Errorf("reach ClickHouse at %s: %w (is the chdb extension or the server running? does database %s exist?)", u.Host, err, w.db)
	}
	ex := executor(conn)
	for _, table := range []string{"log_templates", "traces_with_embeddings", "error_patterns"} {
		dims, err := schema.VectorDims(ctx, ex, w.db, table)
		if err != nil {
			return fmt.Errorf("read the vector dimension of %s.%s: %w", w.db, table, err)
		}
		if dims != w.dims() {
			return fmt.Errorf("%s.%s holds %d-dim vectors but this exporter is configured for %d: set dims (here and in the embedding processor's embedder) to %d, or drop the vector tables so they are recreated with %d",
				w.db, table, dims, w.dims(), dims, w.dims())
		}
	}
	if !w.logs {
		return nil
	}
	if err := w.loadTemplates(ctx); err != nil {
		return err
	}
	if w.cfg.SeedPatterns {
		if err := w.seedPatterns(ctx); err != nil {
			return err
		}
	}
	if err := w.loadPatterns(ctx); err != nil {
		return err
	}
	if w.cfg.StatsFlushInterval > 0 {
		w.stopStats, w.statsDone = make(chan struct{}), make(chan struct{})
		go w.runStatsFlusher(w.cfg.StatsFlushInterval, w.stopStats, w.statsDone)
	}
	return nil
}

// seedPatterns inserts the catalogue's patterns that the table lacks, each
// embedded from its message's template, as incoming errors are.
func (w *writer) seedPatterns(ctx context.Context) error {
	catalogue, err := schema.Patterns()
	if err != nil {
		return err
	}
	have := map[string]bool{}
	rows, err := w.conn.Query(ctx, "SELECT DISTINCT error_signature FROM error_patterns")
	if err != nil {
		return fmt.Errorf("read error pattern signatures: %w", err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		have[s] = true
	}
	rows.Close()
	var missing []schema.Pattern
	var texts []string
	for _, p := range catalogue {
		if !have[p.Signature] {
			missing = append(missing, p)
			texts = append(texts, logtemplate.Normalize(p.Message).Template)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	e, err := embed.New(w.cfg.Embedder)
	if err != nil {
		return err
	}
	vecs, err := e.Embed(ctx, texts)
	if err != nil {
		// Seeding is a convenience; an embedding outage must not stop export.
		w.logger.Warn("Could not embed the seed error patterns; they will be seeded at the next start", zap.Error(err))
		return nil
	}
	batch, err := w.conn.PrepareBatch(ctx, `INSERT INTO error_patterns (error_signature, error_message, service_name, root_cause, resolution,
		occurrence_count, last_seen, related_trace_ids, embedding, embedding_model)`)
	if err != nil {
		return fmt.Errorf("prepare error pattern seed: %w", err)
	}
	epoch := time.Unix(0, 0).UTC()
	for i, p := range missing {
		if err := batch.Append(p.Signature, p.Message, p.Service, p.RootCause, p.Resolution, uint32(0), epoch, []string{}, vecs[i], e.Model()); err != nil {
			return err
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("seed %d error patterns: %w", len(missing), err)
	}
	w.logger.Info("Seeded known error patterns", zap.Int("patterns", len(missing)))
	return nil
}

func (w *writer) shutdown(ctx context.Context) error {
	if w.conn == nil {
		return nil
	}
	if w.stopStats != nil {
		close(w.stopStats)
		<-w.statsDone
		w.stopStats = nil
	}
	if w.logs {
		if err := w.flushCounts(ctx); err != nil {
			w.logger.Warn("Could not write the last counts of known error patterns", zap.Error(err))
		}
	}
	return w.conn.Close()
}

func (w *writer) loadTemplates(ctx context.Context) error {
	rows, err := w.conn.Query(ctx, "SELECT DISTINCT template_hash FROM log_templates")
	if err != nil {
		return fmt.Errorf("load known templates: %w", err)
	}
	defer rows.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	for rows.Next() {
		var h uint64
		if err := rows.Scan(&h); err != nil {
			return err
		}
		w.templates[h] = struct{}{}
	}
	return rows.Err()
}

func (w *writer) loadPatterns(ctx context.Context) error {
	rows, err := w.conn.Query(ctx, `SELECT pattern_id, created_at, error_signature, error_message, service_name, root_cause, resolution,
		occurrence_count, last_seen, related_trace_ids, embedding, embedding_model FROM error_patterns FINAL`)
	if err != nil {
		return fmt.Errorf("load error patterns: %w", err)
	}
	defer rows.Close()
	var ps []*pattern
	for rows.Next() {
		p := &pattern{}
		if err := rows.Scan(&p.id, &p.createdAt, &p.signature, &p.message, &p.service, &p.rootCause, &p.resolution,
			&p.count, &p.lastSeen, &p.traceIDs, &p.vec, &p.model); err != nil {
			return err
		}
		ps = append(ps, p)
	}
	w.mu.Lock()
	w.patterns = ps
	w.mu.Unlock()
	return rows.Err()
}

// occurrence is one embedded error log: the row the queue encodes
// (occenc) is the row the exporter inserts, with no copy between them.
type occurrence = occenc.Row

// pushLogs stores a batch of logs: the browser-session records and the
// error occurrences the embedding processor templated.
func (w *writer) pushLogs(ctx context.Context, ld plog.Logs) error {
	r, err := w.logsRequestFrom(ctx, ld)
	if err != nil {
		return err
	}
	return w.pushLogsRequest(ctx, r)
}

func (w *writer) pushLogsRequest(ctx context.Context, req xexporterhelper.Request) error {
	r, ok := req.(*logsRequest)
	if !ok {
		return consumererror.NewPermanent(fmt.Errorf("cannot export %T as logs", req))
	}
	if r.nSession > 0 {
		if err := w.pushSessionLogs(ctx, r.sessions); err != nil {
			return err
		}
	}
	return w.pushOccurrences(ctx, r.occ)
}

func (w *writer) pushOccurrences(ctx context.Context, occ []occurrence) error {
	if len(occ) == 0 {
		return nil
	}
	if err := w.insertNewTemplates(ctx, occ); err != nil {
		return err
	}
	// The re-pointings before the occurrences under the new hashes: once
	// an occurrence is stored, so is what makes readers count the older
	// hashes' as its template's.
	if err := w.insertAliases(ctx, occ); err != nil {
		return err
	}
	if err := w.insertOccurrences(ctx, occ); err != nil {
		return err
	}
	w.countPatterns(occ)
	if w.cfg.StatsFlushInterval <= 0 {
		// Stored occurrences must not be sent again: a failed write of the
		// counts leaves them pending for the next batch instead of failing
		// this one.
		// Under a context of its own: the batch's carries the batch's
		// deduplication token, which is not the pattern rows'.
		fctx, cancel := context.WithTimeout(context.Background(), statsFlushTimeout)
		defer cancel()
		if err := w.flushCounts(fctx); err != nil {
			w.logger.Warn("Could not write the known error patterns' counts; will retry with the next batch", zap.Error(err))
		}
	}
	return nil
}

func (w *writer) insertNewTemplates(ctx context.Context, occ []occurrence) error {
	w.mu.Lock()
	fresh := map[uint64]occurrence{}
	for _, o := range occ {
		if o.Vec == nil {
			continue
		}
		if _, known := w.templates[o.Hash]; known {
			continue
		}
		if prev, ok := fresh[o.Hash]; !ok || o.TS.Before(prev.TS) {
			fresh[o.Hash] = o
		}
	}
	w.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO log_templates (template_hash, template, service_name, severity_text, example_body, first_seen, embedding, embedding_model)")
	if err != nil {
		return fmt.Errorf("prepare template insert: %w", err)
	}
	for _, o := range fresh {
		if err := batch.Append(o.Hash, o.Template, o.Service, o.Severity, clip.String(o.Body, 4096), o.TS, o.Vec, o.Model); err != nil {
			return consumererror.NewPermanent(fmt.Errorf("template row: %w", err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d template rows: %w", len(fresh), err)
	}
	w.mu.Lock()
	for h := range fresh {
		w.templates[h] = struct{}{}
	}
	w.mu.Unlock()
	return nil
}

// maxKnownAliases bounds the re-pointings the writer remembers as stored;
// past it the memory is cleared (writing one again is harmless).
const maxKnownAliases = 1 << 20

// insertAliases stores the re-pointings the batch's records carry
// (vecattr.TemplateReplaces) that this writer has not stored yet, with the
// time the embedding processor found them, so that a later re-pointing of
// the same hash wins (log_template_canonical takes the latest).
func (w *writer) insertAliases(ctx context.Context, occ []occurrence) error {
	type row struct {
		old, canonical uint64
		at             time.Time
	}
	var rows []row
	w.mu.Lock()
	done := map[uint64]bool{}
	for i := range occ {
		o := &occ[i]
		if len(o.Replaces) == 0 || done[o.Hash] {
			continue
		}
		done[o.Hash] = true
		for _, old := range o.Replaces {
			if c, ok := w.aliases[old]; old != o.Hash && (!ok || c != o.Hash) {
				rows = append(rows, row{old, o.Hash, o.ReplacedAt})
			}
		}
	}
	w.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	// Without the delivery's deduplication token: the re-pointings of a
	// delivery sent again are what the miner says then, and storing one
	// twice is harmless.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{}))
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO log_template_aliases (template_hash, canonical_hash, updated)")
	if err != nil {
		return fmt.Errorf("prepare template alias insert: %w", err)
	}
	for _, r := range rows {
		if err := batch.Append(r.old, r.canonical, r.at); err != nil {
			_ = batch.Abort()
			return consumererror.NewPermanent(fmt.Errorf("template alias row: %w", err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d template aliases: %w", len(rows), err)
	}
	w.mu.Lock()
	if len(w.aliases)+len(rows) > maxKnownAliases {
		clear(w.aliases)
	}
	for _, r := range rows {
		w.aliases[r.old] = r.canonical
	}
	w.mu.Unlock()
	return nil
}

// occurrenceInsert names the input table's columns and their types, so that
// clickhouse-go need not ask for them (a DESCRIBE TABLE round trip) before
// every insert.
var occurrenceInsert = clickhouse.WithColumnNamesAndTypes([]clickhouse.ColumnNameAndType{
	{Name: "Timestamp", Type: "DateTime64(9)"},
	{Name: "TraceId", Type: "String"},
	{Name: "SpanId", Type: "String"},
	{Name: "SeverityText", Type: "String"},
	{Name: "ServiceName", Type: "String"},
	{Name: "Body", Type: "String"},
	{Name: "template", Type: "String"},
	{Name: "template_hash", Type: "UInt64"},
	{Name: "embedding_model", Type: "String"},
})

// occurrenceColumns holds an insert's columns; reused across inserts
// through occurrenceColumnsPool.
type occurrenceColumns struct {
	ts                                  []time.Time
	hashes                              []uint64
	trace, span, sev, svc, body, tpl, m []string
}

var occurrenceColumnsPool = sync.Pool{New: func() any { return new(occurrenceColumns) }}

func (w *writer) insertOccurrences(ctx context.Context, occ []occurrence) error {
	batch, err := w.conn.PrepareBatch(clickhouse.Context(ctx, occurrenceInsert), "INSERT INTO logs_with_embeddings_in (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model)")
	if err != nil {
		return fmt.Errorf("prepare occurrence insert: %w", err)
	}
	// Column by column: errors arrive by the ten thousand a second, and
	// whole columns skip the driver's per-row type switch.
	c := occurrenceColumnsPool.Get().(*occurrenceColumns)
	defer func() {
		// The strings go with the batch; the slices stay for the next.
		for _, col := range [][]string{c.trace, c.span, c.sev, c.svc, c.body, c.tpl, c.m} {
			clear(col)
		}
		occurrenceColumnsPool.Put(c)
	}()
	n := len(occ)
	c.ts, c.hashes = slices.Grow(c.ts[:0], n)[:n], slices.Grow(c.hashes[:0], n)[:n]
	for _, col := range []*[]string{&c.trace, &c.span, &c.sev, &c.svc, &c.body, &c.tpl, &c.m} {
		*col = slices.Grow((*col)[:0], n)[:n]
	}
	for i := range occ {
		o := &occ[i]
		c.ts[i], c.trace[i], c.span[i], c.sev[i], c.svc[i], c.body[i], c.tpl[i], c.hashes[i], c.m[i] = o.TS, o.TraceID, o.SpanID, o.Severity, o.Service, o.Body, o.Template, o.Hash, o.Model
	}
	for i, col := range []any{c.ts, c.trace, c.span, c.sev, c.svc, c.body, c.tpl, c.hashes, c.m} {
		if err := batch.Column(i).Append(col); err != nil {
			_ = batch.Abort()
			return consumererror.NewPermanent(fmt.Errorf("occurrence column %d: %w", i, err))
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d error occurrences: %w", len(occ), err)
	}
	return nil
}

// countPatterns counts the batch's errors against the known patterns they
// match closely. The counts are pending until flushPatterns writes them,
// with the template statistics: a pattern row carries its vector, and a
// row version per batch would cost an insert (and an index build) per
// batch for a handful of counters.
func (w *writer) countPatterns(occ []occurrence) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.patterns) == 0 {
		return
	}
	byTemplate := map[uint64]*pattern{}
	for i := range occ {
		o := &occ[i]
		if o.Vec == nil {
			continue
		}
		p, seen := byTemplate[o.Hash]
		if !seen {
			p = w.nearestPattern(*o)
			byTemplate[o.Hash] = p
		}
		if p == nil {
			continue
		}
		p.pending.add(1, o.TS, o.TraceID)
	}
}

// patternDelta is what a pattern gained since its stored row.
type patternDelta struct {
	count    uint32
	lastSeen time.Time
	traceIDs []string
}

func (d *patternDelta) add(n uint32, ts time.Time, traceIDs ...string) {
	d.count += n
	if ts.After(d.lastSeen) {
		d.lastSeen = ts
	}
	for _, id := range traceIDs {
		if id != "" && !contains(d.traceIDs, id) {
			d.traceIDs = append(d.traceIDs, id)
			if len(d.traceIDs) > maxRelatedTraces {
				d.traceIDs = d.traceIDs[len(d.traceIDs)-maxRelatedTraces:]
			}
		}
	}
}

// flushPatterns writes the patterns with pending counts as new row
// versions; on failure the counts stay pending.
func (w *writer) flushPatterns(ctx context.Context) error {
	type update struct {
		p     *pattern
		taken patternDelta
		row   pattern
	}
	var updates []update
	w.mu.Lock()
	for _, p := range w.patterns {
		if p.pending.count == 0 {
			continue
		}
		row := *p
		row.count += p.pending.count
		if p.pending.lastSeen.After(row.lastSeen) {
			row.lastSeen = p.pending.lastSeen
		}
		d := patternDelta{traceIDs: append([]string(nil), p.traceIDs...)}
		d.add(0, time.Time{}, p.pending.traceIDs...)
		row.traceIDs = d.traceIDs
		updates = append(updates, update{p: p, taken: p.pending, row: row})
		p.pending = patternDelta{}
	}
	w.mu.Unlock()
	if len(updates) == 0 {
		return nil
	}
	rows := make([]*pattern, len(updates))
	for i := range updates {
		rows[i] = &updates[i].row
	}
	err := w.insertPatternRows(ctx, rows)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, u := range updates {
		if err != nil {
			// Back in front of what arrived meanwhile.
			u.taken.add(u.p.pending.count, u.p.pending.lastSeen, u.p.pending.traceIDs...)
			u.p.pending = u.taken
			continue
		}
		// Only once stored do the new counts become the base.
		u.p.count, u.p.lastSeen, u.p.traceIDs = u.row.count, u.row.lastSeen, u.row.traceIDs
	}
	return err
}

func (w *writer) insertPatternRows(ctx context.Context, rows []*pattern) error {
	batch, err := w.conn.PrepareBatch(ctx, `INSERT INTO error_patterns (pattern_id, created_at, error_signature, error_message, service_name,
		root_cause, resolution, occurrence_count, last_seen, related_trace_ids, embedding, embedding_model)`)
	if err != nil {
		return fmt.Errorf("prepare pattern update: %w", err)
	}
	for _, u := range rows {
		if err := batch.Append(u.id, u.createdAt, u.signature, u.message, u.service, u.rootCause, u.resolution,
			u.count, u.lastSeen, u.traceIDs, u.vec, u.model); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("pattern row: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("update %d error patterns: %w", len(rows), err)
	}
	return nil
}

// nearestPattern returns the closest pattern within the match distance,
// preferring the error's own service. Caller holds w.mu.
func (w *writer) nearestPattern(o occurrence) *pattern {
	var best *pattern
	bestD := math.Inf(1)
	for _, p := range w.patterns {
		if len(p.vec) != len(o.Vec) {
			continue
		}
		d := cosineDistance(p.vec, o.Vec)
		if p.service != "" && p.service != o.Service {
			d += 0.05
		}
		if d < bestD {
			best, bestD = p, d
		}
	}
	if bestD > w.cfg.PatternMatchDistance {
		return nil
	}
	return best
}

func (w *writer) pushTraces(ctx context.Context, td ptrace.Traces) error {
	if err := w.pushSessionTraces(ctx, td); err != nil {
		return err
	}
	// Building the HNSW index on every insert costs far more than the insert
	// (hundreds of rows/s); parts get their index when merged, and queries
	// over parts without one fall back to exact distances.
	// WithSettings replaces the context's settings: the delivery's
	// deduplication token, if any, goes with ours.
	ctx = clickhouse.Context(ctx, clickhouse.WithSettings(insertdedup.Settings(ctx, clickhouse.Settings{"materialize_skip_indexes_on_insert": 0})))
	if !hasTraceSummaries(td) {
		// Browser spans for sessions arrive here too, without summaries.
		return nil
	}
	batch, err := w.conn.PrepareBatch(ctx, `INSERT INTO traces_with_embeddings (TraceId, Timestamp, ServiceName, root_operation, span_sequence,
		total_duration, span_count, error_count, embedding, embedding_model, anomaly_score, is_anomaly, anomaly_type)`)
	if err != nil {
		return fmt.Errorf("prepare trace insert: %w", err)
	}
	n := 0
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		rs := td.ResourceSpans().At(i)
		service := serviceName(rs.Resource())
		for j := 0; j < rs.ScopeSpans().Len(); j++ {
			spans := rs.ScopeSpans().At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				attrs := sp.Attributes()
				seq, ok := attrs.Get(vecattr.SpanSequence)
				if !ok {
					continue
				}
				vec := embed.EmptyVector(w.dims())
				model := ""
				if v, ok := attrs.Get(vecattr.Vector); ok {
					if d, err := vecattr.Decode(v.Bytes().AsRaw()); err == nil && len(d) == w.dims() {
						vec = d
					}
				}
				if m, ok := attrs.Get(vecattr.Model); ok {
					model = m.Str()
				}
				if err := batch.Append(
					sp.TraceID().String(), sp.StartTimestamp().AsTime(), service, attrStr(attrs, vecattr.RootOperation), seq.Str(),
					attrInt(attrs, vecattr.TotalDuration), uint32(attrInt(attrs, vecattr.SpanCount)), uint32(attrInt(attrs, vecattr.ErrorCount)),
					vec, model, float32(attrDouble(attrs, vecattr.AnomalyScore)), boolToUInt8(attrBool(attrs, vecattr.IsAnomaly)),
					attrStr(attrs, vecattr.AnomalyType),
				); err != nil {
					return consumererror.NewPermanent(fmt.Errorf("trace row: %w", err))
				}
				n++
			}
		}
	}
	if n == 0 {
		return batch.Abort()
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("insert %d trace summaries: %w", n, err)
	}
	return nil
}

func hasTraceSummaries(td ptrace.Traces) bool {
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		ss := td.ResourceSpans().At(i).ScopeSpans()
		for j := 0; j < ss.Len(); j++ {
			spans := ss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				if _, ok := spans.At(k).Attributes().Get(vecattr.SpanSequence); ok {
					return true
				}
			}
		}
	}
	return false
}

// executor runs schema statements and checks through a connection.
func executor(conn driver.Conn) schema.Executor { return schema.ClientExecutor[driver.Rows](conn) }

func serviceName(r pcommon.Resource) string {
	if v, ok := r.Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}

func logTime(lr plog.LogRecord) time.Time {
	if ts := lr.Timestamp(); ts != 0 {
		return ts.AsTime()
	}
	if ts := lr.ObservedTimestamp(); ts != 0 {
		return ts.AsTime()
	}
	return time.Now()
}

func traceIDString(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func spanIDString(id pcommon.SpanID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func attrStr(m pcommon.Map, k string) string {
	if v, ok := m.Get(k); ok {
		return v.AsString()
	}
	return ""
}

func attrInt(m pcommon.Map, k string) int64 {
	if v, ok := m.Get(k); ok {
		return v.Int()
	}
	return 0
}

func attrDouble(m pcommon.Map, k string) float64 {
	if v, ok := m.Get(k); ok {
		return v.Double()
	}
	return 0
}

func attrBool(m pcommon.Map, k string) bool {
	if v, ok := m.Get(k); ok {
		return v.Bool()
	}
	return false
}

func boolToUInt8(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cosineDistance(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	if na == 0 || nb == 0 {
		return 1
	}
	return 1 - dot/math.Sqrt(na*nb)
}
