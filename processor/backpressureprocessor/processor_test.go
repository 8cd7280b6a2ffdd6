package backpressureprocessor

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/processor/processortest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/otelcol-agentic/otelcol-agentic/processor/backpressureprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, tt := range []struct {
		id      component.ID
		want    time.Duration
		wantErr string
	}{
		{id: component.NewID(metadata.Type), want: 5 * time.Second},
		{id: component.NewIDWithName(metadata.Type, "slow"), want: 30 * time.Second},
		{id: component.NewIDWithName(metadata.Type, "bad"), wantErr: "retry_after must be at least 1s"},
	} {
		t.Run(tt.id.String(), func(t *testing.T) {
			cfg := createDefaultConfig()
			sub, err := cm.Sub(tt.id.String())
			require.NoError(t, err)
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, cfg.RetryAfter)
		})
	}
}

func retryDelay(t *testing.T, st *status.Status) time.Duration {
	t.Helper()
	for _, d := range st.Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			return r.GetRetryDelay().AsDuration()
		}
	}
	t.Fatalf("no RetryInfo in %v", st)
	return 0
}

// The real memory_limiter behind it, over its limit, refuses: the refusal
// comes out as RESOURCE_EXHAUSTED with a retry delay (HTTP 429 with
// Retry-After at the OTLP receivers), not UNAVAILABLE.
func TestMemoryLimiterRefusalBecomesResourceExhausted(t *testing.T) {
	t.Parallel()
	mlFactory := memorylimiterprocessor.NewFactory()
	mlCfg := mlFactory.CreateDefaultConfig()
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"check_interval": "10ms", "limit_mib": 1, "spike_limit_mib": 0,
	}).Unmarshal(mlCfg))
	sink := new(consumertest.LogsSink)
	ml, err := mlFactory.CreateLogs(context.Background(), processortest.NewNopSettings(mlFactory.Type()), mlCfg, sink)
	require.NoError(t, err)
	require.NoError(t, ml.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, ml.Shutdown(context.Background())) }()

	cfg := createDefaultConfig()
	cfg.RetryAfter = 7 * time.Second
	bp, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, ml)
	require.NoError(t, err)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("x")
	var got error
	require.Eventually(t, func() bool {
		got = bp.ConsumeLogs(context.Background(), ld)
		return got != nil
	}, 5*time.Second, 10*time.Millisecond, "a 1 MiB limit refuses")
	st, ok := status.FromError(got)
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Contains(t, st.Message(), "high memory usage")
	assert.Equal(t, 7*time.Second, retryDelay(t, st))
}

func TestStatusesPermanentErrorsAndSuccessPassThrough(t *testing.T) {
	t.Parallel()
	r := newRefusals(createDefaultConfig())
	assert.NoError(t, r.answer(nil))
	invalid := status.Error(codes.InvalidArgument, "attribute too deep")
	assert.Equal(t, invalid, r.answer(invalid))
	perm := consumererror.NewPermanent(errors.New("cannot be stored"))
	assert.Equal(t, perm, r.answer(perm))
	st, ok := status.FromError(r.answer(errors.New("sending queue is full")))
	require.True(t, ok)
	assert.Equal(t, codes.ResourceExhausted, st.Code())
	assert.Equal(t, 5*time.Second, retryDelay(t, st))
}
