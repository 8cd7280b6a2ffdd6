package run

import (
	"context"
	"time"
)

// pacing is the schedule of paced windows (faults.first, faults.every): a
// newcomer sees a failure within minutes, at a known rhythm, whatever the
// trigger rates.
type pacing struct {
	next  time.Time // when the next paced window is due (zero: none)
	order []int     // scenarios in the seeded order they take turns
	n     int       // paced windows opened
}

// maybePaced opens the paced window when it is due and nothing else is open
// or cooling down; it reports whether it opened one.
func (s *scheduler) maybePaced(ctx context.Context) bool {
	first, every := s.cfg.Faults.First.D(), s.cfg.Faults.Every.D()
	if first <= 0 || len(s.cfg.Scenarios) == 0 {
		return false
	}
	now := time.Now()
	s.mu.Lock()
	if s.paced.order == nil {
		s.paced.order = s.rng.Perm(len(s.cfg.Scenarios))
		s.paced.next = s.start.Add(first)
	}
	due := !s.paced.next.IsZero() && !now.Before(s.paced.next)
	busy := len(s.open) > 0 && s.cfg.exclusive()
	cooling := now.Before(s.lastEnd.Add(s.cfg.Faults.Cooldown.D()))
	var sc *Scenario
	if due && !busy && !cooling {
		sc = &s.cfg.Scenarios[s.paced.order[s.paced.n%len(s.paced.order)]]
		s.paced.n++
		s.paced.next = time.Time{}
		if every > 0 {
			s.paced.next = now.Add(every)
		}
	}
	s.mu.Unlock()
	if sc == nil {
		return false
	}
	dur := sc.Window.D()
	if dur <= 0 {
		dur = time.Minute
	}
	s.openWindow(ctx, sc, dur, "paced")
	return true
}

// nextPaced is when the next paced window is due (zero: none planned).
func (s *scheduler) nextPaced() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.paced.order == nil && s.cfg.Faults.First > 0 {
		return s.start.Add(s.cfg.Faults.First.D())
	}
	return s.paced.next
}
