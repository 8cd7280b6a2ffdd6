package e2e

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.yaml.in/yaml/v3"
)

// ledger is what the senders were told: which records the collector
// acknowledged, and how it answered.
type ledger struct {
	mu        sync.Mutex
	logs      map[string]bool // id -> acknowledged
	errorLogs map[string]bool // the error records among them (embedded)
	traces    map[string]bool // trace id -> acknowledged (spansPerTrace spans each)
	answers   map[string]int  // "200", "429", "connection error", ...
	retry     map[string]int  // Retry-After values seen on 429
	next      atomic.Int64
}

const spansPerTrace = 3

func newLedger() *ledger {
	return &ledger{logs: map[string]bool{}, errorLogs: map[string]bool{}, traces: map[string]bool{}, answers: map[string]int{}, retry: map[string]int{}}
}

// post sends one OTLP/HTTP protobuf request and records the answer.
func (l *ledger) post(client *http.Client, url string, body []byte) bool {
	resp, err := client.Post(url, "application/x-protobuf", bytes.NewReader(body))
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		l.answers["connection error"]++
		return false
	}
	_ = resp.Body.Close()
	l.answers[strconv.Itoa(resp.StatusCode)]++
	if resp.StatusCode == http.StatusTooManyRequests {
		l.retry[resp.Header.Get("Retry-After")]++
	}
	return resp.StatusCode == http.StatusOK
}

func newClient() *http.Client { return &http.Client{Timeout: 30 * time.Second} }

func marshalLogs(ld plog.Logs) ([]byte, error) {
	return plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
}

// logBatch is n log records with fresh ids, every fourth an error of one
// of a few templates (the vector pipeline stores those).
func (l *ledger) logBatch(n int) (plog.Logs, []string, []bool) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "durability")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := pcommon.NewTimestampFromTime(time.Now())
	ids := make([]string, n)
	isErr := make([]bool, n)
	for i := range n {
		k := l.next.Add(1)
		id := fmt.Sprintf("id%d", k)
		lr := recs.AppendEmpty()
		lr.SetTimestamp(now)
		lr.Attributes().PutStr("test.id", id)
		if k%4 == 0 {
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.Body().SetStr(fmt.Sprintf("PaymentError%d: card declined for order %s after %dms", k%5, id, 100+k%900))
			isErr[i] = true
		} else {
			lr.SetSeverityNumber(plog.SeverityNumberInfo)
			lr.SetSeverityText("INFO")
			lr.Body().SetStr("served order " + id)
		}
		ids[i] = id
	}
	return ld, ids, isErr
}

// traceBatch is n whole traces of spansPerTrace spans (three services).
func (l *ledger) traceBatch(n int) (ptrace.Traces, []string) {
	td := ptrace.NewTraces()
	now := time.Now()
	ids := make([]string, n)
	services := [spansPerTrace]string{"frontend", "payment", "inventory"}
	names := [spansPerTrace]string{"POST /checkout", "POST /charge", "SELECT stock"}
	for i := range n {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(l.next.Add(1)))
		tid[0] = 0xd
		ids[i] = tid.String()
		for s := range spansPerTrace {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", services[s])
			sp := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			sp.SetTraceID(tid)
			sp.SetSpanID(pcommon.SpanID([8]byte{byte(s + 1), tid[15], tid[14], tid[13]}))
			if s > 0 {
				sp.SetParentSpanID(pcommon.SpanID([8]byte{byte(s), tid[15], tid[14], tid[13]}))
			}
			sp.SetName(names[s])
			sp.SetKind(ptrace.SpanKindServer)
			start := now.Add(time.Duration(s) * time.Millisecond)
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(20-5*s) * time.Millisecond)))
		}
	}
	return td, ids
}

// send runs log and trace senders against col until stop closes, recording
// every acknowledgement.
func (l *ledger) send(t *testing.T, col *Collector, logSenders, traceSenders int, stop <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	client := newClient()
	var wg sync.WaitGroup
	for range logSenders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ld, ids, isErr := l.logBatch(200)
				body, err := marshalLogs(ld)
				if err != nil {
					t.Error(err)
					return
				}
				ok := l.post(client, "http://"+col.OTLPHTTP+"/v1/logs", body)
				l.mu.Lock()
				for i, id := range ids {
					l.logs[id] = ok
					if isErr[i] {
						l.errorLogs[id] = ok
					}
				}
				l.mu.Unlock()
			}
		})
	}
	for range traceSenders {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				td, ids := l.traceBatch(10)
				body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
				if err != nil {
					t.Error(err)
					return
				}
				ok := l.post(client, "http://"+col.OTLPHTTP+"/v1/traces", body)
				l.mu.Lock()
				for _, id := range ids {
					l.traces[id] = ok
				}
				l.mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	return &wg
}

func (l *ledger) acked(m map[string]bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ok := range m {
		if ok {
			n++
		}
	}
	return n
}

// counts runs a query of (key, count) rows.
func counts(t *testing.T, col *Collector, sql string) map[string]int {
	t.Helper()
	out, err := col.Query(context.Background(), sql)
	require.NoError(t, err)
	m := map[string]int{}
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		k, v, _ := strings.Cut(line, "\t")
		n, err := strconv.Atoi(v)
		require.NoError(t, err, line)
		m[k] = n
	}
	return m
}

// stored is what the store holds of the test's records.
type stored struct {
	otelLogs, vectorLogs, otelTraces, fullTraces, traceRows map[string]int
	statsMismatch                                           string
}

func readStored(t *testing.T, col *Collector) stored {
	t.Helper()
	// The templates whose counts differ, with both counts.
	mismatch, err := col.Query(context.Background(), `SELECT template_hash, o.n, s.n FROM
		(SELECT template_hash, count() AS n FROM logs_with_embeddings GROUP BY template_hash) AS o
		FULL OUTER JOIN (SELECT template_hash, sum(occurrences) AS n FROM log_template_stats GROUP BY template_hash) AS s
		USING template_hash WHERE o.n != s.n`)
	require.NoError(t, err)
	return stored{
		otelLogs:      counts(t, col, "SELECT LogAttributes['test.id'], count() FROM otel_logs WHERE ServiceName = 'durability' GROUP BY 1"),
		vectorLogs:    counts(t, col, "SELECT extract(Body, 'order (id[0-9]+)'), count() FROM logs_with_embeddings WHERE ServiceName = 'durability' GROUP BY 1"),
		otelTraces:    counts(t, col, "SELECT TraceId, count() FROM otel_traces GROUP BY TraceId"),
		fullTraces:    counts(t, col, fmt.Sprintf("SELECT TraceId, countIf(span_count = %d) FROM traces_with_embeddings GROUP BY TraceId", spansPerTrace)),
		traceRows:     counts(t, col, "SELECT TraceId, count() FROM traces_with_embeddings GROUP BY TraceId"),
		statsMismatch: mismatch,
	}
}

// complete reports whether every acknowledged record has reached every table.
func (l *ledger) complete(s stored) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, ok := range l.logs {
		if ok && s.otelLogs[id] == 0 {
			return false
		}
	}
	for id, ok := range l.errorLogs {
		if ok && s.vectorLogs[id] == 0 {
			return false
		}
	}
	for id, ok := range l.traces {
		if ok && (s.otelTraces[id] < spansPerTrace || s.fullTraces[id] == 0) {
			return false
		}
	}
	return true
}

// verdict counts, per table, acknowledged records lost and records stored
// more than once, and checks them.
func (l *ledger) verdict(t *testing.T, s stored) (lost, dup int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	check := func(table string, acked map[string]bool, have map[string]int, want int) {
		tl, td := 0, 0
		for id, ok := range acked {
			if ok && have[id] == 0 {
				tl++
			}
		}
		for id, n := range have {
			if n > want {
				td++
				if td <= 3 {
					t.Errorf("%s: %s stored %d times", table, id, n)
				}
			}
			if _, sent := acked[id]; !sent {
				t.Errorf("%s: %s was never sent", table, id)
			}
		}
		assert.Zero(t, tl, "%s: acknowledged records lost", table)
		assert.Zero(t, td, "%s: records stored more than once", table)
		lost += tl
		dup += td
	}
	check("otel_logs", l.logs, s.otelLogs, 1)
	check("logs_with_embeddings", l.errorLogs, s.vectorLogs, 1)
	check("otel_traces (spans per trace)", l.traces, s.otelTraces, spansPerTrace)
	check("traces_with_embeddings (whole-trace rows)", l.traces, s.fullTraces, 1)
	for id, n := range s.traceRows {
		if n > s.fullTraces[id] {
			t.Logf("traces_with_embeddings: trace %s also has %d partial rows", id, n-s.fullTraces[id])
		}
	}
	assert.Empty(t, s.statsMismatch, "templates whose log_template_stats count differs from logs_with_embeddings (template, occurrences, counted)")
	return lost, dup
}

// drain waits until the restarted collector has stored every acknowledged
// record, then a moment more for anything that would be stored twice.
func (l *ledger) drain(t *testing.T, col *Collector) stored {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var s stored
	for {
		s = readStored(t, col)
		if l.complete(s) || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	return readStored(t, col)
}

func killPoints(t *testing.T) int {
	if v := os.Getenv("OTELCOL_AGENTIC_KILL_POINTS"); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "OTELCOL_AGENTIC_KILL_POINTS")
		return n
	}
	return 3
}

// kill -9 at random points of a stream of logs and traces, each time
// started again on the same data directory: every record the collector
// acknowledged is stored exactly once in otel_logs, otel_traces,
// logs_with_embeddings and traces_with_embeddings, and the per-template
// counts match the occurrences. OTELCOL_AGENTIC_KILL_POINTS sets how many
// kills (default 3).
func TestAcknowledgedRecordsSurviveKill9(t *testing.T) {
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 16))
	kills := killPoints(t)
	t.Logf("%d kill points, seed %d", kills, seed)
	// OTELCOL_AGENTIC_DURABILITY_CONFIG runs the same test against another
	// configuration (e.g. testdata/config-before-spool.yaml, which loses
	// acknowledged records).
	config := os.Getenv("OTELCOL_AGENTIC_DURABILITY_CONFIG")
	if config == "" {
		config = filepath.Join(RepoRoot(t), "otelcol-config.yaml")
	}
	start := func() *Collector { return StartCollectorWithConfig(t, config, dir) }
	l := newLedger()
	for round := range kills {
		col := start()
		stop := make(chan struct{})
		wg := l.send(t, col, 4, 2, stop)
		at := time.Duration(300+rng.IntN(2700)) * time.Millisecond
		time.Sleep(at)
		col.Kill(t)
		close(stop)
		wg.Wait()
		t.Logf("kill %d at %v: %d logs and %d traces acknowledged so far", round+1, at, l.acked(l.logs), l.acked(l.traces))
	}
	col := start()
	stop := make(chan struct{})
	wg := l.send(t, col, 1, 1, stop)
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	s := l.drain(t, col)
	lost, dup := l.verdict(t, s)
	t.Logf("%d kill points: %d logs (%d errors) and %d traces acknowledged; %d lost, %d stored twice; answers %v",
		kills, l.acked(l.logs), l.acked(l.errorLogs), l.acked(l.traces), lost, dup, l.answers)
	col.Stop(t)
}

// configWith writes the repository's config changed by edit.
func configWith(tb testing.TB, edit func(doc map[string]any)) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(RepoRoot(tb), "otelcol-config.yaml"))
	require.NoError(tb, err)
	var doc map[string]any
	require.NoError(tb, yaml.Unmarshal(b, &doc))
	edit(doc)
	out, err := yaml.Marshal(doc)
	require.NoError(tb, err)
	path := filepath.Join(tb.TempDir(), "config.yaml")
	require.NoError(tb, os.WriteFile(path, out, 0o600))
	return path
}

// withMetrics serves the collector's own metrics on addr.
func withMetrics(addr string) func(doc map[string]any) {
	return func(doc map[string]any) {
		host, port, _ := strings.Cut(addr, ":")
		p, _ := strconv.Atoi(port)
		m := doc["service"].(map[string]any)["telemetry"].(map[string]any)["metrics"].(map[string]any)
		m["level"] = "basic"
		m["readers"] = []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{"host": host, "port": p}}}}}
	}
}

// metricSum adds up the samples of a metric the collector exposes whose
// labels contain every one of labels.
func metricSum(t *testing.T, addr, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	sum := 0.0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		if !match {
			continue
		}
		f := strings.Fields(line)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		require.NoError(t, err, line)
		sum += v
	}
	return sum
}

// fill writes a file that leaves free bytes free on dir's filesystem.
func fill(t *testing.T, path string, free int64) {
	t.Helper()
	n := FreeBytes(t, filepath.Dir(path)) - free
	if st, err := os.Stat(path); err == nil {
		n += st.Size()
	}
	require.Greater(t, n, int64(0))
	f, err := os.Create(path)
	require.NoError(t, err)
	buf := make([]byte, 1<<20)
	for w := int64(0); w < n; {
		k, err := f.Write(buf[:min(int64(len(buf)), n-w)])
		w += int64(k)
		if err != nil {
			break // the disk is full: what is free is less than asked
		}
	}
	require.NoError(t, f.Close())
}

// The data directory on a small disk that fills up: requests are refused
// with 429 and Retry-After (never acknowledged and then lost), the refusal
// is counted and logged naming the fix, and when space returns the
// collector takes data again by itself; every acknowledged record is then
// stored exactly once, and the spool shrinks back once drained. Twice: with
// the default reserve (the spool refuses while the filesystem has less than
// min_free_bytes free), and without one (min_free_bytes: 1), where the
// disk itself refuses the spool's writes (ENOSPC) and ClickHouse's too.
func TestFullDiskIsRefusedNotSwallowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		sets []string
		free int64 // left free while the disk is "full"
	}{
		{"below the reserve", nil, 16 << 20},
		{"the disk refuses writes", []string{
			"connectors::spool/logs::min_free_bytes=1", "connectors::spool/traces::min_free_bytes=1",
			"connectors::spool/metrics::min_free_bytes=1", "connectors::spool/sessions::min_free_bytes=1",
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk := MountSmallDisk(t, 384<<20)
			metrics := FreePort(t)
			col := StartCollectorWithConfig(t, configWith(t, withMetrics(metrics)), disk,
				append([]string{"service::telemetry::metrics::level=basic"}, tc.sets...)...)
			filler := filepath.Join(disk, "filler")
			l := newLedger()

			fill(t, filler, tc.free)
			t.Logf("disk full: %d bytes free", FreeBytes(t, disk))
			stop := make(chan struct{})
			wg := l.send(t, col, 2, 1, stop)
			time.Sleep(3 * time.Second)
			close(stop)
			wg.Wait()
			l.mu.Lock()
			full := maps.Clone(l.answers)
			retry := maps.Clone(l.retry)
			l.mu.Unlock()
			t.Logf("while full: answers %v, Retry-After %v", full, retry)
			assert.Positive(t, full["429"], "the full disk is refused with 429")
			for code := range full {
				assert.Contains(t, []string{"200", "429"}, code, "no other answer while the disk is full")
			}
			assert.Equal(t, full["429"], retry["5"], "every 429 says when to retry")
			assert.Positive(t, metricSum(t, metrics, "otelcol_connector_spool_requests_refused", `reason="disk_full"`))
			_, err := col.Query(context.Background(), "SELECT count() FROM otel_logs")
			assert.NoError(t, err, "reads are served while the disk is full")
			assert.Contains(t, col.Log(), "The spool's disk is full")
			assert.Contains(t, col.Log(), "Free space on the filesystem")

			// Room again: the collector takes data without a restart.
			require.NoError(t, os.Remove(filler))
			before := full["200"]
			stop = make(chan struct{})
			wg = l.send(t, col, 2, 1, stop)
			time.Sleep(3 * time.Second)
			close(stop)
			wg.Wait()
			l.mu.Lock()
			after := l.answers["200"]
			l.mu.Unlock()
			assert.Greater(t, after-before, 10, "requests are acknowledged again once there is room")

			s := l.drain(t, col)
			lost, dup := l.verdict(t, s)
			spooled := DirBytes(t, filepath.Join(disk, "spool"))
			t.Logf("%d logs and %d traces acknowledged; %d lost, %d stored twice; answers %v; spool after drain %d bytes",
				l.acked(l.logs), l.acked(l.traces), lost, dup, l.answers, spooled)
			assert.Less(t, spooled, int64(2<<20), "the spool shrinks back once drained")
			col.Stop(t)
		})
	}
}

// ClickHouse writes an insert's deduplication token before it commits the
// insert's part; a kill -9 between the two leaves the part uncommitted (a
// tmp_insert_* directory) and the token recorded. The restarted collector
// forgets such tokens before its engine opens, so the insert, sent again
// under its token, is stored rather than dropped as a duplicate — while an
// insert that was committed is still dropped when sent again.
func TestATokenWhosePartWasNeverCommittedDoesNotDropTheRetry(t *testing.T) {
	dir := t.TempDir()
	col := StartCollector(t, dir)
	ctx := context.Background()
	_, err := col.Query(ctx, "CREATE TABLE crash_window (n UInt64) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100")
	require.NoError(t, err)
	insert := func(c *Collector, token string, from int) {
		t.Helper()
		_, err := c.Query(ctx, fmt.Sprintf("INSERT INTO crash_window SETTINGS insert_deduplication_token = '%s', async_insert = 0 SELECT number + %d FROM numbers(3)", token, from))
		require.NoError(t, err)
	}
	insert(col, "committed", 0)
	insert(col, "interrupted", 10)
	paths, err := col.Query(ctx, "SELECT name, path FROM system.parts WHERE table = 'crash_window' AND active ORDER BY name")
	require.NoError(t, err)
	col.Stop(t)
	lines := strings.Split(paths, "\n")
	require.Len(t, lines, 2)
	// The second insert's part, as the kill would have left it.
	_, path, _ := strings.Cut(lines[1], "\t")
	part := strings.TrimSuffix(path, "/")
	if !filepath.IsAbs(part) {
		part = filepath.Join(dir, "chdb", part)
	}
	require.DirExists(t, part)
	require.NoError(t, os.Rename(part, filepath.Join(filepath.Dir(part), "tmp_insert_"+filepath.Base(part))))

	col = StartCollector(t, dir)
	assert.Contains(t, col.Log(), "Forgot the deduplication tokens of inserts a crash left uncommitted")
	insert(col, "committed", 0)
	insert(col, "interrupted", 10)
	n, err := col.Query(ctx, "SELECT count(), sum(n) FROM crash_window")
	require.NoError(t, err)
	assert.Equal(t, "6\t36", n, "the committed insert once, the interrupted one stored on its retry")
	col.Stop(t)
}

// nestedJSON is an OTLP/JSON AnyValue of depth maps within each other, the
// innermost holding pad bytes of text.
func nestedJSON(depth, pad int) string {
	v := fmt.Sprintf(`{"stringValue":"%s"}`, strings.Repeat("x", pad))
	for range depth {
		v = `{"kvlistValue":{"values":[{"key":"k","value":` + v + `}]}}`
	}
	return v
}

// One request the collector could not store and read back — an attribute
// nested 40 levels deep, in OTLP/JSON, which the receiver decodes but the
// spool's protobuf decoder would not — beside senders of ordinary data: it
// is refused with a 400 that says what is wrong, nothing of it is stored,
// and the other senders lose nothing.
func TestAPoisonedRequestIsRefusedAndTheOthersLoseNothing(t *testing.T) {
	col := StartCollector(t, t.TempDir())
	l := newLedger()
	stop := make(chan struct{})
	wg := l.send(t, col, 2, 1, stop)
	time.Sleep(500 * time.Millisecond)

	logsBody := `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"poisoner"}}]},"scopeLogs":[{"logRecords":[
		{"severityText":"ERROR","severityNumber":17,"body":{"stringValue":"poison-1 fine"}},
		{"severityText":"ERROR","severityNumber":17,"body":{"stringValue":"poison-2 deep"},"attributes":[{"key":"payload","value":` + nestedJSON(40, 45000) + `}]}]}]}]}`
	tracesBody := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"poisoner"}}]},"scopeSpans":[{"spans":[
		{"traceId":"0f000000000000000000000000000001","spanId":"0f00000000000001","name":"poison-span-1"},
		{"traceId":"0f000000000000000000000000000001","spanId":"0f00000000000002","name":"poison-span-2","attributes":[{"key":"payload","value":` + nestedJSON(40, 100) + `}]}]}]}]}`
	for _, tc := range []struct{ path, body, want string }{
		{"/v1/logs", logsBody, `attribute \"payload\" nests 40 maps and lists`},
		{"/v1/traces", tracesBody, `attribute \"payload\" nests 40 maps and lists`},
	} {
		t.Logf("poisoned request to %s: %d bytes", tc.path, len(tc.body))
		resp, err := http.Post("http://"+col.OTLPHTTP+tc.path, "application/json", strings.NewReader(tc.body))
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.path)
		assert.Contains(t, string(b), tc.want, tc.path)
		assert.Contains(t, string(b), "flatten it", tc.path)
	}

	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	s := l.drain(t, col)
	lost, dup := l.verdict(t, s)
	t.Logf("beside the poisoned requests: %d logs and %d traces acknowledged, %d lost, %d stored twice; answers %v",
		l.acked(l.logs), l.acked(l.traces), lost, dup, l.answers)
	n, err := col.Query(context.Background(), "SELECT (SELECT count() FROM otel_logs WHERE ServiceName = 'poisoner') + (SELECT count() FROM otel_traces WHERE ServiceName = 'poisoner') + (SELECT count() FROM logs_with_embeddings WHERE ServiceName = 'poisoner')")
	require.NoError(t, err)
	assert.Equal(t, "0", n, "nothing of a refused request is stored")
	col.Stop(t)
}

// Overload: 8 senders flat out at a collector whose memory_limiter is set
// low (refusing above 100 MiB of Go heap). It answers 429 with Retry-After
// — RESOURCE_EXHAUSTED, which SDKs back off on — never 503, and once the
// senders stop it takes data again without a restart; what it acknowledged
// is stored exactly once.
func TestOverloadIsAnswered429AndPasses(t *testing.T) {
	col := StartCollector(t, t.TempDir(),
		"processors::memory_limiter::limit_mib=150", "processors::memory_limiter::spike_limit_mib=50")
	l := newLedger()
	stop := make(chan struct{})
	wg := l.send(t, col, 8, 0, stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		refused := l.answers["429"]
		l.mu.Unlock()
		if refused > 20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	l.mu.Lock()
	answers, retry := maps.Clone(l.answers), maps.Clone(l.retry)
	l.mu.Unlock()
	t.Logf("under overload: answers %v, Retry-After %v", answers, retry)
	assert.Greater(t, answers["429"], 20, "the overloaded collector refuses with 429")
	assert.Equal(t, answers["429"], retry["5"], "every 429 says when to retry")
	for code := range answers {
		assert.Contains(t, []string{"200", "429"}, code, "no other answer under overload")
	}
	assert.Contains(t, col.Log(), "Refusing data", "memory_limiter says why")

	// The load gone, it takes data again.
	require.Eventually(t, func() bool {
		ld, ids, isErr := l.logBatch(10)
		body, err := marshalLogs(ld)
		require.NoError(t, err)
		ok := l.post(newClient(), "http://"+col.OTLPHTTP+"/v1/logs", body)
		l.mu.Lock()
		for i, id := range ids {
			l.logs[id] = ok
			if isErr[i] {
				l.errorLogs[id] = ok
			}
		}
		l.mu.Unlock()
		return ok
	}, time.Minute, time.Second)
	s := l.drain(t, col)
	lost, dup := l.verdict(t, s)
	t.Logf("%d logs acknowledged: %d lost, %d stored twice", l.acked(l.logs), lost, dup)
	col.Stop(t)
}
