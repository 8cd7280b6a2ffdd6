package browser

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// sessionMinute generates one minute of an active shop session as rrweb
// records it with its default sampling, shaped after the real recordings of
// TestRealBrowserSessionIsStoredAndReplays: three page loads (meta + a
// ~100 KB full snapshot each), mouse moves flushed twice a second while the
// pointer moves, clicks (four interaction events each), scrolls, typing
// (one input event per key, masked), DOM mutations, a few custom events —
// about 400 events. It returns the events as 12 batches of 5 s, as the
// HyperDX recorder sends them.
func sessionMinute(r *rand.Rand, start int64) [][]json.RawMessage {
	var events []string
	ts := start
	next := func(ms int) int64 { ts += int64(ms); return ts }
	nodeID := 1
	id := func() int { nodeID++; return nodeID }
	for page := range 3 {
		events = append(events,
			fmt.Sprintf(`{"type":4,"data":{"href":"http://shop.test/%s","width":1280,"height":720},"timestamp":%d}`, []string{"", "product/7", "cart"}[page], next(5)),
			fullSnapshot(r, id, next(3)))
		for range 20 { // 20 s of activity per page
			for range 2 {
				var pos []string
				for k := range 6 {
					pos = append(pos, fmt.Sprintf(`{"x":%d,"y":%d,"id":%d,"timeOffset":%d}`, r.IntN(1280), r.IntN(720), 2+r.IntN(nodeID-1), -k*50))
				}
				events = append(events, fmt.Sprintf(`{"type":3,"data":{"source":1,"positions":[%s]},"timestamp":%d}`, strings.Join(pos, ","), next(500)))
			}
			if r.IntN(3) == 0 {
				target, x, y := 2+r.IntN(nodeID-1), r.Float64()*1280, r.Float64()*720
				for _, typ := range []int{1, 5, 0, 2} {
					events = append(events, fmt.Sprintf(`{"type":3,"data":{"source":2,"type":%d,"id":%d,"x":%.2f,"y":%.2f},"timestamp":%d}`, typ, target, x, y, next(2)))
				}
			}
			for range r.IntN(3) {
				events = append(events, fmt.Sprintf(`{"type":3,"data":{"source":3,"id":1,"x":0,"y":%d},"timestamp":%d}`, r.IntN(4000), next(100)))
			}
			if r.IntN(2) == 0 {
				events = append(events, fmt.Sprintf(`{"type":3,"data":{"source":0,"texts":[{"id":%d,"value":"%d items"}],"attributes":[{"id":%d,"attributes":{"class":"card selected"}}],"removes":[{"parentId":%d,"id":%d}],"adds":[{"parentId":%d,"nextId":null,"node":{"type":2,"tagName":"span","attributes":{"class":"badge"},"childNodes":[],"id":%d}}]},"timestamp":%d}`,
					2+r.IntN(nodeID-1), r.IntN(9), 2+r.IntN(nodeID-1), 2+r.IntN(nodeID-1), 2+r.IntN(nodeID-1), 2+r.IntN(nodeID-1), id(), next(10)))
			}
		}
		if page == 1 { // typing a card number on the product page
			field := 2 + r.IntN(nodeID-1)
			for k := range 16 {
				events = append(events, fmt.Sprintf(`{"type":3,"data":{"source":5,"text":%q,"isChecked":false,"id":%d},"timestamp":%d}`, strings.Repeat("*", k+1), field, next(25)))
			}
		}
		events = append(events, fmt.Sprintf(`{"type":5,"data":{"tag":"page-ready","payload":{"traceId":"%032x","ms":%d}},"timestamp":%d}`, r.Uint64(), r.IntN(900), next(1)))
	}
	// 12 batches, by time.
	batches := make([][]json.RawMessage, 12)
	for _, e := range events {
		var h struct{ Timestamp int64 }
		_ = json.Unmarshal([]byte(e), &h)
		b := min(int((h.Timestamp-start)/5000), 11)
		batches[b] = append(batches[b], json.RawMessage(e))
	}
	return batches
}

// fullSnapshot is a ~100 KB serialised shop page: head with styles, a
// product grid of 60 cards.
func fullSnapshot(r *rand.Rand, id func() int, ts int64) string {
	var sb strings.Builder
	node := func(tag, attrs, children string) string {
		return fmt.Sprintf(`{"type":2,"tagName":%q,"attributes":{%s},"childNodes":[%s],"id":%d}`, tag, attrs, children, id())
	}
	text := func(s string) string { return fmt.Sprintf(`{"type":3,"textContent":%q,"id":%d}`, s, id()) }
	var css strings.Builder
	for i := range 120 {
		fmt.Fprintf(&css, ".c%d{margin:%dpx;padding:%dpx;color:#%06x;display:flex} ", i, r.IntN(20), r.IntN(20), r.IntN(1<<24))
	}
	var cards []string
	for i := range 60 {
		cards = append(cards, node("div", `"class":"card"`, strings.Join([]string{
			node("img", fmt.Sprintf(`"src":"/img/p%d.webp","alt":"Product %d","width":"240","height":"180"`, i, i), ""),
			node("h3", "", text(fmt.Sprintf("Product %d — %s", i, []string{"Desk Lamp", "Kettle", "Backpack", "Headphones"}[i%4]))),
			node("p", `"class":"price"`, text(fmt.Sprintf("€ %d.%02d", 5+r.IntN(200), r.IntN(100)))),
			node("p", `"class":"desc"`, text(strings.Repeat("Sturdy, light and made to last. ", 6))),
			node("button", fmt.Sprintf(`"type":"button","data-sku":"SKU-%d"`, 1000+i), text("Add to cart")),
		}, ",")))
	}
	head := node("head", "", strings.Join([]string{
		node("meta", `"charset":"utf-8"`, ""),
		node("title", "", text("Agentic Shop")),
		node("style", "", fmt.Sprintf(`{"type":3,"textContent":%q,"isStyle":true,"id":%d}`, css.String(), id())),
	}, ","))
	body := node("body", "", strings.Join([]string{
		node("header", "", node("nav", "", text("Home · Lamps · Kitchen · Bags · Audio · Cart"))),
		node("main", `"class":"grid"`, strings.Join(cards, ",")),
		node("footer", "", text("© Agentic Shop")),
	}, ","))
	fmt.Fprintf(&sb, `{"type":2,"data":{"node":{"type":0,"childNodes":[{"type":1,"name":"html","publicId":"","systemId":"","id":%d},%s],"id":%d},"initialOffset":{"left":0,"top":0}},"timestamp":%d}`,
		id(), node("html", `"lang":"en"`, head+","+body), id(), ts)
	return sb.String()
}

func batchBody(session string, events []json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{
		"session_id": session, "service_name": service, "events": events,
		"user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	})
	return b
}

// BenchmarkSessionIngest posts realistic session minutes (12 batches of
// 5 s each) from 4 concurrent browsers through the rrweb receiver into
// ClickHouse (hyperdx_sessions via the contrib exporter, session_replay_events
// and otel_sessions via clickhouse_vector), each request answered only once
// stored, or through a batch processor as otelcol-config.yaml has it.
// Each iteration is 8 session minutes. It reports events/s and, from
// system.parts after merging, the bytes stored per minute of active session.
func BenchmarkSessionIngest(b *testing.B) {
	b.Run("stored_per_request", func(b *testing.B) { benchIngest(b, "bench_sync", false) })
	b.Run("batch_processor", func(b *testing.B) { benchIngest(b, "bench_batched", true) })
}

func benchIngest(b *testing.B, db string, batch bool) {
	p := startPipeline(b, db, batch)
	r := rand.New(rand.NewPCG(1, 2))
	const perIter, workers = 8, 4
	// Generate outside the timer.
	var minutes [][][]json.RawMessage
	start := time.Now().Add(-time.Hour).UnixMilli()
	for i := range perIter * b.N {
		minutes = append(minutes, sessionMinute(r, start+int64(i)*1000))
	}
	var events, bytes int
	for _, m := range minutes {
		for _, batch := range m {
			events += len(batch)
			for _, e := range batch {
				bytes += len(e)
			}
		}
	}
	count := func(table string) int {
		n, err := strconv.Atoi(strings.TrimSpace(p.query(b, "SELECT count() FROM "+table+" FORMAT TSV", nil)))
		require.NoError(b, err)
		return n
	}
	// The benchmark runs again with a larger b.N on the same tables.
	replayBefore, hyperdxBefore := count("session_replay_events"), count("hyperdx_sessions")
	b.ResetTimer()
	work := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				session := fmt.Sprintf("bench-%d-%d", b.N, i)
				for _, batch := range minutes[i] {
					postJSON(b, p.receiverURL+"/rrweb", batchBody(session, batch))
				}
			}
		})
	}
	for i := range minutes {
		work <- i
	}
	close(work)
	wg.Wait()
	// Batched requests are answered once queued: wait until stored.
	waitFor(b, "every event stored", func() bool {
		return count("session_replay_events")-replayBefore == events && count("hyperdx_sessions")-hyperdxBefore >= events
	})
	elapsed := b.Elapsed()
	b.StopTimer()
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(bytes)/elapsed.Seconds()/1e6, "MB/s")
	b.ReportMetric(float64(events)/float64(len(minutes)), "events/session-min")

	// Bytes per minute of session, as stored (after merging parts).
	for _, table := range []string{"hyperdx_sessions", "session_replay_events", "otel_sessions"} {
		p.query(b, "OPTIMIZE TABLE "+table+" FINAL", nil)
	}
	out := p.query(b, `SELECT table, sum(bytes_on_disk), sum(data_uncompressed_bytes) FROM system.parts
		WHERE database = {db:String} AND active AND table IN ('hyperdx_sessions', 'session_replay_events', 'otel_sessions')
		GROUP BY table ORDER BY table FORMAT TSV`, map[string]string{"db": p.db})
	var total float64
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		require.Len(b, f, 3, out)
		onDisk, _ := strconv.ParseFloat(f[1], 64)
		raw, _ := strconv.ParseFloat(f[2], 64)
		b.ReportMetric(onDisk/float64(len(minutes))/1024, f[0]+"-KiB/min")
		b.Logf("%s: %.0f KiB on disk, %.0f KiB uncompressed, per session minute", f[0], onDisk/float64(len(minutes))/1024, raw/float64(len(minutes))/1024)
		total += onDisk
	}
	b.ReportMetric(total/float64(len(minutes))/1024, "stored-KiB/min")
	b.Logf("%d session minutes, %d events, %.1f MB of event JSON sent", len(minutes), events, float64(bytes)/1e6)
}
