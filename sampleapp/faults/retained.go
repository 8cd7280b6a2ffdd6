package faults

import (
	"context"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// recordSize is the footprint of one retained record. Records carry several
// separately allocated strings so the garbage collector has real pointers to
// trace: a growing set of them costs mark work, not just heap bytes.
const recordSize = 1024

type record struct {
	key  string
	tags [4]string
	body []byte
	hits int
}

// retained is memory a service keeps for as long as a memory_growth
// primitive is applied: a slice of records that is only ever appended to and
// scanned under one lock, the shape of an unbounded in-process cache.
type retained struct {
	mu      sync.Mutex
	records []*record
	bytes   int64
	limits  map[string]int64
	seq     int
}

func (r *Registry) retainedFor(service string) *retained {
	m, _ := r.memory.LoadOrStore(service, &retained{limits: map[string]int64{}})
	return m.(*retained)
}

func (m *retained) addLimit(id string, max int64) {
	if max <= 0 {
		max = DefaultMaxBytes
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.limits[id] = max
}

// dropLimit forgets one primitive; when none is left the records are released
// and returned to the OS, as a restart would.
func (m *retained) dropLimit(id string) {
	m.mu.Lock()
	delete(m.limits, id)
	release := len(m.limits) == 0 && len(m.records) > 0
	if release {
		m.records, m.bytes = nil, 0
	}
	m.mu.Unlock()
	if release {
		debug.FreeOSMemory()
	}
}

func (m *retained) capLocked() int64 {
	var c int64
	for _, l := range m.limits {
		c = max(c, l)
	}
	return c
}

// add retains n more bytes, up to the cap of the applied primitives.
func (m *retained) add(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := m.capLocked()
	for n > 0 && m.bytes < limit {
		m.seq++
		id := strconv.Itoa(m.seq)
		rec := &record{
			key:  "k" + id,
			tags: [4]string{"a" + id, "b" + id, "c" + id, "d" + id},
			body: make([]byte, recordSize-128),
		}
		m.records = append(m.records, rec)
		m.bytes += recordSize
		n -= recordSize
	}
}

// lookup walks every record, as a request consulting such a cache does. Its
// cost grows with what has been retained.
func (m *retained) lookup(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, rec := range m.records {
		if rec.key == key {
			rec.hits++
			return
		}
	}
}

func (m *retained) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

func (m *retained) growEvery(ctx context.Context, perSecond int64) {
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.add(perSecond / int64(time.Second/tick))
		}
	}
}

// OnRequest does the per-request memory work for service: retain what the
// applied memory_growth primitives ask for and consult what is retained.
func (r *Registry) OnRequest(service, route string) {
	v, ok := r.memory.Load(service)
	if !ok {
		return
	}
	m := v.(*retained)
	for _, a := range *r.snapshot.Load() {
		if a.Type != MemoryGrowth || a.Service != service || a.BytesPerRequest == 0 || !routeMatches(a.Route, route) {
			continue
		}
		p := a.Probability
		if p == 0 {
			p = 1
		}
		if chance(p) {
			m.add(int64(a.BytesPerRequest))
		}
	}
	if m.size() > 0 {
		m.lookup(route)
	}
}

// RetainedBytes reports the bytes service currently retains (for tests).
func (r *Registry) RetainedBytes(service string) int64 {
	v, ok := r.memory.Load(service)
	if !ok {
		return 0
	}
	m := v.(*retained)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bytes
}
