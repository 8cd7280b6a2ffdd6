package clickhousevectorexporter

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/occenc"
)

// mixedRequest is a logsRequest of embedded error logs plus a browser
// session's records, as the exporter's converter reads them.
func mixedRequest(t testing.TB, n int) *logsRequest {
	t.Helper()
	ld := embedLogs(t, errorLogs(n))
	sessionLogs("s-1", []string{"0af7651916cd43dd8448eb211c80319c"}, []sessionRecord{
		whole(4, 1_700_000_000_000, `{"type":4,"data":{"href":"http://shop/"}}`),
		whole(3, 1_700_000_000_100, `{"type":3,"data":{"source":2}}`),
	}).ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
	w := newWriter(createDefaultConfig(), nil)
	req, err := w.logsRequestFrom(context.Background(), ld)
	require.NoError(t, err)
	return req.(*logsRequest)
}

func TestLogsRequestReadsOccurrencesAndSessions(t *testing.T) {
	r := mixedRequest(t, 40)
	require.Len(t, r.occ, 40)
	assert.Equal(t, 2, r.nSession)
	assert.Equal(t, 42, r.ItemsCount())
	byHash := map[uint64][]float32{}
	for _, o := range r.occ {
		assert.Equal(t, "inventory", o.Service)
		assert.Equal(t, "ERROR", o.Severity)
		assert.NotEmpty(t, o.Template)
		assert.Len(t, o.TraceID, 32)
		// The processor sends a template's vector on its first record only;
		// every occurrence of the template gets it.
		require.Len(t, o.Vec, 384, o.Template)
		if v, ok := byHash[o.Hash]; ok {
			assert.Equal(t, &v[0], &o.Vec[0], "one vector per template, shared")
		}
		byHash[o.Hash] = o.Vec
	}
	assert.Len(t, byHash, 4)
}

func TestLogsEncodingRoundTrip(t *testing.T) {
	r := mixedRequest(t, 40)
	b, err := logsEncoding{}.Marshal(context.Background(), r)
	require.NoError(t, err)
	pdataSize, err := (&plog.ProtoMarshaler{}).MarshalLogs(embedLogs(t, errorLogs(40)))
	require.NoError(t, err)
	t.Logf("40 occurrences + 2 session records: %d bytes; the same errors as OTLP protobuf: %d bytes", len(b), len(pdataSize))

	_, got, err := logsEncoding{}.Unmarshal(b)
	require.NoError(t, err)
	g := got.(*logsRequest)
	require.Len(t, g.occ, len(r.occ))
	for i := range r.occ {
		want, have := r.occ[i], g.occ[i]
		assert.True(t, want.TS.Equal(have.TS), "ts %v != %v", want.TS, have.TS)
		want.TS = have.TS
		assert.Equal(t, want, have)
	}
	assert.Equal(t, 2, g.nSession)
	assert.Equal(t, 2, g.sessions.LogRecordCount())
	assert.Equal(t, "rum.rr-web", g.sessions.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())

	_, _, err = logsEncoding{}.Unmarshal(append([]byte{9}, b[1:]...))
	assert.ErrorContains(t, err, "version 9")
	_, _, err = logsEncoding{}.Unmarshal(b[:len(b)-1])
	assert.ErrorIs(t, err, occenc.ErrDamaged)
}

func TestLogsRequestMergeSplit(t *testing.T) {
	ctx := context.Background()
	a, b := mixedRequest(t, 30), mixedRequest(t, 25)
	parts, err := a.MergeSplit(ctx, 20, exporterhelper.RequestSizerTypeItems, b)
	require.NoError(t, err)
	var sizes []int
	occ := 0
	for _, p := range parts {
		sizes = append(sizes, p.ItemsCount())
		occ += len(p.(*logsRequest).occ)
	}
	// 55 occurrences and 4 session records: the records ride with the first.
	assert.Equal(t, []int{20, 20, 19}, sizes)
	assert.Equal(t, 55, occ)
	assert.Equal(t, 4, parts[0].(*logsRequest).nSession)
	assert.Equal(t, 4, parts[0].(*logsRequest).sessions.LogRecordCount())

	// Without a limit, a merge is one request.
	one, err := mixedRequest(t, 3).MergeSplit(ctx, 0, exporterhelper.RequestSizerTypeItems, mixedRequest(t, 4))
	require.NoError(t, err)
	require.Len(t, one, 1)
	assert.Equal(t, 11, one[0].ItemsCount())

	// By bytes: every part within the limit unless one occurrence alone is
	// larger.
	big := mixedRequest(t, 50)
	limit := big.BytesSize() / 4
	parts, err = big.MergeSplit(ctx, limit, exporterhelper.RequestSizerTypeBytes, nil)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(parts), 4)
	occ = 0
	for _, p := range parts {
		assert.LessOrEqual(t, p.BytesSize(), limit)
		occ += len(p.(*logsRequest).occ)
	}
	assert.Equal(t, 50, occ)

	_, err = big.MergeSplit(ctx, 10, exporterhelper.RequestSizerTypeRequests, nil)
	assert.Error(t, err)
}

// The exporter declares that it leaves batches alone, so the collector
// hands it a batch other consumers share without a copy: its requests must
// then be copies, which merging (which moves session records between
// requests) may change without touching the batch.
func TestLogsExporterLeavesBatchesAlone(t *testing.T) {
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	assert.False(t, exp.Capabilities().MutatesData)

	w := newWriter(createDefaultConfig(), nil)
	batch := func() plog.Logs {
		return sessionLogs("s-1", []string{"0af7651916cd43dd8448eb211c80319c"}, []sessionRecord{
			whole(4, 1_700_000_000_000, `{"type":4,"data":{"href":"http://shop/"}}`),
			whole(3, 1_700_000_000_100, `{"type":3,"data":{"source":2}}`),
		})
	}
	first, second := batch(), batch()
	before := plog.NewLogs()
	first.CopyTo(before)
	r1, err := w.logsRequestFrom(context.Background(), first)
	require.NoError(t, err)
	r2, err := w.logsRequestFrom(context.Background(), second)
	require.NoError(t, err)
	merged, err := r1.(*logsRequest).MergeSplit(context.Background(), 0, exporterhelper.RequestSizerTypeItems, r2)
	require.NoError(t, err)
	require.Len(t, merged, 1)
	assert.Equal(t, 4, merged[0].ItemsCount())
	assert.Equal(t, 2, first.LogRecordCount())
	assert.Equal(t, 2, second.LogRecordCount(), "merging must not move records out of the batch")
	assert.Equal(t, before, first)
}
