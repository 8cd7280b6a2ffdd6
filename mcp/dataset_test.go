package mcp

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/clickhouseexporter"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter"
	"github.com/otelcol-agentic/otelcol-agentic/internal/chdbtest"
	"github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
)

// The test datasets are telemetry of the sample shop written the way the
// collector writes it: the contrib clickhouse exporter for otel_logs,
// otel_traces and otel_metrics_*, and the embedding processor followed by
// the clickhouse_vector exporter for the vector tables. Each scenario has
// its own database.

// pipeline is the collector's exporters and the embedding processor,
// pointed at one database of the test engine.
type pipeline struct {
	raw struct {
		logs     exporter.Logs
		sessions exporter.Logs // clickhouse/sessions: replay events into hyperdx_sessions
		traces   exporter.Traces
		metrics  exporter.Metrics
	}
	vec struct {
		logs   exporter.Logs
		traces exporter.Traces
	}
	embedLogs   processor.Logs
	embedTraces processor.Traces
	logSink     *consumertest.LogsSink
	traceSink   *consumertest.TracesSink
}

func newPipeline(t testing.TB, db string) *pipeline {
	ctx := context.Background()
	endpoint := chdbtest.HTTP(t).URL
	p := &pipeline{logSink: new(consumertest.LogsSink), traceSink: new(consumertest.TracesSink)}

	// The vector exporter applies the schema migrations (otel_logs,
	// otel_traces, vector tables) and seeds the error pattern catalogue.
	vf := clickhousevectorexporter.NewFactory()
	vcfg := vf.CreateDefaultConfig().(*clickhousevectorexporter.Config)
	vcfg.Endpoint = endpoint
	vcfg.Database = db
	vcfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	vcfg.StatsFlushInterval = 0 // the tools read the counts right after loading
	var err error
	p.vec.logs, err = vf.CreateLogs(ctx, exportertest.NewNopSettings(vf.Type()), vcfg)
	require.NoError(t, err)
	p.vec.traces, err = vf.CreateTraces(ctx, exportertest.NewNopSettings(vf.Type()), vcfg)
	require.NoError(t, err)
	start(t, p.vec.logs, p.vec.traces)

	cf := clickhouseexporter.NewFactory()
	ccfg := cf.CreateDefaultConfig().(*clickhouseexporter.Config)
	ccfg.Endpoint = endpoint
	ccfg.Database = db
	ccfg.AsyncInsert = false
	ccfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	require.NoError(t, ccfg.Validate())
	p.raw.logs, err = cf.CreateLogs(ctx, exportertest.NewNopSettings(cf.Type()), ccfg)
	require.NoError(t, err)
	p.raw.traces, err = cf.CreateTraces(ctx, exportertest.NewNopSettings(cf.Type()), ccfg)
	require.NoError(t, err)
	p.raw.metrics, err = cf.CreateMetrics(ctx, exportertest.NewNopSettings(cf.Type()), ccfg)
	require.NoError(t, err)
	scfg := *ccfg
	scfg.LogsTableName = "hyperdx_sessions"
	scfg.CreateSchema = false
	p.raw.sessions, err = cf.CreateLogs(ctx, exportertest.NewNopSettings(cf.Type()), &scfg)
	require.NoError(t, err)
	start(t, p.raw.logs, p.raw.traces, p.raw.metrics, p.raw.sessions)

	pf := embeddingprocessor.NewFactory()
	p.embedLogs, err = pf.CreateLogs(ctx, processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), p.logSink)
	require.NoError(t, err)
	p.embedTraces, err = pf.CreateTraces(ctx, processortest.NewNopSettings(pf.Type()), pf.CreateDefaultConfig(), p.traceSink)
	require.NoError(t, err)
	start(t, p.embedLogs, p.embedTraces)
	return p
}

func start(t testing.TB, cs ...component.Component) {
	for _, c := range cs {
		require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
		t.Cleanup(func() { _ = c.Shutdown(context.Background()) })
	}
}

// write sends one batch down the raw and the vector pipelines, as the
// collector's fan-out does.
func (p *pipeline) write(t testing.TB, td ptrace.Traces, ld plog.Logs, md pmetric.Metrics) {
	ctx := context.Background()
	if td.SpanCount() > 0 {
		require.NoError(t, p.raw.traces.ConsumeTraces(ctx, td))
		cp := ptrace.NewTraces()
		td.CopyTo(cp)
		p.traceSink.Reset()
		require.NoError(t, p.embedTraces.ConsumeTraces(ctx, cp))
		for _, out := range p.traceSink.AllTraces() {
			require.NoError(t, p.vec.traces.ConsumeTraces(ctx, out))
		}
	}
	if ld.LogRecordCount() > 0 {
		require.NoError(t, p.raw.logs.ConsumeLogs(ctx, ld))
		cp := plog.NewLogs()
		ld.CopyTo(cp)
		p.logSink.Reset()
		require.NoError(t, p.embedLogs.ConsumeLogs(ctx, cp))
		for _, out := range p.logSink.AllLogs() {
			if out.LogRecordCount() > 0 {
				require.NoError(t, p.vec.logs.ConsumeLogs(ctx, out))
			}
		}
	}
	if md.DataPointCount() > 0 {
		require.NoError(t, p.raw.metrics.ConsumeMetrics(ctx, md))
	}
}

// writeSession sends a browser's session replay logs down the collector's
// logs/sessions pipeline: the contrib exporter into hyperdx_sessions, and
// clickhouse_vector into session_replay_events and otel_sessions.
func (p *pipeline) writeSession(t testing.TB, ld plog.Logs) {
	ctx := context.Background()
	require.NoError(t, p.raw.sessions.ConsumeLogs(ctx, ld))
	require.NoError(t, p.vec.logs.ConsumeLogs(ctx, ld))
}

const (
	browserSession = "sess-7f3a"
	browserUA      = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)

// sessionLogs are rrweb events as the rrweb receiver emits them (HyperDX's
// session format): a page load, a full snapshot, then clicks.
func sessionLogs(session string, at time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "shop-web")
	rl.Resource().Attributes().PutStr("rum.sessionId", session)
	rl.Resource().Attributes().PutStr("user.id", "u-17")
	rl.Resource().Attributes().PutStr("user_agent.original", browserUA)
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	ms := at.UnixMilli()
	events := []string{
		fmt.Sprintf(`{"type":4,"data":{"href":"http://127.0.0.1:8080/cart","width":1280,"height":800},"timestamp":%d}`, ms),
		fmt.Sprintf(`{"type":2,"data":{"node":{"type":0,"childNodes":[],"id":1},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`, ms+5),
		fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":42,"x":310,"y":522},"timestamp":%d}`, ms+4000),
	}
	for i, body := range events {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(ms*int64(time.Millisecond) + int64(i)*5*int64(time.Millisecond)))
		lr.Body().SetStr(body)
		lr.Attributes().PutStr("rr-web.offset", strconv.Itoa(i+1))
		lr.Attributes().PutStr("rr-web.event", strconv.Itoa(i+1))
		lr.Attributes().PutStr("rr-web.chunk", "1")
		lr.Attributes().PutStr("rr-web.total-chunks", "1")
	}
	return ld
}

// span is one span of a simulated request, with its children and logs.
type span struct {
	service, name string
	kind          ptrace.SpanKind
	offset, dur   time.Duration
	err           bool
	msg           string
	peer          string
	children      []*span
	logs          []logRec
}

type logRec struct {
	sev  plog.SeverityNumber
	body string
}

// batch accumulates spans and logs by service, as SDK exports arrive.
type batch struct {
	td ptrace.Traces
	ld plog.Logs
	md pmetric.Metrics

	rs map[string]ptrace.SpanSlice
	rl map[string]plog.LogRecordSlice
	rm map[string]pmetric.MetricSlice
}

// browser is the service name of the shop's web page; its spans carry the
// session id, as the HyperDX browser SDK's do.
const browser = "shop-web"

func newBatch() *batch {
	return &batch{td: ptrace.NewTraces(), ld: plog.NewLogs(), md: pmetric.NewMetrics(),
		rs: map[string]ptrace.SpanSlice{}, rl: map[string]plog.LogRecordSlice{}, rm: map[string]pmetric.MetricSlice{}}
}

func (b *batch) spans(svc string) ptrace.SpanSlice {
	if s, ok := b.rs[svc]; ok {
		return s
	}
	r := b.td.ResourceSpans().AppendEmpty()
	r.Resource().Attributes().PutStr("service.name", svc)
	r.Resource().Attributes().PutStr("service.namespace", "shop")
	if svc == browser {
		r.Resource().Attributes().PutStr("rum.sessionId", browserSession)
		r.Resource().Attributes().PutStr("user_agent.original", browserUA)
	}
	ss := r.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp")
	b.rs[svc] = ss.Spans()
	return ss.Spans()
}

func (b *batch) logs(svc string) plog.LogRecordSlice {
	if s, ok := b.rl[svc]; ok {
		return s
	}
	r := b.ld.ResourceLogs().AppendEmpty()
	r.Resource().Attributes().PutStr("service.name", svc)
	sl := r.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("shop/" + svc)
	b.rl[svc] = sl.LogRecords()
	return sl.LogRecords()
}

func (b *batch) metrics(svc string) pmetric.MetricSlice {
	if s, ok := b.rm[svc]; ok {
		return s
	}
	r := b.md.ResourceMetrics().AppendEmpty()
	r.Resource().Attributes().PutStr("service.name", svc)
	sm := r.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName("shop/" + svc)
	b.rm[svc] = sm.Metrics()
	return sm.Metrics()
}

type ids struct{ rng *rand.Rand }

func (g ids) trace() pcommon.TraceID {
	var id [16]byte
	binary.BigEndian.PutUint64(id[:8], g.rng.Uint64())
	binary.BigEndian.PutUint64(id[8:], g.rng.Uint64())
	return id
}

func (g ids) span() pcommon.SpanID {
	var id [8]byte
	binary.BigEndian.PutUint64(id[:], g.rng.Uint64()|1)
	return id
}

// addTrace writes a request's spans and logs into the batch and returns
// its trace id.
func (b *batch) addTrace(g ids, at time.Time, root *span) string {
	tid := g.trace()
	var walk func(s *span, parent pcommon.SpanID)
	walk = func(s *span, parent pcommon.SpanID) {
		sid := g.span()
		ps := b.spans(s.service).AppendEmpty()
		ps.SetTraceID(tid)
		ps.SetSpanID(sid)
		ps.SetParentSpanID(parent)
		ps.SetName(s.name)
		ps.SetKind(s.kind)
		st := at.Add(s.offset)
		ps.SetStartTimestamp(pcommon.NewTimestampFromTime(st))
		ps.SetEndTimestamp(pcommon.NewTimestampFromTime(st.Add(s.dur)))
		if s.peer != "" {
			ps.Attributes().PutStr("peer.service", s.peer)
		}
		if s.err {
			ps.Status().SetCode(ptrace.StatusCodeError)
			ps.Status().SetMessage(s.msg)
		}
		for i, l := range s.logs {
			lr := b.logs(s.service).AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(st.Add(s.dur - time.Duration(len(s.logs)-i)*time.Millisecond)))
			lr.SetObservedTimestamp(lr.Timestamp())
			lr.SetSeverityNumber(l.sev)
			lr.SetSeverityText(severityText(l.sev))
			lr.SetTraceID(tid)
			lr.SetSpanID(sid)
			lr.Body().SetStr(l.body)
		}
		for _, c := range s.children {
			walk(c, sid)
		}
	}
	walk(root, pcommon.SpanID{})
	return tid.String()
}

func severityText(s plog.SeverityNumber) string {
	switch {
	case s >= plog.SeverityNumberError:
		return "ERROR"
	case s >= plog.SeverityNumberWarn:
		return "WARN"
	default:
		return "INFO"
	}
}

func (b *batch) gauge(svc, name string, at time.Time, v float64, attrs ...string) {
	m := b.metrics(svc).AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.SetDoubleValue(v)
	for i := 0; i+1 < len(attrs); i += 2 {
		dp.Attributes().PutStr(attrs[i], attrs[i+1])
	}
}

func (b *batch) counter(svc, name string, at, since time.Time, v float64, attrs ...string) {
	m := b.metrics(svc).AppendEmpty()
	m.SetName(name)
	sum := m.SetEmptySum()
	sum.SetIsMonotonic(true)
	sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	dp := sum.DataPoints().AppendEmpty()
	dp.SetStartTimestamp(pcommon.NewTimestampFromTime(since))
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.SetDoubleValue(v)
	for i := 0; i+1 < len(attrs); i += 2 {
		dp.Attributes().PutStr(attrs[i], attrs[i+1])
	}
}

// shop builds the sample shop's requests. The failure modes mirror what
// sampleapp emits: status messages and error logs of the same text, 5xx
// cascading through otelhttp client spans.
type shop struct {
	rng *rand.Rand
	seq int
}

func (s *shop) jitter(d time.Duration, frac float64) time.Duration {
	return d + time.Duration(float64(d)*frac*(s.rng.Float64()*2-1))
}

type inventoryOutcome int

const (
	inventoryOK inventoryOutcome = iota
	inventoryPoolTimeout
	inventoryShedding
)

// checkout is frontend → checkout → payment → inventory (+ gateway).
func (s *shop) checkout(outcome inventoryOutcome, invLatency time.Duration, heapMiB int) *span {
	s.seq++
	order := fmt.Sprintf("ord-%05d", s.seq)
	sku := fmt.Sprintf("SKU-%04d", 1000+s.rng.IntN(400))
	inv := &span{service: "inventory", name: "POST /inventory/reserve", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond}
	switch outcome {
	case inventoryOK:
		inv.dur = s.jitter(invLatency, 0.3)
		inv.children = []*span{{service: "inventory", name: "UPDATE stock", kind: ptrace.SpanKindClient, offset: time.Millisecond, dur: inv.dur - 2*time.Millisecond}}
		inv.logs = []logRec{{plog.SeverityNumberInfo, fmt.Sprintf("reserved %d units across 1 skus for order %s", 1+s.rng.IntN(3), order)}}
	case inventoryPoolTimeout:
		inv.dur = s.jitter(2000*time.Millisecond, 0.02)
		inv.err = true
		inv.msg = fmt.Sprintf("InventoryDBError: timed out acquiring connection from pool after %dms (in_use=10 max=10 waiting=%d) during reserve_stock order_id=%s sku=%s",
			2000+s.rng.IntN(15), 3+s.rng.IntN(6), order, sku)
		inv.logs = []logRec{{plog.SeverityNumberError, inv.msg}}
	case inventoryShedding:
		inv.dur = s.jitter(3*time.Millisecond, 0.3)
		inv.err = true
		inv.msg = fmt.Sprintf("ServiceOverloadedError: shedding request: heap in use %dMiB exceeds limit 768MiB (gc_cycles=%d) during admission_control", heapMiB, 4000+s.rng.IntN(900))
		inv.logs = []logRec{{plog.SeverityNumberError, inv.msg}}
	}
	failed := outcome != inventoryOK
	reserve := &span{service: "payment", name: "POST /inventory/reserve", kind: ptrace.SpanKindClient, peer: "inventory", offset: time.Millisecond,
		dur: inv.dur + 4*time.Millisecond, err: failed, children: []*span{inv}}
	pay := &span{service: "payment", name: "POST /payment/authorize", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond, children: []*span{reserve}}
	if failed {
		pay.err = true
		pay.msg = fmt.Sprintf("PaymentError: reserve stock for order %s failed: inventory returned 503 Service Unavailable during authorize", order)
		pay.logs = []logRec{{plog.SeverityNumberError, pay.msg}}
		pay.dur = reserve.dur + 6*time.Millisecond
	} else {
		gw := &span{service: "payment", name: "POST /charge", kind: ptrace.SpanKindClient, peer: "payment-gateway", offset: reserve.dur + 3*time.Millisecond, dur: s.jitter(60*time.Millisecond, 0.4)}
		pay.children = append(pay.children, gw)
		pay.dur = gw.offset + gw.dur + 3*time.Millisecond
		pay.logs = []logRec{{plog.SeverityNumberInfo, "payment authorized for order " + order}}
	}
	callPay := &span{service: "checkout", name: "POST /payment/authorize", kind: ptrace.SpanKindClient, peer: "payment", offset: 8 * time.Millisecond,
		dur: pay.dur + 4*time.Millisecond, err: failed, children: []*span{pay}}
	insert := &span{service: "checkout", name: "INSERT orders", kind: ptrace.SpanKindClient, offset: 2 * time.Millisecond, dur: s.jitter(4*time.Millisecond, 0.5)}
	co := &span{service: "checkout", name: "POST /checkout", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond,
		dur: callPay.offset + callPay.dur + 3*time.Millisecond, children: []*span{insert, callPay}}
	if failed {
		co.err = true
		co.msg = fmt.Sprintf("CheckoutError: payment for order %s failed: payment returned 502 Bad Gateway during checkout", order)
		co.logs = []logRec{{plog.SeverityNumberError, co.msg}}
	} else {
		co.logs = []logRec{{plog.SeverityNumberInfo, "order " + order + " placed"}}
	}
	callCo := &span{service: "frontend", name: "POST /checkout", kind: ptrace.SpanKindClient, peer: "checkout", offset: time.Millisecond,
		dur: co.dur + 4*time.Millisecond, err: failed, children: []*span{co}}
	fe := &span{service: "frontend", name: "POST /checkout", kind: ptrace.SpanKindServer, dur: callCo.dur + 3*time.Millisecond, err: failed, children: []*span{callCo}}
	code := "200"
	if failed {
		code = "502"
	}
	fe.logs = []logRec{{plog.SeverityNumberInfo, fmt.Sprintf("POST /checkout %s %dms", code, fe.dur.Milliseconds())}}
	return fe
}

// browse is frontend → inventory (catalog), never failing here.
func (s *shop) browse(invLatency time.Duration) *span {
	q := &span{service: "inventory", name: "SELECT products", kind: ptrace.SpanKindClient, offset: time.Millisecond, dur: s.jitter(invLatency/2, 0.3)}
	inv := &span{service: "inventory", name: "GET /products", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond, dur: q.dur + 3*time.Millisecond, children: []*span{q}}
	call := &span{service: "frontend", name: "GET /products", kind: ptrace.SpanKindClient, peer: "inventory", offset: time.Millisecond, dur: inv.dur + 4*time.Millisecond, children: []*span{inv}}
	return &span{service: "frontend", name: "GET /products", kind: ptrace.SpanKindServer, dur: call.dur + 2*time.Millisecond, children: []*span{call},
		logs: []logRec{{plog.SeverityNumberInfo, fmt.Sprintf("GET /products 200 %dms", (call.dur + 2*time.Millisecond).Milliseconds())}}}
}

// addToCart is frontend → cart → inventory, with the asynchronous totals
// recompute that sometimes loses a concurrent update.
func (s *shop) addToCart(conflict bool) *span {
	s.seq++
	cart := fmt.Sprintf("c-%04x", s.rng.IntN(1<<16))
	stock := &span{service: "inventory", name: "GET /inventory/check", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond, dur: s.jitter(6*time.Millisecond, 0.3)}
	check := &span{service: "cart", name: "GET /inventory/check", kind: ptrace.SpanKindClient, peer: "inventory", offset: time.Millisecond, dur: stock.dur + 3*time.Millisecond, children: []*span{stock}}
	recompute := &span{service: "cart", name: "recompute cart totals", kind: ptrace.SpanKindInternal, offset: check.dur + 8*time.Millisecond, dur: s.jitter(5*time.Millisecond, 0.3)}
	if conflict {
		v := 2 + s.rng.IntN(9)
		recompute.err = true
		recompute.msg = fmt.Sprintf("version conflict on cart %s: expected version %d, found %d", cart, v, v+1)
		recompute.logs = []logRec{{plog.SeverityNumberError, fmt.Sprintf("CartConcurrencyError: %s during recompute_totals", recompute.msg)}}
	}
	c := &span{service: "cart", name: "POST /cart/add", kind: ptrace.SpanKindServer, offset: 2 * time.Millisecond, dur: check.dur + 6*time.Millisecond, children: []*span{check, recompute}}
	call := &span{service: "frontend", name: "POST /cart/add", kind: ptrace.SpanKindClient, peer: "cart", offset: time.Millisecond, dur: c.dur + 3*time.Millisecond, children: []*span{c}}
	return &span{service: "frontend", name: "POST /cart/add", kind: ptrace.SpanKindServer, dur: call.dur + 2*time.Millisecond, children: []*span{call},
		logs: []logRec{{plog.SeverityNumberInfo, fmt.Sprintf("POST /cart/add 200 %dms", (call.dur + 2*time.Millisecond).Milliseconds())}}}
}

// scenario describes one dataset over [now-60m, now): a 30-minute
// baseline, then the window in which the incident starts.
type scenario struct {
	name string
	// rate is checkouts (and catalog browses) per minute; cart adds are
	// half as many. Default 6.
	rate int
	// inventory returns the outcome, inventory latency and heap of minute m
	// (0..59; the window is 30..59) for the i-th checkout of that minute.
	inventory func(s *shop, m, i int) (inventoryOutcome, time.Duration, int)
	// pool returns the pool's in-use and waiting counts in minute m.
	pool func(m int) (inUse, waiting float64)
	// heap returns the heap bytes of a service in minute m.
	heap func(svc string, m int) float64
}

// dataset is a scenario written into its database.
type dataset struct {
	db       string
	now      time.Time
	failing  []string // trace ids of failing checkouts
	conflict []string // trace ids with a cart conflict
	// browserTrace is a failing checkout started from a recorded browser
	// session (browserSession).
	browserTrace string
}

const datasetMinutes = 60

func buildDataset(t testing.TB, sc scenario) *dataset {
	now := time.Now().UTC().Truncate(time.Minute)
	d := &dataset{db: sc.name, now: now}
	p := newPipeline(t, sc.name)
	sh := &shop{rng: rand.New(rand.NewPCG(uint64(len(sc.name)), 7))}
	g := ids{rng: sh.rng}
	begin := now.Add(-datasetMinutes * time.Minute)
	var timeouts float64
	rate := max(sc.rate, 6)
	gap := time.Minute / time.Duration(rate)
	b := newBatch()
	for m := range datasetMinutes {
		minute := begin.Add(time.Duration(m) * time.Minute)
		for i := range rate {
			at := minute.Add(time.Duration(i)*gap + time.Duration(sh.rng.Int64N(int64(gap*2/3))))
			outcome, lat, heapMiB := sc.inventory(sh, m, i)
			root := sh.checkout(outcome, lat, heapMiB)
			fromBrowser := m == 48 && outcome != inventoryOK && d.browserTrace == ""
			if fromBrowser {
				root = &span{service: browser, name: "HTTP POST", kind: ptrace.SpanKindClient, dur: root.dur + 5*time.Millisecond, err: true, children: []*span{root}}
				for _, c := range root.children {
					c.offset = 2 * time.Millisecond
				}
			}
			id := b.addTrace(g, at, root)
			if outcome != inventoryOK {
				d.failing = append(d.failing, id)
			}
			if fromBrowser {
				d.browserTrace = id
				p.writeSession(t, sessionLogs(browserSession, at.Add(-30*time.Second)))
			}
			if outcome == inventoryPoolTimeout {
				timeouts++
			}
			b.addTrace(g, at.Add(3*time.Second), sh.browse(lat))
		}
		for i := range rate / 2 {
			conflict := m%7 == 3 && i == 0
			id := b.addTrace(g, minute.Add(time.Duration(i)*2*gap+gap/3), sh.addToCart(conflict))
			if conflict {
				d.conflict = append(d.conflict, id)
			}
		}
		at := minute.Add(59 * time.Second)
		inUse, waiting := sc.pool(m)
		b.gauge("inventory", "db.client.connection.count", at, inUse, "db.client.connection.state", "used", "db.client.connection.pool.name", "inventory.db")
		b.gauge("inventory", "db.client.connection.count", at, 10-inUse, "db.client.connection.state", "idle", "db.client.connection.pool.name", "inventory.db")
		b.gauge("inventory", "db.client.connection.max", at, 10, "db.client.connection.pool.name", "inventory.db")
		b.gauge("inventory", "db.client.connection.pending_requests", at, waiting, "db.client.connection.pool.name", "inventory.db")
		b.counter("inventory", "db.client.connection.timeouts", at, begin, timeouts, "db.client.connection.pool.name", "inventory.db")
		for _, svc := range []string{"frontend", "cart", "checkout", "payment", "inventory"} {
			b.gauge(svc, "process.runtime.go.mem.heap_alloc", at, sc.heap(svc, m))
		}
		// Ten minutes per batch keeps the inserts few; batches stay in
		// time order, so the anomaly model learns as it would live.
		if m%10 == 9 {
			p.write(t, b.td, b.ld, b.md)
			b = newBatch()
		}
	}
	return d
}

// poolExhaustion: from minute 40 the inventory DB pool is exhausted; most
// checkouts fail at inventory with pool timeouts, cascading to payment,
// checkout and frontend. Heap stays flat.
var poolExhaustion = scenario{
	name: "mcp_pool",
	inventory: func(s *shop, m, i int) (inventoryOutcome, time.Duration, int) {
		if m >= 40 && m < 58 && i%5 != 0 {
			return inventoryPoolTimeout, 2 * time.Second, 60
		}
		return inventoryOK, 15 * time.Millisecond, 60
	},
	pool: func(m int) (float64, float64) {
		if m >= 40 && m < 58 {
			return 10, float64(4 + m%4)
		}
		return float64(2 + m%2), 0
	},
	heap: func(_ string, m int) float64 { return float64(60<<20 + (m%5)*(1<<20)) },
}

// memoryLeak: inventory's heap grows from minute 30 without bound; from
// about minute 50 it sheds requests with 503s, cascading to payment,
// checkout and frontend, and its latency rises with GC pressure. The pool
// is healthy.
var memoryLeak = scenario{
	name: "mcp_leak",
	inventory: func(s *shop, m, i int) (inventoryOutcome, time.Duration, int) {
		heap := leakHeapMiB(m)
		if heap > 768 && i%4 != 0 {
			return inventoryShedding, 0, heap
		}
		lat := 15 * time.Millisecond
		if m >= 30 {
			lat += time.Duration(heap-80) * time.Millisecond / 2
		}
		return inventoryOK, lat, heap
	},
	pool: func(m int) (float64, float64) { return float64(2 + m%3), 0 },
	heap: func(svc string, m int) float64 {
		if svc == "inventory" {
			return float64(leakHeapMiB(m)) * (1 << 20)
		}
		return float64(55<<20 + (m%4)*(1<<20))
	},
}

func leakHeapMiB(m int) int {
	if m < 30 {
		return 80 + m%3
	}
	return 80 + (m-30)*36
}

var (
	datasetsMu sync.Mutex
	datasets   = map[string]*dataset{}
)

// loadDataset builds a scenario's database once per test process.
func loadDataset(t testing.TB, sc scenario) *dataset {
	datasetsMu.Lock()
	defer datasetsMu.Unlock()
	if d, ok := datasets[sc.name]; ok {
		return d
	}
	d := buildDataset(t, sc)
	datasets[sc.name] = d
	return d
}

// testConfig points a server at the test engine's database db.
func testConfig(t testing.TB, db string) Config {
	u, err := url.Parse(chdbtest.HTTP(t).URL)
	require.NoError(t, err)
	port, err := strconv.Atoi(u.Port())
	require.NoError(t, err)
	cfg := DefaultConfig()
	cfg.ClickHouse.Host = u.Hostname()
	cfg.ClickHouse.Port = port
	cfg.ClickHouse.Database = db
	// As the collector's config has it: the agent user, readonly=1 with
	// limits of its own.
	cfg.ClickHouse.User = chdbtest.Agent.User
	cfg.ClickHouse.Password = chdbtest.Agent.Password
	return cfg
}

// writer is a connection that may write, for the rows a test adds by hand.
func writer(t testing.TB, db string) driver.Conn {
	u, err := url.Parse(chdbtest.HTTP(t).URL)
	require.NoError(t, err)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{u.Host}, Protocol: clickhouse.HTTP, Auth: clickhouse.Auth{Database: db}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}
