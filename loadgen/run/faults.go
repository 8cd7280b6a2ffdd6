package run

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/otelcol-agentic/otelcol-agentic/internal/faultapi"
)

// adminClient talks to the sample shop's fault admin API.
type adminClient struct {
	base string
	hc   *http.Client
}

func (a adminClient) apply(ctx context.Context, label string, specs []faultapi.Spec, ttl time.Duration) (string, error) {
	body, err := json.Marshal(faultapi.AddRequest{Label: label, Faults: specs, TTL: faultapi.Duration(ttl)})
	if err != nil {
		return "", fmt.Errorf("encode faults: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/admin/faults", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /admin/faults: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("POST /admin/faults: status %d: %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	var out struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.ID == "" {
		return "", fmt.Errorf("POST /admin/faults: unexpected answer %q", strings.TrimSpace(string(b)))
	}
	return out.ID, nil
}

func (a adminClient) remove(ctx context.Context, id string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.base+"/admin/faults/"+id, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("DELETE /admin/faults/%s: %w", id, err)
	}
	defer resp.Body.Close()
	// 404: the ttl already removed it, which is what we wanted.
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusNotFound {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("DELETE /admin/faults/%s: status %d: %s", id, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return nil
}

// scheduler opens and closes fault windows.
//
// trigger_rate is the share of run time a scenario's window should be open.
// Every tick, while no window is open (exclusive mode) and the cooldown has
// passed, each scenario opens a window with probability
// trigger_rate × trigger_scale × tick / window, which makes the expected open
// share trigger_rate (a little less, for the time spent in other windows and
// cooldowns). Windows listed under windows: open at their offsets as well.
type scheduler struct {
	cfg   Config
	admin adminClient
	truth *truth
	log   *slog.Logger
	rng   *rand.Rand
	start time.Time

	mu      sync.Mutex
	open    map[string]*liveWindow
	lastEnd time.Time
	failed  int
	wg      sync.WaitGroup
	paced   pacing
	// say tells the person at the console (loadgen's output) what happens.
	say func(format string, args ...any)
}

type liveWindow struct {
	w      *openWindow
	id     string
	cancel context.CancelFunc
}

func newScheduler(cfg Config, admin adminClient, t *truth, log *slog.Logger, start time.Time) *scheduler {
	return &scheduler{cfg: cfg, admin: admin, truth: t, log: log, start: start,
		rng: rand.New(rand.NewPCG(cfg.Seed, 0xfa17)), open: map[string]*liveWindow{}}
}

// run drives the windows until ctx ends; then every open window is closed.
func (s *scheduler) run(ctx context.Context) {
	for i := range s.cfg.Scenarios {
		sc := &s.cfg.Scenarios[i]
		for _, fw := range sc.Windows {
			s.wg.Go(func() {
				t := time.NewTimer(time.Until(s.start.Add(fw.Start.D())))
				defer t.Stop()
				select {
				case <-ctx.Done():
				case <-t.C:
					s.openWindow(ctx, sc, fw.Duration.D(), "scheduled")
				}
			})
		}
	}
	tick := time.NewTicker(s.cfg.Faults.Tick.D())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.wg.Wait()
			return
		case <-tick.C:
			if !s.maybePaced(ctx) {
				s.maybeOpen(ctx)
			}
		}
	}
}

// nextScheduled returns the start of the next explicit window after now.
func (s *scheduler) nextScheduled(now time.Time) (time.Time, bool) {
	var next time.Time
	for _, sc := range s.cfg.Scenarios {
		for _, fw := range sc.Windows {
			at := s.start.Add(fw.Start.D())
			if at.After(now) && (next.IsZero() || at.Before(next)) {
				next = at
			}
		}
	}
	return next, !next.IsZero()
}

func (s *scheduler) maybeOpen(ctx context.Context) {
	now := time.Now()
	s.mu.Lock()
	busy := len(s.open) > 0 && s.cfg.exclusive()
	cooling := now.Before(s.lastEnd.Add(s.cfg.Faults.Cooldown.D()))
	order := s.rng.Perm(len(s.cfg.Scenarios))
	draws := make([]float64, len(order))
	for i := range draws {
		draws[i] = s.rng.Float64()
	}
	s.mu.Unlock()
	if busy || cooling {
		return
	}
	tick := s.cfg.Faults.Tick.D()
	for i, idx := range order {
		sc := &s.cfg.Scenarios[idx]
		if sc.TriggerRate <= 0 || sc.Window <= 0 {
			continue
		}
		p := float64(sc.TriggerRate) * s.cfg.Faults.TriggerScale * float64(tick) / float64(sc.Window.D())
		if draws[i] >= p {
			continue
		}
		// A random window must not run into a scheduled one.
		if next, ok := s.nextScheduled(now); ok && now.Add(sc.Window.D()+s.cfg.Faults.Cooldown.D()).After(next) {
			return
		}
		s.openWindow(ctx, sc, sc.Window.D(), "random")
		return
	}
}

func (s *scheduler) openWindow(ctx context.Context, sc *Scenario, dur time.Duration, trigger string) {
	s.mu.Lock()
	if _, ok := s.open[sc.Name]; ok {
		s.mu.Unlock()
		s.log.Warn("window still open, not opening another", "scenario", sc.Name)
		return
	}
	s.mu.Unlock()

	// The ttl is a safety net: if loadgen dies, the shop heals by itself.
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	id, err := s.admin.apply(actx, sc.Name, sc.Inject, dur+time.Minute)
	cancel()
	if err != nil {
		s.mu.Lock()
		s.failed++
		s.mu.Unlock()
		s.log.Error("could not open fault window", "scenario", sc.Name, "err", err)
		return
	}
	svc, kind := sc.rootCause()
	w := newOpenWindow(WindowRecord{
		Kind: KindFaultWindow, Scenario: sc.Name, Description: sc.Description, RootCause: sc.RootCause,
		RootCauseService: svc, RootCauseKind: kind, Trigger: trigger, Start: time.Now(), AdminID: id,
		Faults: sc.Inject, AffectedServices: sc.affected(),
	})
	s.truth.windowOpened(w)
	wctx, wcancel := context.WithCancel(ctx)
	lw := &liveWindow{w: w, id: id, cancel: wcancel}
	s.mu.Lock()
	s.open[sc.Name] = lw
	s.mu.Unlock()
	if s.say == nil {
		s.log.Info("fault window opened", "scenario", sc.Name, "for", dur, "trigger", trigger)
	} else {
		s.say("fault window opened at %s for %s: %s — %s", w.rec.Start.Format(time.TimeOnly), dur, sc.Name, sc.Description)
	}

	s.wg.Go(func() {
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-t.C:
		case <-wctx.Done():
		}
		s.closeWindow(sc.Name, lw)
	})
}

func (s *scheduler) closeWindow(name string, lw *liveWindow) {
	lw.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.admin.remove(ctx, lw.id); err != nil {
		s.log.Error("could not close fault window", "scenario", name, "err", err)
	}
	end := time.Now()
	s.mu.Lock()
	delete(s.open, name)
	s.lastEnd = end
	s.mu.Unlock()
	s.truth.windowClosed(lw.w, end)
	if s.say == nil {
		s.log.Info("fault window closed", "scenario", name)
	} else {
		s.say("fault window closed at %s: %s", end.Format(time.TimeOnly), name)
	}
}

// active lists the open windows with their time left.
func (s *scheduler) active() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.open {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (s *scheduler) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}
