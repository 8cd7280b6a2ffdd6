package clickhousevectorexporter

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"
)

const (
	chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	traceA   = "4bf92f3577b34da6a3ce929d0e0e4736" // listed by the batch
	traceB   = "0af7651916cd43dd8448eb211c80319c" // in a custom error event
	traceC   = "d4cda95b652f4a1592b449d5929fda1b" // a browser span's
)

// sessionRecord is one rrweb event, or a chunk of one, as the rrweb
// receiver emits it.
type sessionRecord struct {
	body                      string
	ts                        int64 // ms
	event, chunk, totalChunks int
}

func sessionLogs(session string, traceIDs []string, recs []sessionRecord) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	res := rl.Resource().Attributes()
	res.PutStr("service.name", "shop-web")
	res.PutStr("rum.sessionId", session)
	res.PutStr("user.id", "u-17")
	res.PutStr("user_agent.original", chromeUA)
	if len(traceIDs) > 0 {
		s := res.PutEmptySlice("rum.traceIds")
		for _, id := range traceIDs {
			s.AppendEmpty().SetStr(id)
		}
	}
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("rum.rr-web")
	for i, r := range recs {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.Timestamp(r.ts * int64(time.Millisecond)))
		lr.Body().SetStr(r.body)
		lr.Attributes().PutStr("rr-web.offset", fmt.Sprint(i+1))
		lr.Attributes().PutStr("rr-web.event", fmt.Sprint(r.event))
		lr.Attributes().PutStr("rr-web.chunk", fmt.Sprint(r.chunk))
		lr.Attributes().PutStr("rr-web.total-chunks", fmt.Sprint(r.totalChunks))
	}
	return ld
}

func whole(event int, ts int64, body string) sessionRecord {
	return sessionRecord{body: body, ts: ts, event: event, chunk: 1, totalChunks: 1}
}

func bigSnapshotEvent(ts int64, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[`, ts)
	for i := 0; sb.Len() < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":3,"id":%d,"textContent":"Aurora Desk Lamp – Ünïcödé %d"}`, i+2, i)
	}
	sb.WriteString(`]},"initialOffset":{"left":0,"top":0}}}`)
	return sb.String()
}

func startSessionExporters(t *testing.T, cfg *Config) (exporter.Logs, exporter.Traces) {
	t.Helper()
	ctx := context.Background()
	f := NewFactory()
	le, err := f.CreateLogs(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	te, err := f.CreateTraces(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, le.Start(ctx, componenttest.NewNopHost()))
	require.NoError(t, te.Start(ctx, componenttest.NewNopHost()))
	t.Cleanup(func() {
		require.NoError(t, le.Shutdown(ctx))
		require.NoError(t, te.Shutdown(ctx))
	})
	return le, te
}

func TestSessionsFromReplayLogsAndBrowserSpans(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "vec_sessions")
	logsExp, tracesExp := startSessionExporters(t, cfg)

	base := time.Now().Add(-10 * time.Minute).UnixMilli()
	big := bigSnapshotEvent(base+5, 1_200_000)
	chunks := rrweb.Chunks(big, rrweb.MaxChunkBytes)
	require.Len(t, chunks, 2)

	// First batch: page, the first chunk of a big snapshot, mouse, input.
	require.NoError(t, logsExp.ConsumeLogs(ctx, sessionLogs("sess-A", []string{traceA}, []sessionRecord{
		whole(1, base, fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/product/7","width":1280,"height":720},"timestamp":%d}`, base)),
		{body: chunks[0], ts: base + 5, event: 2, chunk: 1, totalChunks: 2},
	})))
	// Second batch: the rest of the snapshot, then activity and a second page.
	require.NoError(t, logsExp.ConsumeLogs(ctx, sessionLogs("sess-A", nil, []sessionRecord{
		{body: chunks[1], ts: base + 5, event: 2, chunk: 2, totalChunks: 2},
		whole(3, base+100, fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[{"x":1,"y":2,"id":4,"timeOffset":0}]},"timestamp":%d}`, base+100)),
		whole(4, base+200, fmt.Sprintf(`{"type":3,"data":{"source":2,"type":2,"id":6,"x":1,"y":2},"timestamp":%d}`, base+200)),
		whole(5, base+300, fmt.Sprintf(`{"type":3,"data":{"source":5,"text":"****","isChecked":false,"id":6},"timestamp":%d}`, base+300)),
		whole(6, base+400, fmt.Sprintf(`{"type":3,"data":{"source":3,"id":1,"x":0,"y":300},"timestamp":%d}`, base+400)),
		whole(7, base+500, fmt.Sprintf(`{"type":5,"data":{"tag":"checkout-error","payload":{"message":"payment declined","traceId":%q}},"timestamp":%d}`, traceB, base+500)),
		whole(8, base+600, fmt.Sprintf(`{"type":6,"data":{"plugin":"rrweb/network@1","payload":{"requests":[]}},"timestamp":%d}`, base+600)),
		whole(9, base+60_000, fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/cart","width":1280,"height":720},"timestamp":%d}`, base+60_000)),
		whole(10, base+60_001, fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/cart","width":1280,"height":720},"timestamp":%d}`, base+60_001)),
	})))
	// Browser spans: one of session A, one of a session without replay.
	td := ptrace.NewTraces()
	for _, s := range []struct{ session, trace string }{{"sess-A", traceC}, {"sess-B", "11111111111111111111111111111111"}} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", "shop-web")
		rs.Resource().Attributes().PutStr("rum.sessionId", s.session)
		sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		raw, err := hex.DecodeString(s.trace)
		require.NoError(t, err)
		sp.SetTraceID(pcommon.TraceID(raw))
		sp.SetSpanID(pcommon.SpanID{1})
		sp.SetStartTimestamp(pcommon.Timestamp((base + 150) * int64(time.Millisecond)))
		sp.SetEndTimestamp(pcommon.Timestamp((base + 450) * int64(time.Millisecond)))
	}
	// Spans without the session attribute change nothing.
	other := td.ResourceSpans().AppendEmpty()
	other.ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetTraceID(pcommon.TraceID{9})
	require.NoError(t, tracesExp.ConsumeTraces(ctx, td))

	conn := openConn(t, cfg)
	rows, err := conn.Query(ctx, "SELECT SequenceNumber, EventType, length(EventData), toUnixTimestamp64Milli(Timestamp) FROM session_replay_events WHERE SessionId = 'sess-A' ORDER BY SequenceNumber")
	require.NoError(t, err)
	var kinds []string
	for rows.Next() {
		var (
			seq     uint64
			kind    string
			size    uint64
			tsMilli int64
		)
		require.NoError(t, rows.Scan(&seq, &kind, &size, &tsMilli))
		kinds = append(kinds, kind)
		if seq == 2 {
			assert.Equal(t, uint64(len(big)), size, "the chunked snapshot is stored whole")
			assert.Equal(t, base+5, tsMilli)
		}
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Equal(t, []string{"meta", "dom", "mouse", "mouse", "input", "scroll", "custom", "network", "meta", "meta"}, kinds)

	var (
		userID, service, ua, device, os, browser string
		start, end                               time.Time
		duration                                 int64
		pageViews, errorCount                    uint32
		traceIDs, evTypes                        []string
	)
	require.NoError(t, conn.QueryRow(ctx, `SELECT UserId, ServiceName, UserAgent, DeviceType, OS, Browser, StartTime, EndTime, Duration,
		PageViews, ErrorCount, TraceIds, Events.Type FROM otel_sessions FINAL WHERE SessionId = 'sess-A'`).Scan(
		&userID, &service, &ua, &device, &os, &browser, &start, &end, &duration, &pageViews, &errorCount, &traceIDs, &evTypes))
	assert.Equal(t, "u-17", userID)
	assert.Equal(t, "shop-web", service)
	assert.Equal(t, chromeUA, ua)
	assert.Equal(t, []string{"desktop", "Linux", "Chrome 131"}, []string{device, os, browser})
	assert.Equal(t, base, start.UnixMilli())
	assert.Equal(t, base+60_001, end.UnixMilli())
	assert.Equal(t, int64(60_001), duration)
	assert.Equal(t, uint32(2), pageViews, "product page and cart; the second cart meta is no new page")
	assert.Equal(t, uint32(1), errorCount)
	assert.ElementsMatch(t, []string{traceA, traceB, traceC}, traceIDs)
	assert.Equal(t, []string{"pageview", "error", "pageview"}, evTypes)

	// "Which session was this failing trace in?"
	var found string
	require.NoError(t, conn.QueryRow(ctx, "SELECT SessionId FROM otel_sessions FINAL WHERE has(TraceIds, ?)", traceC).Scan(&found))
	assert.Equal(t, "sess-A", found)
	require.NoError(t, conn.QueryRow(ctx, "SELECT SessionId FROM otel_sessions FINAL WHERE has(TraceIds, '11111111111111111111111111111111')").Scan(&found))
	assert.Equal(t, "sess-B", found)
	var sessions uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM otel_sessions FINAL").Scan(&sessions))
	assert.Equal(t, uint64(2), sessions)

	// Another exporter (a restart) picks the session up where it was.
	cfg2 := testConfig(t, "vec_sessions")
	logs2, _ := startSessionExporters(t, cfg2)
	require.NoError(t, logs2.ConsumeLogs(ctx, sessionLogs("sess-A", nil, []sessionRecord{
		whole(11, base+120_000, fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/checkout","width":1280,"height":720},"timestamp":%d}`, base+120_000)),
		whole(12, base+120_500, fmt.Sprintf(`{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":"error","payload":["boom"]}},"timestamp":%d}`, base+120_500)),
	})))
	require.NoError(t, conn.QueryRow(ctx, `SELECT PageViews, ErrorCount, TraceIds, Duration FROM otel_sessions FINAL WHERE SessionId = 'sess-A'`).Scan(
		&pageViews, &errorCount, &traceIDs, &duration))
	assert.Equal(t, uint32(3), pageViews)
	assert.Equal(t, uint32(2), errorCount)
	assert.ElementsMatch(t, []string{traceA, traceB, traceC}, traceIDs)
	assert.Equal(t, int64(120_500), duration)
}

func TestLogsWithoutSessionsWriteNoSessionRows(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "vec_nosessions")
	logsExp, _ := startSessionExporters(t, cfg)
	require.NoError(t, logsExp.ConsumeLogs(ctx, embedLogs(t, errorLogs(8))))
	conn := openConn(t, cfg)
	var n uint64
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM session_replay_events").Scan(&n))
	assert.Zero(t, n)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM otel_sessions").Scan(&n))
	assert.Zero(t, n)
	require.NoError(t, conn.QueryRow(ctx, "SELECT count() FROM logs_with_embeddings").Scan(&n))
	assert.Equal(t, uint64(8), n)
}

func TestParseUserAgent(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]userAgentInfo{
		chromeUA: {"desktop", "Linux", "Chrome 131"},
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36":                           {"desktop", "Linux", "Chrome Headless 156"},
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91":       {"desktop", "Windows", "Edge 120"},
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15":                   {"desktop", "macOS", "Safari 17"},
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1": {"mobile", "iOS 17.4", "Safari 17"},
		"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1":  {"tablet", "iOS 16.6", "Chrome 120"},
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36":              {"mobile", "Android 14", "Chrome 120"},
		"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Safari/537.36":      {"tablet", "Android 13", "Samsung Internet 23"},
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                          {"desktop", "Linux", "Firefox 128"},
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)":                                                                {"bot", "Other", "Other"},
		"": {},
	} {
		assert.Equal(t, want, parseUserAgent(ua), ua)
	}
}
