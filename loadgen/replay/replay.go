package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options say where and how a recording is sent back.
type Options struct {
	// Target is the collector's OTLP/HTTP base URL (http://host:4318).
	Target string
	// Start is where the first copy's first request lands in time; each
	// further copy follows the previous one.
	Start time.Time
	// Copies is how many times the recording is sent, each with its own
	// ids (seed Seed, Seed+1, …) and its own stretch of time.
	Copies int
	// Overlap is how many copies share each stretch of time (default 1):
	// the density of the replayed data is Overlap times the recording's.
	Overlap int
	// Seed seeds the first copy's ids.
	Seed uint64
	// Speed > 0 sends at that multiple of the recording's pace (2: twice as
	// fast); 0 sends as fast as the collector accepts.
	Speed float64
	// Workers send requests concurrently (default 4).
	Workers int
	// GroundTruth, when set, receives the recording's ground truth of every
	// copy, shifted and re-seeded alike.
	GroundTruth io.Writer
	// Progress, when set, is called every few seconds and at the end.
	Progress func(Stats)
	Client   *http.Client
}

// Stats count what a replay sent.
type Stats struct {
	Requests, Bytes, Retries int64
	Copy, Copies             int
	Elapsed                  time.Duration
	// Window is the span of event time the copies cover.
	WindowStart, WindowEnd time.Time
}

// Span is the stretch of time a recording covers, from its first request
// to its last.
func Span(frames []Frame) (first, last time.Time) {
	for _, f := range frames {
		if f.Kind != KindOTLP {
			continue
		}
		if first.IsZero() || f.At.Before(first) {
			first = f.At
		}
		if f.At.After(last) {
			last = f.At
		}
	}
	return first, last
}

// copyGap separates copies in time, so that the last requests of one copy
// and the first of the next do not overlap.
const copyGap = time.Second

// Replay sends the recorded frames as opts say and returns what it sent.
func Replay(ctx context.Context, frames []Frame, opts Options) (Stats, error) {
	if opts.Copies <= 0 {
		opts.Copies = 1
	}
	if opts.Overlap <= 0 {
		opts.Overlap = 1
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	target := strings.TrimRight(opts.Target, "/")
	first, last := Span(frames)
	if first.IsZero() {
		return Stats{}, errors.New("the recording holds no OTLP request")
	}
	period := last.Sub(first) + copyGap
	slots := (opts.Copies + opts.Overlap - 1) / opts.Overlap
	st := Stats{Copies: opts.Copies, WindowStart: opts.Start, WindowEnd: opts.Start.Add(time.Duration(slots) * period)}
	var requests, sent, retries atomic.Int64
	began := time.Now()
	snapshot := func(copyN int) Stats {
		s := st
		s.Requests, s.Bytes, s.Retries, s.Copy, s.Elapsed = requests.Load(), sent.Load(), retries.Load(), copyN, time.Since(began)
		return s
	}
	var copyN atomic.Int64
	stopProgress := make(chan struct{})
	var progress sync.WaitGroup
	if opts.Progress != nil {
		progress.Go(func() {
			t := time.NewTicker(5 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-stopProgress:
					return
				case <-t.C:
					opts.Progress(snapshot(int(copyN.Load())))
				}
			}
		})
	}
	defer func() { close(stopProgress); progress.Wait() }()

	type job struct {
		path string
		body []byte
	}
	for c := 0; c < opts.Copies; c++ {
		copyN.Store(int64(c + 1))
		shift := opts.Start.Add(time.Duration(c/opts.Overlap) * period).Sub(first)
		rw := NewRewriter(shift, opts.Seed+uint64(c))
		jobs := make(chan job, opts.Workers*2)
		ctx, cancel := context.WithCancelCause(ctx)
		var wg sync.WaitGroup
		for range opts.Workers {
			wg.Go(func() {
				for j := range jobs {
					n, err := send(ctx, opts.Client, target+j.path, j.body)
					retries.Add(int64(n))
					if err != nil {
						cancel(err)
						continue
					}
					requests.Add(1)
					sent.Add(int64(len(j.body)))
				}
			})
		}
		copyStart := time.Now()
		var err error
		for _, f := range frames {
			if ctx.Err() != nil {
				break
			}
			switch f.Kind {
			case KindTruth:
				if opts.GroundTruth != nil {
					line, terr := rw.Truth(f.Body)
					if terr == nil {
						_, terr = opts.GroundTruth.Write(append(line, '\n'))
					}
					if terr != nil {
						err = terr
					}
				}
				continue
			case KindOTLP:
			default:
				continue
			}
			if opts.Speed > 0 {
				due := copyStart.Add(time.Duration(float64(f.At.Sub(first)) / opts.Speed))
				if d := time.Until(due); d > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(d):
					}
				}
			}
			body, rerr := rw.OTLP(f.Path, f.Body)
			if rerr != nil {
				err = rerr
				break
			}
			select {
			case jobs <- job{f.Path, body}:
			case <-ctx.Done():
			}
			if err != nil {
				break
			}
		}
		close(jobs)
		wg.Wait()
		cause := context.Cause(ctx)
		cancel(nil)
		if err == nil {
			err = cause
		}
		if err != nil {
			return snapshot(c + 1), fmt.Errorf("copy %d of %d: %w", c+1, opts.Copies, err)
		}
	}
	s := snapshot(opts.Copies)
	if opts.Progress != nil {
		opts.Progress(s)
	}
	return s, nil
}

// send posts one request, waiting and retrying while the collector pushes
// back (429, 502, 503, 504, or no connection) for up to five minutes. It
// returns the retries it made.
func send(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	backoff := 100 * time.Millisecond
	deadline := time.Now().Add(5 * time.Minute)
	for retries := 0; ; retries++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return retries, err
		}
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := client.Do(req)
		status := 0
		if err == nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			resp.Body.Close()
			status = resp.StatusCode
			switch {
			case status == http.StatusOK:
				return retries, nil
			case status == http.StatusTooManyRequests || status >= 502 && status <= 504:
			default:
				return retries, fmt.Errorf("POST %s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
			}
		} else if ctx.Err() != nil {
			return retries, ctx.Err()
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("status %d", status)
			}
			return retries, fmt.Errorf("POST %s: the collector has not accepted it for 5 minutes (last: %v); is it running and draining?", url, err)
		}
		select {
		case <-ctx.Done():
			return retries, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}
