package store

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

func (d *DB) registerMetrics() error {
	m := d.opts.Meter
	var err error
	if d.timeouts, err = m.Int64Counter("db.client.connection.timeouts",
		metric.WithUnit("{timeout}"),
		metric.WithDescription("Connection acquisitions that timed out (not those whose caller gave up first).")); err != nil {
		return fmt.Errorf("timeouts counter: %w", err)
	}
	if d.waitTime, err = m.Float64Histogram("db.client.connection.wait_time",
		metric.WithUnit("s"),
		metric.WithDescription("Time spent waiting for a connection from the pool."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5)); err != nil {
		return fmt.Errorf("wait histogram: %w", err)
	}
	if d.opTime, err = m.Float64Histogram("db.client.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of database statements."),
		metric.WithExplicitBucketBoundaries(0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5)); err != nil {
		return fmt.Errorf("operation histogram: %w", err)
	}

	count, err := m.Int64ObservableGauge("db.client.connection.count",
		metric.WithUnit("{connection}"), metric.WithDescription("Connections in the pool, by state (used, idle)."))
	if err != nil {
		return fmt.Errorf("connection gauge: %w", err)
	}
	maxConns, err := m.Int64ObservableGauge("db.client.connection.max",
		metric.WithUnit("{connection}"), metric.WithDescription("Maximum open connections allowed."))
	if err != nil {
		return fmt.Errorf("max gauge: %w", err)
	}
	pending, err := m.Int64ObservableGauge("db.client.connection.pending_requests",
		metric.WithUnit("{request}"), metric.WithDescription("Callers waiting for a connection."))
	if err != nil {
		return fmt.Errorf("pending gauge: %w", err)
	}
	waitCount, err := m.Int64ObservableCounter("db.client.connection.wait_count",
		metric.WithUnit("{wait}"), metric.WithDescription("Acquisitions that had to wait for a connection (sql.DBStats.WaitCount)."))
	if err != nil {
		return fmt.Errorf("wait count counter: %w", err)
	}
	waitDur, err := m.Float64ObservableCounter("db.client.connection.wait_duration",
		metric.WithUnit("s"), metric.WithDescription("Total time spent waiting for connections (sql.DBStats.WaitDuration)."))
	if err != nil {
		return fmt.Errorf("wait duration counter: %w", err)
	}

	pool := d.poolAttr()
	used := metric.WithAttributes(pool, attribute.String("db.client.connection.state", "used"))
	idle := metric.WithAttributes(pool, attribute.String("db.client.connection.state", "idle"))
	only := metric.WithAttributes(pool)
	d.reg, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st, waiting := d.Stats()
		o.ObserveInt64(count, int64(st.InUse), used)
		o.ObserveInt64(count, int64(st.Idle), idle)
		o.ObserveInt64(maxConns, int64(st.MaxOpenConnections), only)
		o.ObserveInt64(pending, waiting, only)
		o.ObserveInt64(waitCount, st.WaitCount, only)
		o.ObserveFloat64(waitDur, st.WaitDuration.Seconds(), only)
		return nil
	}, count, maxConns, pending, waitCount, waitDur)
	if err != nil {
		return fmt.Errorf("register pool callback: %w", err)
	}
	return nil
}
