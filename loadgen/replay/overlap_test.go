package replay

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// Copies that overlap share a stretch of time and nothing else; the next
// group follows one recording's length (and the gap) later. A 429 is waited
// out and the request sent again.
func TestOverlappingCopiesShareTimeNotIDs(t *testing.T) {
	recStart := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var frames []Frame
	for i := range 3 {
		td := ptrace.NewTraces()
		s := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i + 1)})
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		at := recStart.Add(time.Duration(i) * time.Minute)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(at))
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		require.NoError(t, err)
		frames = append(frames, Frame{Kind: KindOTLP, At: at, Path: "/v1/traces", Body: body})
	}
	var mu sync.Mutex
	starts := map[string]time.Time{}
	pushedBack := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !pushedBack {
			pushedBack = true
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		b, _ := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		starts[s.TraceID().String()] = s.StartTimestamp().AsTime()
	}))
	defer srv.Close()

	window := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	st, err := Replay(context.Background(), frames, Options{Target: srv.URL, Start: window, Copies: 4, Overlap: 2, Seed: 1})
	require.NoError(t, err)
	assert.Equal(t, int64(12), st.Requests)
	assert.GreaterOrEqual(t, st.Retries, int64(1), "the 429 was retried")
	require.Len(t, starts, 12, "every copy has its own trace ids")
	period := 2*time.Minute + copyGap
	perStart := map[time.Time]int{}
	for _, at := range starts {
		perStart[at]++
	}
	for i := range 3 {
		at := window.Add(time.Duration(i) * time.Minute)
		assert.Equal(t, 2, perStart[at], "two copies share %s", at)
		assert.Equal(t, 2, perStart[at.Add(period)], "the next two follow one recording later")
	}
	assert.Equal(t, window.Add(2*period), st.WindowEnd)
}
