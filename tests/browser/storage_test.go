package browser

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// TestBothInputShapesReplayFromClickHouse stores one session as plain rrweb
// JSON batches and one as the HyperDX recorder's gzip'd OTLP protobuf, both
// with a full snapshot over 950 KiB, and reads each back with HyperDX's
// replay query: the events come back whole, and the rows have the shape
// HyperDX's session source expects (no browser needed).
func TestBothInputShapesReplayFromClickHouse(t *testing.T) {
	p := startPipeline(t, "browser_storage", false)
	r := rand.New(rand.NewPCG(3, 4))
	minute := sessionMinute(r, time.Now().Add(-5*time.Minute).UnixMilli())
	big := json.RawMessage(strings.Replace(fullSnapshot(r, func() func() int { n := 100000; return func() int { n++; return n } }(), time.Now().Add(-5*time.Minute).UnixMilli()+10), `"Agentic Shop"`, fmt.Sprintf("%q", strings.Repeat("Ünïcödé ✓ ", 110_000)), 1))
	require.Greater(t, len(big), 950*1024)
	minute[0] = append(minute[0], big)
	var sent []json.RawMessage
	for _, b := range minute {
		sent = append(sent, b...)
	}

	// Plain rrweb batches.
	for _, b := range minute {
		postJSON(t, p.receiverURL+"/rrweb", batchBody("shape-json", b))
	}
	// The HyperDX recorder: OTLP protobuf, gzip, rr-web.* as doubles, one
	// request per batch, chunking done by the recorder.
	offset := 0
	for bi, b := range minute {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", service)
		rl.Resource().Attributes().PutStr("rum.sessionId", "shape-otlp")
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName("rum.rr-web")
		for ei, e := range b {
			var h struct{ Timestamp int64 }
			require.NoError(t, json.Unmarshal(e, &h))
			const chunk = 950 * 1024
			body := string(e)
			total := (len(body) + chunk - 1) / chunk
			for c := range total {
				offset++
				lr := sl.LogRecords().AppendEmpty()
				lr.SetTimestamp(pcommon.Timestamp(h.Timestamp * int64(time.Millisecond)))
				lr.Body().SetStr(body[c*chunk : min(len(body), (c+1)*chunk)])
				lr.Attributes().PutDouble("rr-web.offset", float64(offset))
				lr.Attributes().PutDouble("rr-web.event", float64(bi*1000+ei+1))
				lr.Attributes().PutDouble("rr-web.chunk", float64(c+1))
				lr.Attributes().PutDouble("rr-web.total-chunks", float64(total))
			}
		}
		pb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		require.NoError(t, err)
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, err = zw.Write(pb)
		require.NoError(t, err)
		require.NoError(t, zw.Close())
		req, err := http.NewRequest(http.MethodPost, p.receiverURL+"/v1/logs", &gz)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Authorization", "ingestion-key")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		msg, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(msg))
	}

	canon := func(events []json.RawMessage) map[string]int {
		out := map[string]int{}
		for _, e := range events {
			var v any
			require.NoError(t, json.Unmarshal(e, &v))
			b, err := json.Marshal(v)
			require.NoError(t, err)
			out[string(b)]++
		}
		return out
	}
	for _, session := range []string{"shape-json", "shape-otlp"} {
		got, chunked := p.replayEvents(t, service, session)
		assert.Len(t, got, len(sent), session)
		assert.Positive(t, chunked, session)
		assert.Equal(t, canon(sent), canon(got), "%s: every event comes back whole", session)
	}

	// The rows as HyperDX's session source reads them.
	row := p.query(t, `SELECT ScopeName, SeverityText, SeverityNumber, TimestampTime = toDateTime(Timestamp),
		LogAttributes['rr-web.chunk'], mapContains(LogAttributes, 'rr-web.event'), ResourceAttributes['service.name']
	FROM hyperdx_sessions WHERE ResourceAttributes['rum.sessionId'] = 'shape-otlp' ORDER BY Timestamp LIMIT 1 FORMAT TSV`, nil)
	assert.Equal(t, "rum.rr-web\t\t0\t1\t1\t1\t"+service+"\n", row)
	// And the session tables have both sessions.
	rows := p.query(t, `SELECT SessionId, PageViews, length(TraceIds) > 0 FROM otel_sessions FINAL
		WHERE SessionId LIKE 'shape-%' ORDER BY SessionId FORMAT TSV`, nil)
	assert.Equal(t, "shape-json\t3\t1\nshape-otlp\t3\t1\n", rows)
}
