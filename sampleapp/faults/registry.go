package faults

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PoolControl is what a database handle offers to pool_squeeze.
type PoolControl interface {
	// SetMaxOpenConns changes the open-connection cap and returns the
	// previous cap.
	SetMaxOpenConns(n int) (previous int)
	// Pin checks out n connections, each holding an open read transaction,
	// until release is called. It returns at once; connections are acquired
	// in the background as they become free.
	Pin(n int) (release func())
}

// ListenerControl is what a service's HTTP server offers to listener_down.
type ListenerControl interface {
	Down() error
	Up() error
}

// Fault is one applied primitive.
type Fault struct {
	ID   string `json:"id"`
	Spec Spec   `json:"spec"`
}

// Group is the unit the admin API adds and removes: one or more primitives
// applied together (a scenario or an ad-hoc composition).
type Group struct {
	ID        string    `json:"id"`
	Label     string    `json:"label,omitempty"`
	Faults    []Fault   `json:"faults"`
	Added     time.Time `json:"added"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Removed   time.Time `json:"removed,omitzero"`
}

type group struct {
	Group
	reverts []func()
	timer   *time.Timer
}

type active struct {
	Spec
	id string
}

// Registry holds the primitives currently applied in this process and
// answers the services' per-request questions. Reads are lock-free.
type Registry struct {
	hosted map[string]bool

	mu        sync.Mutex
	pools     map[string][]PoolControl
	listeners map[string]ListenerControl
	subs      []func()
	groups    map[string]*group
	history   []Group
	seq       int
	closed    bool

	snapshot atomic.Pointer[[]active]
	memory   sync.Map // service -> *retained
	wg       sync.WaitGroup
}

// NewRegistry returns a registry for the services hosted by this process.
func NewRegistry(hosted []string) *Registry {
	r := &Registry{
		hosted:    map[string]bool{},
		pools:     map[string][]PoolControl{},
		listeners: map[string]ListenerControl{},
		groups:    map[string]*group{},
	}
	for _, s := range hosted {
		r.hosted[s] = true
	}
	r.snapshot.Store(&[]active{})
	return r
}

// Hosts reports whether service runs in this process.
func (r *Registry) Hosts(service string) bool { return r.hosted[service] }

// RegisterPool makes a service's database pool available to pool_squeeze.
func (r *Registry) RegisterPool(service string, p PoolControl) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pools[service] = append(r.pools[service], p)
}

// RegisterListener makes a service's listener available to listener_down.
func (r *Registry) RegisterListener(service string, l ListenerControl) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners[service] = l
}

// Subscribe calls fn after every change of the applied set (HTTP clients use
// it to drop pooled connections, so a dependency going away is seen at once).
func (r *Registry) Subscribe(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subs = append(r.subs, fn)
}

// ErrNotHosted is returned when a spec targets a service this process does
// not run.
var ErrNotHosted = errors.New("service is not hosted by this process")

// Add validates and applies specs as one group. ttl > 0 removes the group
// automatically after ttl.
func (r *Registry) Add(label string, specs []Spec, ttl time.Duration) (Group, error) {
	if len(specs) == 0 {
		return Group{}, errors.New("no faults given")
	}
	var errs []error
	for i, s := range specs {
		if err := s.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("faults[%d]: %w", i, err))
		} else if !r.hosted[s.Service] {
			errs = append(errs, fmt.Errorf("faults[%d]: %q: %w", i, s.Service, ErrNotHosted))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return Group{}, err
	}

	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return Group{}, errors.New("registry is closed")
	}
	r.seq++
	g := &group{Group: Group{ID: "g-" + strconv.Itoa(r.seq), Label: label, Added: time.Now()}}
	for i, s := range specs {
		f := Fault{ID: g.ID + "." + strconv.Itoa(i+1), Spec: s}
		revert, err := r.applyLocked(f)
		if err != nil {
			for _, rv := range slices.Backward(g.reverts) {
				rv()
			}
			r.mu.Unlock()
			return Group{}, fmt.Errorf("apply %s on %s: %w", s.Type, s.Service, err)
		}
		if revert != nil {
			g.reverts = append(g.reverts, revert)
		}
		g.Faults = append(g.Faults, f)
	}
	if ttl > 0 {
		g.ExpiresAt = g.Added.Add(ttl)
		id := g.ID
		g.timer = time.AfterFunc(ttl, func() { _ = r.Remove(id) })
	}
	r.groups[g.ID] = g
	r.publishLocked()
	subs := slices.Clone(r.subs)
	out := g.Group
	r.mu.Unlock()

	for _, fn := range subs {
		fn()
	}
	return out, nil
}

// ErrUnknownGroup is returned by Remove for an id that is not applied.
var ErrUnknownGroup = errors.New("no such fault group")

// Remove reverts and forgets the group with the given id.
func (r *Registry) Remove(id string) error {
	r.mu.Lock()
	g, ok := r.groups[id]
	if !ok {
		r.mu.Unlock()
		return fmt.Errorf("%q: %w", id, ErrUnknownGroup)
	}
	delete(r.groups, id)
	if g.timer != nil {
		g.timer.Stop()
	}
	r.publishLocked()
	for _, rv := range slices.Backward(g.reverts) {
		rv()
	}
	g.Removed = time.Now()
	r.history = append(r.history, g.Group)
	subs := slices.Clone(r.subs)
	r.mu.Unlock()

	for _, fn := range subs {
		fn()
	}
	return nil
}

// RemoveAll reverts every applied group.
func (r *Registry) RemoveAll() {
	for _, g := range r.Groups() {
		_ = r.Remove(g.ID)
	}
}

// Groups lists the applied groups, oldest first.
func (r *Registry) Groups() []Group {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Group, 0, len(r.groups))
	for _, g := range r.groups {
		out = append(out, g.Group)
	}
	slices.SortFunc(out, func(a, b Group) int { return a.Added.Compare(b.Added) })
	return out
}

// History lists the groups removed so far, in removal order.
func (r *Registry) History() []Group {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.history)
}

// Close reverts everything and waits for background work.
func (r *Registry) Close() {
	r.RemoveAll()
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Registry) publishLocked() {
	var snap []active
	for _, g := range r.groups {
		for _, f := range g.Faults {
			snap = append(snap, active{Spec: f.Spec, id: f.ID})
		}
	}
	r.snapshot.Store(&snap)
}

// applyLocked starts the part of a primitive that has a lifecycle and returns
// how to undo it. Per-request primitives are answered from the snapshot.
func (r *Registry) applyLocked(f Fault) (func(), error) {
	s := f.Spec
	switch s.Type {
	case PoolSqueeze:
		pools := r.pools[s.Service]
		if len(pools) == 0 {
			return nil, fmt.Errorf("service %q has no database pool", s.Service)
		}
		var reverts []func()
		for _, p := range pools {
			if s.MaxOpenConns > 0 {
				prev := p.SetMaxOpenConns(s.MaxOpenConns)
				reverts = append(reverts, func() { p.SetMaxOpenConns(prev) })
			}
			if s.HoldConns > 0 {
				reverts = append(reverts, p.Pin(s.HoldConns))
			}
		}
		return func() {
			for _, rv := range slices.Backward(reverts) {
				rv()
			}
		}, nil
	case MemoryGrowth:
		m := r.retainedFor(s.Service)
		m.addLimit(f.ID, int64(s.MaxBytes))
		ctx, cancel := context.WithCancel(context.Background())
		if s.BytesPerSecond > 0 {
			r.wg.Go(func() { m.growEvery(ctx, int64(s.BytesPerSecond)) })
		}
		return func() {
			cancel()
			m.dropLimit(f.ID)
		}, nil
	case ListenerDown:
		l := r.listeners[s.Service]
		if l == nil {
			return nil, fmt.Errorf("service %q has no listener", s.Service)
		}
		if err := l.Down(); err != nil {
			return nil, fmt.Errorf("close listener: %w", err)
		}
		return func() { _ = l.Up() }, nil
	}
	return nil, nil
}

// Match describes the work a service is about to do. Exactly one of Route,
// Operation or Dependency is set.
type Match struct {
	Route      string // mux pattern, e.g. "POST /carts/{id}/items"
	Operation  string // logical database operation, e.g. "recompute_totals"
	Statement  string // statement summary, e.g. "UPDATE carts"
	Dependency string // callee of an outbound call
}

func routeMatches(spec, pattern string) bool {
	if spec == "" || spec == pattern {
		return true
	}
	_, path, ok := strings.Cut(pattern, " ")
	return ok && spec == path
}

func (a active) latencyMatches(service string, m Match) bool {
	if a.Type != Latency || a.Service != service {
		return false
	}
	switch {
	case m.Operation != "" || m.Statement != "":
		return a.Operation == "*" || (a.Operation != "" && (a.Operation == m.Operation || a.Operation == m.Statement))
	case m.Dependency != "":
		return a.Operation == "" && a.Dependency == m.Dependency
	default:
		return a.Operation == "" && a.Dependency == "" && routeMatches(a.Route, m.Route)
	}
}

func chance(p float64) bool {
	if p >= 1 {
		return true
	}
	return p > 0 && rand.Float64() < p
}

// Delay returns how long the described work must wait first.
func (r *Registry) Delay(service string, m Match) time.Duration {
	var d time.Duration
	for _, a := range *r.snapshot.Load() {
		if !a.latencyMatches(service, m) {
			continue
		}
		p := a.Probability
		if p == 0 {
			p = 1
		}
		if !chance(p) {
			continue
		}
		d += a.Latency.D()
		if a.Jitter > 0 {
			d += rand.N(a.Jitter.D())
		}
	}
	return d
}

// Failure returns the error mode a request to route must fail with, or "".
func (r *Registry) Failure(service, route string) string {
	for _, a := range *r.snapshot.Load() {
		if a.Type == ErrorRate && a.Service == service && routeMatches(a.Route, route) && chance(a.Probability) {
			if a.Mode == "" {
				return ModePanic
			}
			return a.Mode
		}
	}
	return ""
}

// HoldAfterUse returns how long a connection the service just finished with
// must stay checked out, or 0 to return it to the pool at once.
func (r *Registry) HoldAfterUse(service string) time.Duration {
	for _, a := range *r.snapshot.Load() {
		if a.Type == PoolSqueeze && a.Service == service && a.Probability > 0 && chance(a.Probability) {
			return a.HoldFor.D()
		}
	}
	return 0
}

// DependencyDown reports whether service's calls to dep must fail to connect.
func (r *Registry) DependencyDown(service, dep string) bool {
	for _, a := range *r.snapshot.Load() {
		if a.Type == DependencyUnavailable && a.Service == service && a.Dependency == dep {
			return true
		}
	}
	return false
}
