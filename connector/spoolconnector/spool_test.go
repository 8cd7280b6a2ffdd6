package spoolconnector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector/internal/metadata"
	spoollog "github.com/otelcol-agentic/otelcol-agentic/internal/spool"
)

// sink is a pipeline that stores what it takes, by record id, and can be
// told to fail.
type sink struct {
	mu       sync.Mutex
	ids      map[string]int // log body or span name -> times stored
	tokens   []string
	attempts int
	batches  int
	fail     func(ids []string) error // nil: take everything
	block    chan struct{}            // non-nil: wait on it before taking
}

func newSink() *sink { return &sink{ids: map[string]int{}} }

func (s *sink) take(ctx context.Context, ids []string) error {
	s.mu.Lock()
	block := s.block
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if s.fail != nil {
		if err := s.fail(ids); err != nil {
			return err
		}
	}
	s.batches++
	s.tokens = append(s.tokens, tokenFrom(ctx))
	for _, id := range ids {
		s.ids[id]++
	}
	return nil
}

func (s *sink) stored() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.ids))
	for k, v := range s.ids {
		out[k] = v
	}
	return out
}

func (s *sink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *sink) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var ids []string
	for i := range ld.ResourceLogs().Len() {
		sls := ld.ResourceLogs().At(i).ScopeLogs()
		for j := range sls.Len() {
			for k := range sls.At(j).LogRecords().Len() {
				ids = append(ids, sls.At(j).LogRecords().At(k).Body().Str())
			}
		}
	}
	return s.take(ctx, ids)
}

func (s *sink) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	var ids []string
	for i := range td.ResourceSpans().Len() {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := range sss.Len() {
			for k := range sss.At(j).Spans().Len() {
				ids = append(ids, sss.At(j).Spans().At(k).Name())
			}
		}
	}
	return s.take(ctx, ids)
}

func testConfig(dir string) *Config {
	cfg := createDefaultConfig()
	cfg.Directory = dir
	cfg.MaxBytes = 64 << 20
	cfg.MinFreeBytes = 1
	cfg.Batch = BatchConfig{MinSize: 50, MaxSize: 200, FlushTimeout: 50 * time.Millisecond}
	cfg.RetryOnFailure = RetryConfig{InitialInterval: 5 * time.Millisecond, MaxInterval: 20 * time.Millisecond}
	return cfg
}

var (
	storeID  = pipeline.NewIDWithName(pipeline.SignalLogs, "store")
	vectorID = pipeline.NewIDWithName(pipeline.SignalLogs, "vector")
)

func startLogs(t *testing.T, cfg *Config, sinks map[pipeline.ID]*sink) connector.Logs {
	t.Helper()
	cons := map[pipeline.ID]consumer.Logs{}
	for id, s := range sinks {
		cons[id] = s
	}
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "logs")
	c, err := NewFactory().CreateLogsToLogs(context.Background(), set, cfg, connector.NewLogsRouter(cons))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	return c
}

func logsOf(ids ...string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "svc")
	recs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, id := range ids {
		recs.AppendEmpty().Body().SetStr(id)
	}
	return ld
}

func ids(prefix string, from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func waitStored(t *testing.T, s *sink, want []string) {
	t.Helper()
	require.Eventually(t, func() bool {
		got := s.stored()
		for _, id := range want {
			if got[id] == 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond)
}

func assertOnce(t *testing.T, s *sink, want []string) {
	t.Helper()
	got := s.stored()
	for _, id := range want {
		assert.Equal(t, 1, got[id], "record %s", id)
	}
	assert.Len(t, got, len(want))
}

func TestDeliversEveryRecordToEveryPipelineOnceInBatches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, vector := newSink(), newSink()
	c := startLogs(t, testConfig(dir), map[pipeline.ID]*sink{storeID: store, vectorID: vector})
	var all []string
	for i := range 40 {
		batch := ids("r", i*10, i*10+10)
		all = append(all, batch...)
		require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(batch...)))
	}
	waitStored(t, store, all)
	waitStored(t, vector, all)
	require.NoError(t, c.Shutdown(context.Background()))
	assertOnce(t, store, all)
	assertOnce(t, vector, all)
	assert.Less(t, store.batches, 40, "requests are merged into batches")
	for _, tok := range store.tokens {
		assert.True(t, strings.HasPrefix(tok, "spool/logs/logs/store/"), tok)
	}

	// Started again on the same directory, nothing is sent twice, and the
	// delivered segments are gone.
	store2, vector2 := newSink(), newSink()
	c2 := startLogs(t, testConfig(dir), map[pipeline.ID]*sink{storeID: store2, vectorID: vector2})
	require.NoError(t, c2.ConsumeLogs(context.Background(), logsOf("after")))
	waitStored(t, store2, []string{"after"})
	waitStored(t, vector2, []string{"after"})
	require.NoError(t, c2.Shutdown(context.Background()))
	assertOnce(t, store2, []string{"after"})
}

// A pipeline that fails is retried with the same token until it takes the
// batch; the pipeline beside it gets the batch once.
func TestRetriesAFailingPipelineUnderTheSameToken(t *testing.T) {
	t.Parallel()
	store, vector := newSink(), newSink()
	failures := 0
	store.fail = func([]string) error {
		if failures < 2 {
			failures++
			return errors.New("ClickHouse is down")
		}
		return nil
	}
	c := startLogs(t, testConfig(t.TempDir()), map[pipeline.ID]*sink{storeID: store, vectorID: vector})
	want := ids("r", 0, 60)
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(want...)))
	waitStored(t, store, want)
	waitStored(t, vector, want)
	require.NoError(t, c.Shutdown(context.Background()))
	assertOnce(t, store, want)
	assertOnce(t, vector, want)
	assert.Equal(t, 3, store.attempts)
	require.Len(t, store.tokens, 1)
	require.Len(t, vector.tokens, 1)
	assert.Equal(t, strings.Replace(store.tokens[0], "logs/store", "logs/vector", 1), vector.tokens[0])
}

// What a crash leaves on disk — a batch recorded as on its way and not
// recorded as delivered — is sent again at the next start, as the same
// batch under the same token (which ClickHouse then drops if the first
// attempt got through).
func TestABatchOnItsWayIsSentAgainAfterACrashUnderItsToken(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, vector := newSink(), newSink()
	release := make(chan struct{})
	store.block = release
	c := startLogs(t, testConfig(dir), map[pipeline.ID]*sink{storeID: store, vectorID: vector})
	want := ids("r", 0, 60)
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(want...)))
	// The batch is on its way (store is blocked in it): take the disk as a
	// kill -9 would leave it.
	require.Eventually(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "spool_logs", "logs", "batch.state"))
		return strings.Contains(string(b), `"in_flight"`)
	}, 5*time.Second, 5*time.Millisecond)
	crashed := filepath.Join(t.TempDir(), "crashed")
	require.NoError(t, os.CopyFS(crashed, os.DirFS(dir)))
	close(release)
	waitStored(t, store, want)
	waitStored(t, vector, want)
	require.NoError(t, c.Shutdown(context.Background()))
	first := store.tokens[0]

	store2, vector2 := newSink(), newSink()
	c2 := startLogs(t, testConfig(crashed), map[pipeline.ID]*sink{storeID: store2, vectorID: vector2})
	waitStored(t, store2, want)
	waitStored(t, vector2, want)
	require.NoError(t, c2.Shutdown(context.Background()))
	assertOnce(t, store2, want)
	require.Len(t, store2.tokens, 1)
	assert.Equal(t, first, store2.tokens[0], "the same batch, the same token")
}

// A request a pipeline keeps refusing while it takes the others is set
// aside, whole, in the dead-letter directory; nothing else is lost.
func TestAPoisonedRequestIsSetAsideAndTheOthersGetThrough(t *testing.T) {
	t.Parallel()
	for _, permanent := range []bool{false, true} {
		t.Run(fmt.Sprintf("permanent=%v", permanent), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			store, vector := newSink(), newSink()
			store.fail = func(ids []string) error {
				for _, id := range ids {
					if id == "poison" {
						err := errors.New("code: 27, Cannot parse input")
						if permanent {
							return consumererror.NewPermanent(err)
						}
						return err
					}
				}
				return nil
			}
			cfg := testConfig(dir)
			cfg.Batch.MinSize = 1000 // all three requests in one batch
			c := startLogs(t, cfg, map[pipeline.ID]*sink{storeID: store, vectorID: vector})
			good1, good2 := ids("a", 0, 30), ids("b", 0, 30)
			require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(good1...)))
			require.NoError(t, c.ConsumeLogs(context.Background(), logsOf("poison")))
			require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(good2...)))
			want := append(append([]string{}, good1...), good2...)
			waitStored(t, store, want)
			waitStored(t, vector, append(want, "poison"))
			require.Eventually(t, func() bool {
				files, _ := filepath.Glob(filepath.Join(dir, "spool_logs", "logs", "deadletter", "*.otlp.pb"))
				return len(files) == 1
			}, 10*time.Second, 5*time.Millisecond)
			require.NoError(t, c.Shutdown(context.Background()))
			assertOnce(t, store, want)
			files, _ := filepath.Glob(filepath.Join(dir, "spool_logs", "logs", "deadletter", "*.otlp.pb"))
			require.Len(t, files, 1)
			assert.Contains(t, filepath.Base(files[0]), "logs_store")
			b, err := os.ReadFile(files[0])
			require.NoError(t, err)
			back, err := logsCodec.unmarshal(b)
			require.NoError(t, err, "the file is the request as OTLP protobuf")
			assert.Equal(t, "poison", back.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str())
		})
	}
}

// While the pipelines take nothing, nothing is set aside.
func TestNothingIsSetAsideWhileAPipelineTakesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := newSink()
	var mu sync.Mutex
	down := true
	store.fail = func([]string) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("connection refused")
		}
		return nil
	}
	c := startLogs(t, testConfig(dir), map[pipeline.ID]*sink{storeID: store})
	var want []string
	for i := range 5 {
		batch := ids(fmt.Sprintf("r%d-", i), 0, 100)
		want = append(want, batch...)
		require.NoError(t, c.ConsumeLogs(context.Background(), logsOf(batch...)))
	}
	time.Sleep(500 * time.Millisecond) // many failed attempts, whole and one by one
	mu.Lock()
	down = false
	mu.Unlock()
	waitStored(t, store, want)
	require.NoError(t, c.Shutdown(context.Background()))
	assertOnce(t, store, want)
	files, _ := filepath.Glob(filepath.Join(dir, "spool_logs", "logs", "deadletter", "*"))
	assert.Empty(t, files)
}

func TestRefusesWhenFullAndTakesAgainOnceDrained(t *testing.T) {
	t.Parallel()
	store := newSink()
	release := make(chan struct{})
	store.block = release
	cfg := testConfig(t.TempDir())
	cfg.MaxBytes = 1 << 20
	c := startLogs(t, cfg, map[pipeline.ID]*sink{storeID: store})
	big := strings.Repeat("x", 10000)
	var err error
	accepted := 0
	for i := range 500 {
		if err = c.ConsumeLogs(context.Background(), logsOf(fmt.Sprintf("%d%s", i, big))); err != nil {
			break
		}
		accepted++
	}
	require.Error(t, err)
	assert.Greater(t, accepted, 50)
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "max_bytes")
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	require.NotNil(t, retry, "the refusal tells senders when to retry")
	assert.Equal(t, 5*time.Second, retry.GetRetryDelay().AsDuration())

	close(release)
	require.Eventually(t, func() bool {
		return c.ConsumeLogs(context.Background(), logsOf("again")) == nil
	}, 10*time.Second, 10*time.Millisecond, "the spool takes data again once the pipeline drains it")
	require.NoError(t, c.Shutdown(context.Background()))
}

func TestRefusesWhatItCannotReadBack(t *testing.T) {
	t.Parallel()
	store := newSink()
	c := startLogs(t, testConfig(t.TempDir()), map[pipeline.ID]*sink{storeID: store})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	ld := logsOf("ok")
	nest(ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutEmpty("deep"), 40, "m")
	err := c.ConsumeLogs(context.Background(), ld)
	st, ok := status.FromError(err)
	require.True(t, ok)
	assert.Equal(t, codes.InvalidArgument, st.Code())
	assert.Contains(t, st.Message(), `attribute "deep" nests 40 maps`)
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf("fine")))
	waitStored(t, store, []string{"fine"})
	assert.Zero(t, store.stored()["ok"])
}

var (
	rawTracesID     = pipeline.NewIDWithName(pipeline.SignalTraces, "store")
	groupedTracesID = pipeline.NewIDWithName(pipeline.SignalTraces, "vector")
)

func startTraces(t *testing.T, cfg *Config, raw, grouped *sink) connector.Traces {
	t.Helper()
	cfg.GroupByTrace.Pipelines = []pipeline.ID{groupedTracesID}
	set := connectortest.NewNopSettings(metadata.Type)
	set.ID = component.NewIDWithName(metadata.Type, "traces")
	c, err := NewFactory().CreateTracesToTraces(context.Background(), set, cfg,
		connector.NewTracesRouter(map[pipeline.ID]consumer.Traces{rawTracesID: raw, groupedTracesID: grouped}))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	return c
}

// spansOf makes one span per name, in trace tid.
func spansOf(tid byte, names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	for i, n := range names {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{tid}))
		sp.SetSpanID(pcommon.SpanID([8]byte{tid, byte(i + 1)}))
		sp.SetName(n)
	}
	return td
}

func TestGroupsSpansIntoWholeTracesFromTheSpool(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	raw := newSink()
	grouped := newSink()
	var mu sync.Mutex
	deliveries := map[string][]string{} // per grouped delivery: the spans of trace 1
	grouped.fail = func(names []string) error {
		mu.Lock()
		defer mu.Unlock()
		var t1 []string
		for _, n := range names {
			if strings.HasPrefix(n, "t1-") {
				t1 = append(t1, n)
			}
		}
		if len(t1) > 0 {
			deliveries[strings.Join(t1, ",")] = t1
		}
		return nil
	}
	cfg := testConfig(dir)
	cfg.GroupByTrace.WaitDuration = 300 * time.Millisecond
	c := startTraces(t, cfg, raw, grouped)
	// Trace 1 arrives in three requests within its wait; trace 2 beside it.
	require.NoError(t, c.ConsumeTraces(context.Background(), spansOf(1, "t1-a")))
	require.NoError(t, c.ConsumeTraces(context.Background(), spansOf(2, "t2-a", "t2-b")))
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, c.ConsumeTraces(context.Background(), spansOf(1, "t1-b")))
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, c.ConsumeTraces(context.Background(), spansOf(1, "t1-c")))
	all := []string{"t1-a", "t1-b", "t1-c", "t2-a", "t2-b"}
	// Nothing more arrives: ticks move the spool's clock on.
	waitStored(t, grouped, all)
	waitStored(t, raw, all)
	require.NoError(t, c.Shutdown(context.Background()))
	assertOnce(t, grouped, all)
	assertOnce(t, raw, all)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, deliveries, 1, "trace 1 was delivered whole, once")
	for _, spans := range deliveries {
		assert.ElementsMatch(t, []string{"t1-a", "t1-b", "t1-c"}, spans)
	}
	for _, tok := range grouped.tokens {
		assert.Contains(t, tok, "spool/traces/traces/vector/g")
	}
}

// Read again after a crash, the spool releases the same traces together at
// the same points of the log, under the same tokens.
func TestGroupingIsTheSameWhenTheSpoolIsReadAgain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The other pipeline takes nothing, so the log is kept whole.
	down := func([]string) error { return errors.New("down") }
	raw, grouped := newSink(), newSink()
	raw.fail = down
	cfg := testConfig(dir)
	cfg.GroupByTrace.WaitDuration = 100 * time.Millisecond
	cfg.Batch.MinSize = 4
	c := startTraces(t, cfg, raw, grouped)
	var all []string
	for i := range 30 {
		names := []string{fmt.Sprintf("s%d-a", i), fmt.Sprintf("s%d-b", i)}
		all = append(all, names...)
		require.NoError(t, c.ConsumeTraces(context.Background(), spansOf(byte(i+1), names...)))
		time.Sleep(15 * time.Millisecond)
	}
	waitStored(t, grouped, all)
	require.NoError(t, c.Shutdown(context.Background()))
	assertOnce(t, grouped, all)
	assert.Greater(t, len(grouped.tokens), 3)

	// Forget every delivery of the grouper (as if none had been recorded
	// before a crash): reading the whole log again gives the same tokens.
	require.NoError(t, os.Remove(filepath.Join(dir, "spool_traces", "traces", "group.state")))
	raw2, grouped2 := newSink(), newSink()
	raw2.fail = down
	c2 := startTraces(t, cfg, raw2, grouped2)
	require.Eventually(t, func() bool {
		grouped2.mu.Lock()
		defer grouped2.mu.Unlock()
		return len(grouped2.tokens) >= len(grouped.tokens)
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c2.Shutdown(context.Background()))
	assert.Equal(t, grouped.tokens, grouped2.tokens)
}

// A spooled record that does not decode (written by another version, or
// damaged) is set aside whole in the dead-letter directory and counted; the
// records around it are delivered.
func TestARecordThatDoesNotDecodeIsSetAside(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := newSink()
	c := startLogs(t, testConfig(dir), map[pipeline.ID]*sink{storeID: store})
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf("before")))
	bad, err := c.(*logsSpool).log.Append(spoollog.KindData, []byte{0x0a, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	require.NoError(t, c.ConsumeLogs(context.Background(), logsOf("after")))
	waitStored(t, store, []string{"before", "after"})
	require.NoError(t, c.Shutdown(context.Background()))
	b, err := os.ReadFile(filepath.Join(dir, "spool_logs", "logs", "deadletter", fmt.Sprintf("r%d.undecodable.logs.otlp.pb", bad.Seq)))
	require.NoError(t, err)
	assert.Equal(t, []byte{0x0a, 0xff, 0xff, 0xff}, b)
	assertOnce(t, store, []string{"before", "after"})
}

// A record with neither timestamp is given the time it was received as
// its observed time (else stored as 1970 and dropped by retention at
// once); timed records and the caller's data are left as they are.
func TestUntimedRecordsAreStampedOnReceipt(t *testing.T) {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().SetTimestamp(pcommon.Timestamp(42))
	lrs.AppendEmpty().SetObservedTimestamp(pcommon.Timestamp(43))
	lrs.AppendEmpty()
	now := time.Unix(1_800_000_000, 0)
	out := stampUntimed(ld, now)
	got := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	require.Equal(t, 3, got.Len())
	assert.Equal(t, pcommon.Timestamp(42), got.At(0).Timestamp())
	assert.Equal(t, pcommon.Timestamp(0), got.At(0).ObservedTimestamp())
	assert.Equal(t, pcommon.Timestamp(43), got.At(1).ObservedTimestamp())
	assert.Equal(t, pcommon.NewTimestampFromTime(now), got.At(2).ObservedTimestamp())
	assert.Equal(t, pcommon.Timestamp(0), lrs.At(2).ObservedTimestamp(), "the caller's data is not changed")
	timed := plog.NewLogs()
	timed.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().SetTimestamp(1)
	assert.Equal(t, timed, stampUntimed(timed, now), "timed data passes as it is")
}
