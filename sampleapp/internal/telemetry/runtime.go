package telemetry

import (
	"context"
	"fmt"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/metric"
)

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	gcCycles    = "/gc/cycles/total:gc-cycles"
	goroutines  = "/sched/goroutines:goroutines"
)

func readRuntime() (heap, gcs, gor uint64) {
	s := []metrics.Sample{{Name: heapObjects}, {Name: gcCycles}, {Name: goroutines}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64()
}

// The runtime metrics describe the process; when several services share one
// process each of them reports the same values (see README).
func registerRuntimeMetrics(m metric.Meter) error {
	heap, err := m.Int64ObservableGauge("process.runtime.go.mem.heap_alloc",
		metric.WithUnit("By"), metric.WithDescription("Bytes of allocated heap objects."))
	if err != nil {
		return fmt.Errorf("heap gauge: %w", err)
	}
	gc, err := m.Int64ObservableCounter("process.runtime.go.gc.count",
		metric.WithUnit("{cycle}"), metric.WithDescription("Completed garbage collection cycles."))
	if err != nil {
		return fmt.Errorf("gc counter: %w", err)
	}
	gor, err := m.Int64ObservableGauge("process.runtime.go.goroutines",
		metric.WithUnit("{goroutine}"), metric.WithDescription("Live goroutines."))
	if err != nil {
		return fmt.Errorf("goroutine gauge: %w", err)
	}
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		h, c, g := readRuntime()
		o.ObserveInt64(heap, int64(h))
		o.ObserveInt64(gc, int64(c))
		o.ObserveInt64(gor, int64(g))
		return nil
	}, heap, gc, gor)
	if err != nil {
		return fmt.Errorf("register runtime callback: %w", err)
	}
	return nil
}

var heapCache struct {
	mu    sync.Mutex
	at    atomic.Int64
	bytes atomic.Uint64
	gcs   atomic.Uint64
}

// Heap returns the bytes of live heap objects and the GC cycle count,
// re-read at most every 100ms so a hot path can call it per request.
func Heap() (bytes, gcCycles uint64) {
	now := time.Now().UnixNano()
	if now-heapCache.at.Load() > int64(100*time.Millisecond) && heapCache.mu.TryLock() {
		h, c, _ := readRuntime()
		heapCache.bytes.Store(h)
		heapCache.gcs.Store(c)
		heapCache.at.Store(now)
		heapCache.mu.Unlock()
	}
	return heapCache.bytes.Load(), heapCache.gcs.Load()
}
