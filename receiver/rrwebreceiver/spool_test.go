package rrwebreceiver

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pipeline"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector"
)

// A browser's request that the collector could not store and read back (a
// value nested deeper than its spool's decoder reaches) is refused with a
// 400 that says what was wrong, before it is acknowledged, and nothing of
// it is stored; the next request is.
func TestADeeplyNestedRecordIsRefusedBeforeItIsStored(t *testing.T) {
	sink := new(consumertest.LogsSink)
	f := spoolconnector.NewFactory()
	cfg := f.CreateDefaultConfig()
	spoolCfg := cfg.(*spoolconnector.Config)
	spoolCfg.Directory = t.TempDir()
	spoolCfg.Batch.MinSize, spoolCfg.Batch.FlushTimeout = 1, 10*time.Millisecond
	spool, err := f.CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(f.Type()), cfg,
		connector.NewLogsRouter(map[pipeline.ID]consumer.Logs{pipeline.NewID(pipeline.SignalLogs): sink}))
	require.NoError(t, err)
	require.NoError(t, spool.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, spool.Shutdown(context.Background())) }()
	r := startReceiver(t, nil, spool)

	deep := recorderLogs("s-deep", sampleEvents())
	v := deep.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).Attributes().PutEmpty("rr-web.extra")
	for range 40 {
		v = v.SetEmptyMap().PutEmpty("k")
	}
	v.SetStr("leaf")
	body, err := plogotlp.NewExportRequestFromLogs(deep).MarshalJSON()
	require.NoError(t, err)
	code, answer := post(t, r.url+PathLogs, "application/json", body)
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, message(answer), `attribute "rr-web.extra" nests 40 maps and lists`)

	good, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s-good", sampleEvents())).MarshalJSON()
	require.NoError(t, err)
	code, answer = post(t, r.url+PathLogs, "application/json", good)
	require.Equal(t, http.StatusOK, code, answer)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == len(sampleEvents()) }, 10*time.Second, 10*time.Millisecond)
	for _, ld := range sink.AllLogs() {
		sid, _ := ld.ResourceLogs().At(0).Resource().Attributes().Get("rum.sessionId")
		assert.Equal(t, "s-good", sid.Str(), "nothing of the refused request is stored")
	}
}

// A pipeline that cannot take more now (RESOURCE_EXHAUSTED with a retry
// delay, as the spool refuses when full) is answered 429 with Retry-After,
// on both endpoints.
func TestAFullPipelineIsAnswered429WithRetryAfter(t *testing.T) {
	st, err := status.New(codes.ResourceExhausted, "the collector's spool cannot take more logs now").
		WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(5 * time.Second)})
	require.NoError(t, err)
	logs, err := consumer.NewLogs(func(context.Context, plog.Logs) error { return st.Err() })
	require.NoError(t, err)
	r := startReceiver(t, nil, logs)
	otlp, err := plogotlp.NewExportRequestFromLogs(recorderLogs("s", sampleEvents())).MarshalProto()
	require.NoError(t, err)
	for _, tc := range []struct {
		path, contentType string
		body              []byte
	}{
		{PathRRWeb, "application/json", jsonBatch("s", sampleEvents(), "")},
		{PathLogs, "application/x-protobuf", otlp},
	} {
		resp, err := http.Post(r.url+tc.path, tc.contentType, bytes.NewReader(tc.body))
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, tc.path)
		assert.Equal(t, "5", resp.Header.Get("Retry-After"), tc.path)
		assert.Contains(t, string(b), "cannot take more logs now", tc.path)
	}
}
