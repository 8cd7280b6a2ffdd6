package clickhousevectorexporter

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter/internal/metadata"
	"github.com/otelcol-agentic/otelcol-agentic/internal/insertdedup"
	"github.com/otelcol-agentic/otelcol-agentic/internal/vecattr"
)

// summaries is a batch of trace summaries as the embedding processor
// emits them, scored score.
func summaries(n int, score float64) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	now := time.Now()
	for i := range n {
		sp := spans.AppendEmpty()
		sp.SetTraceID(pcommon.TraceID([16]byte{4, byte(i)}))
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		a := sp.Attributes()
		a.PutStr(vecattr.SpanSequence, "frontend GET / -> cart GET /cart")
		a.PutInt(vecattr.SpanCount, 2)
		a.PutDouble(vecattr.AnomalyScore, score)
	}
	return td
}

// Every insert of a delivery carries its deduplication token, those that
// set query settings of their own too: a batch of summaries sent again
// under its token — scored differently, as after a restart the anomaly
// model has learnt otherwise — is stored once. (The trace insert's own
// setting used to replace the token's.)
func TestTraceSummariesSentAgainUnderTheirTokenAreStoredOnce(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t, "dedup_traces")
	exp, err := NewFactory().CreateTraces(ctx, exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(ctx, componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(ctx)) }()
	first := insertdedup.WithToken(ctx, "spool/traces/traces/vector/g17.0")
	require.NoError(t, exp.ConsumeTraces(first, summaries(5, 0.1)))
	require.NoError(t, exp.ConsumeTraces(insertdedup.WithToken(ctx, "spool/traces/traces/vector/g17.0"), summaries(5, 2.5)))
	require.NoError(t, exp.ConsumeTraces(insertdedup.WithToken(ctx, "spool/traces/traces/vector/g18.0"), summaries(2, 0.3)))
	var n uint64
	require.NoError(t, openConn(t, cfg).QueryRow(ctx, "SELECT count() FROM traces_with_embeddings").Scan(&n))
	assert.Equal(t, uint64(7), n)
}
