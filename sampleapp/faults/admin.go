package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RemotePart is the share of a composition applied by another process.
type RemotePart struct {
	Service string `json:"service"`
	URL     string `json:"url"`
	ID      string `json:"id"`
}

// Composition is what the admin API adds, lists and removes.
type Composition struct {
	ID        string       `json:"id"`
	Label     string       `json:"label,omitempty"`
	Faults    []Fault      `json:"faults,omitempty"`
	Remote    []RemotePart `json:"remote,omitempty"`
	Added     time.Time    `json:"added"`
	ExpiresAt time.Time    `json:"expires_at,omitzero"`

	localGroup string
}

// forwardedHeader marks a request one admin endpoint sent to another, so a
// misconfigured pair of processes cannot forward in a loop.
const forwardedHeader = "X-Sampleapp-Admin-Forwarded"

// Admin serves the fault API under /admin/.
type Admin struct {
	reg    *Registry
	peers  func(service string) (baseURL string, ok bool)
	log    *slog.Logger
	client *http.Client

	mu    sync.Mutex
	seq   int
	comps map[string]*Composition
}

// NewAdmin returns the admin API for reg. peers resolves the base URL of a
// service hosted by another process; nil means every service is local.
func NewAdmin(reg *Registry, peers func(string) (string, bool), log *slog.Logger) *Admin {
	if peers == nil {
		peers = func(string) (string, bool) { return "", false }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Admin{
		reg:    reg,
		peers:  peers,
		log:    log,
		client: &http.Client{Timeout: 10 * time.Second},
		comps:  map[string]*Composition{},
	}
}

// Handler returns the HTTP handler; mount it at /admin/.
func (a *Admin) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/faults", a.list)
	mux.HandleFunc("POST /admin/faults", a.add)
	mux.HandleFunc("DELETE /admin/faults", a.clear)
	mux.HandleFunc("DELETE /admin/faults/{id}", a.remove)
	mux.HandleFunc("GET /admin/scenarios", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"scenarios": Scenarios(), "primitives": Types})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func (a *Admin) list(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"faults": a.Compositions()})
}

// Compositions lists what is applied through this endpoint, oldest first.
func (a *Admin) Compositions() []Composition {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := time.Now()
	out := []Composition{}
	for id, c := range a.comps {
		if !c.ExpiresAt.IsZero() && now.After(c.ExpiresAt) {
			delete(a.comps, id)
			continue
		}
		out = append(out, *c)
	}
	slices.SortFunc(out, func(x, y Composition) int { return x.Added.Compare(y.Added) })
	return out
}

func (a *Admin) add(w http.ResponseWriter, r *http.Request) {
	var req AddRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeErr(w, http.StatusBadRequest, fmt.Errorf("decode body: %w", err))
		return
	}
	if req.Scenario != "" {
		if len(req.Faults) > 0 {
			writeErr(w, http.StatusBadRequest, errors.New("give either scenario or faults, not both"))
			return
		}
		s, ok := LookupScenario(req.Scenario)
		if !ok {
			writeErr(w, http.StatusBadRequest, fmt.Errorf("unknown scenario %q; GET /admin/scenarios lists them", req.Scenario))
			return
		}
		req.Faults = s.Faults
		if req.Label == "" {
			req.Label = s.Name
		}
	}
	c, err := a.Apply(r.Context(), req, r.Header.Get(forwardedHeader) != "")
	if err != nil {
		writeErr(w, http.StatusBadRequest, err)
		return
	}
	a.log.Info("faults applied", "id", c.ID, "label", c.Label, "primitives", len(req.Faults))
	writeJSON(w, http.StatusCreated, c)
}

// Apply applies a composition: primitives for local services here, the rest
// through the admin API of the process hosting them.
func (a *Admin) Apply(ctx context.Context, req AddRequest, noForward bool) (Composition, error) {
	if len(req.Faults) == 0 {
		return Composition{}, errors.New("no faults given")
	}
	var local []Spec
	remote := map[string][]Spec{}
	var order []string
	for i, s := range req.Faults {
		if err := s.Validate(); err != nil {
			return Composition{}, fmt.Errorf("faults[%d]: %w", i, err)
		}
		if a.reg.Hosts(s.Service) {
			local = append(local, s)
			continue
		}
		if noForward {
			return Composition{}, fmt.Errorf("faults[%d]: %q: %w", i, s.Service, ErrNotHosted)
		}
		base, ok := a.peers(s.Service)
		if !ok {
			return Composition{}, fmt.Errorf("faults[%d]: unknown service %q", i, s.Service)
		}
		if _, seen := remote[base]; !seen {
			order = append(order, base)
		}
		remote[base] = append(remote[base], s)
	}

	c := Composition{Label: req.Label, Added: time.Now()}
	if req.TTL > 0 {
		c.ExpiresAt = c.Added.Add(req.TTL.D())
	}
	undo := func() {
		if c.localGroup != "" {
			_ = a.reg.Remove(c.localGroup)
		}
		for _, p := range c.Remote {
			_ = a.forwardDelete(context.WithoutCancel(ctx), p)
		}
	}
	if len(local) > 0 {
		g, err := a.reg.Add(req.Label, local, req.TTL.D())
		if err != nil {
			return Composition{}, err
		}
		c.localGroup = g.ID
		c.Faults = g.Faults
	}
	for _, base := range order {
		specs := remote[base]
		sub := AddRequest{Label: req.Label, Faults: specs, TTL: req.TTL}
		var got Composition
		if err := a.forward(ctx, http.MethodPost, base+"/admin/faults", sub, &got); err != nil {
			undo()
			return Composition{}, fmt.Errorf("apply on %s: %w", base, err)
		}
		for _, s := range uniqueServices(specs) {
			c.Remote = append(c.Remote, RemotePart{Service: s, URL: base, ID: got.ID})
		}
	}

	a.mu.Lock()
	a.seq++
	c.ID = "f-" + strconv.Itoa(a.seq)
	a.comps[c.ID] = &c
	a.mu.Unlock()
	return c, nil
}

func uniqueServices(specs []Spec) []string {
	var out []string
	for _, s := range specs {
		if !slices.Contains(out, s.Service) {
			out = append(out, s.Service)
		}
	}
	return out
}

func (a *Admin) remove(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.Remove(r.Context(), id); err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownGroup) {
			status = http.StatusNotFound
		}
		writeErr(w, status, err)
		return
	}
	a.log.Info("faults removed", "id", id)
	w.WriteHeader(http.StatusNoContent)
}

// Remove reverts the composition with the given id.
func (a *Admin) Remove(ctx context.Context, id string) error {
	a.mu.Lock()
	c, ok := a.comps[id]
	delete(a.comps, id)
	a.mu.Unlock()
	if !ok {
		return fmt.Errorf("%q: %w", id, ErrUnknownGroup)
	}
	var errs []error
	if c.localGroup != "" {
		// Already gone when its ttl expired; that is not an error here.
		if err := a.reg.Remove(c.localGroup); err != nil && !errors.Is(err, ErrUnknownGroup) {
			errs = append(errs, err)
		}
	}
	done := map[string]bool{}
	for _, p := range c.Remote {
		if done[p.URL+p.ID] {
			continue
		}
		done[p.URL+p.ID] = true
		if err := a.forwardDelete(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *Admin) clear(w http.ResponseWriter, r *http.Request) {
	var errs []error
	for _, c := range a.Compositions() {
		if err := a.Remove(r.Context(), c.ID); err != nil && !errors.Is(err, ErrUnknownGroup) {
			errs = append(errs, err)
		}
	}
	// Groups applied by other processes' admin endpoints forwarding here.
	a.reg.RemoveAll()
	if err := errors.Join(errs...); err != nil {
		writeErr(w, http.StatusInternalServerError, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *Admin) forwardDelete(ctx context.Context, p RemotePart) error {
	err := a.forward(ctx, http.MethodDelete, p.URL+"/admin/faults/"+p.ID, nil, nil)
	var se statusError
	if errors.As(err, &se) && se.code == http.StatusNotFound {
		return nil
	}
	return err
}

type statusError struct {
	code int
	body string
}

func (e statusError) Error() string { return fmt.Sprintf("status %d: %s", e.code, e.body) }

func (a *Admin) forward(ctx context.Context, method, url string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set(forwardedHeader, "1")
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		return statusError{code: resp.StatusCode, body: strings.TrimSpace(string(b))}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
	}
	return nil
}
