package replay

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// A trace id maps alike in the telemetry (bytes) and in the ground truth
// (hex), so the shifted ground truth names the replayed traces; another
// seed gives other ids; times move by the shift.
func TestRewriterMapsIDsAlikeEverywhere(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("session.id", "0f8fad5b-d9cb-469f-a165-70867728950e")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	tid := pcommon.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	s.SetTraceID(tid)
	s.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Second)))
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)

	rw := NewRewriter(-48*time.Hour, 7)
	out, err := rw.OTLP("/v1/traces", body)
	require.NoError(t, err)
	req := ptraceotlp.NewExportRequest()
	require.NoError(t, req.UnmarshalProto(out))
	got := req.Traces().ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	assert.NotEqual(t, tid, got.TraceID())
	assert.Equal(t, rw.ID(tid.String()), got.TraceID().String(), "hex and bytes map alike")
	assert.Equal(t, start.Add(-48*time.Hour), got.StartTimestamp().AsTime())
	sess, _ := req.Traces().ResourceSpans().At(0).Resource().Attributes().Get("session.id")
	assert.NotEqual(t, "0f8fad5b-d9cb-469f-a165-70867728950e", sess.Str())
	assert.Len(t, sess.Str(), 36, "a session id keeps its form")

	line, err := rw.Truth([]byte(`{"kind":"error_journey","session_id":"0f8fad5b-d9cb-469f-a165-70867728950e","start":"2026-12-01T10:00:00Z",` +
		`"trace_ids":["` + tid.String() + `"],"requests":[{"trace_id":"` + tid.String() + `","route":"/pay","end":"2026-12-01T10:00:01Z"}]}`))
	require.NoError(t, err)
	var truth struct {
		SessionID string    `json:"session_id"`
		Start     time.Time `json:"start"`
		TraceIDs  []string  `json:"trace_ids"`
		Requests  []struct {
			TraceID string    `json:"trace_id"`
			Route   string    `json:"route"`
			End     time.Time `json:"end"`
		} `json:"requests"`
	}
	require.NoError(t, json.Unmarshal(line, &truth))
	assert.Equal(t, sess.Str(), truth.SessionID, "the ground truth names the replayed session")
	assert.Equal(t, []string{got.TraceID().String()}, truth.TraceIDs, "and the replayed trace")
	assert.Equal(t, got.TraceID().String(), truth.Requests[0].TraceID)
	assert.Equal(t, "/pay", truth.Requests[0].Route)
	assert.True(t, truth.Start.Equal(start.Add(-48*time.Hour)))
	assert.True(t, truth.Requests[0].End.Equal(start.Add(-48*time.Hour+time.Second)))

	other := NewRewriter(0, 8)
	assert.NotEqual(t, rw.ID(tid.String()), other.ID(tid.String()), "another seed, other ids")
	assert.Equal(t, tid.String(), other.ID(other.ID(tid.String())), "re-seeding is reversible, so distinct ids stay distinct")
}

func TestParseShift(t *testing.T) {
	now := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	got, err := parseShift("-24h", now)
	require.NoError(t, err)
	assert.Equal(t, now.Add(-24*time.Hour), got)
	got, err = parseShift("2026-12-01T00:00:00Z", now)
	require.NoError(t, err)
	assert.Equal(t, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), got)
	_, err = parseShift("yesterday", now)
	assert.ErrorContains(t, err, "RFC 3339")
}
