package rrwebreceiver

import (
	"context"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver/internal/metadata"
)

// NewFactory creates the rrweb receiver's factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithTraces(createTraces, metadata.TracesStability))
}

// One receiver (one HTTP server) serves every pipeline its configuration is
// used in: the logs pipeline gets the sessions, the traces pipeline the
// browser spans. The collector hands both create calls the same *Config.
var (
	sharedMu  sync.Mutex
	receivers = map[*Config]*rrwebReceiver{}
)

func shared(cfg *Config, set receiver.Settings) (*rrwebReceiver, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if r, ok := receivers[cfg]; ok {
		return r, nil
	}
	r, err := newReceiver(cfg, set, func() {
		sharedMu.Lock()
		delete(receivers, cfg)
		sharedMu.Unlock()
	})
	if err != nil {
		return nil, err
	}
	receivers[cfg] = r
	return r, nil
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := shared(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.setLogs(next)
	return r, nil
}

func createTraces(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Traces) (receiver.Traces, error) {
	r, err := shared(cfg.(*Config), set)
	if err != nil {
		return nil, err
	}
	r.setTraces(next)
	return r, nil
}
