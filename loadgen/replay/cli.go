package replay

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Record runs `loadgen record`: an OTLP/HTTP endpoint that records what it
// receives until ctx ends or the duration passes, then appends the ground
// truth.
func Record(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen record", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4319", "OTLP/HTTP address to receive on (point the app's OTLP endpoint here, e.g. sampleapp --otlp-endpoint)")
	forward := fs.String("forward", "http://127.0.0.1:4318", "collector OTLP/HTTP base URL to pass requests on to; empty answers 200 and forwards nothing")
	out := fs.String("out", "recording.otlp", "recording file to write")
	truth := fs.String("ground-truth", "", "ground-truth JSON-lines file of the run (loadgen run's), added to the recording at the end")
	duration := fs.Duration("duration", 0, "stop after this long; 0 = until Ctrl-C")
	if err := fs.Parse(args); err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	defer f.Close()
	rec, err := NewRecorder(f, *forward)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w (is something else on that port?)", *listen, err)
	}
	srv := &http.Server{Handler: rec, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	slog.Info("recording OTLP/HTTP", "listen", "http://"+ln.Addr().String(), "forward", *forward, "out", *out)
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case err := <-served:
			return fmt.Errorf("OTLP/HTTP endpoint stopped: %w", err)
		case <-tick.C:
			n, b := rec.Stats()
			slog.Info("recorded", "requests", n, "bytes", b)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	if *truth != "" {
		n, err := rec.AddGroundTruth(*truth)
		if err != nil {
			return err
		}
		slog.Info("added the ground truth", "lines", n)
	}
	if err := rec.Close(); err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	n, b := rec.Stats()
	slog.Info("recording written", "out", *out, "requests", n, "bytes", b)
	return f.Close()
}

// Replay runs `loadgen replay`.
func ReplayMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen replay", flag.ContinueOnError)
	in := fs.String("in", "recording.otlp", "recording file made by loadgen record")
	target := fs.String("target", "http://127.0.0.1:4318", "collector OTLP/HTTP base URL")
	shift := fs.String("shift", "", `where the replay lands in time: a duration from now ("-24h": the first copy starts a day ago) or an RFC 3339 time; default: now`)
	copies := fs.Int("copies", 1, "times the recording is sent, each with its own ids and following the previous one in time (a 10-minute recording × 144 = a day)")
	overlap := fs.Int("overlap", 1, "copies that share each stretch of time: the replayed data is this many times as dense as the recording (copies are still distinct)")
	seed := fs.Uint64("seed", 1, "seeds the first copy's trace, span and session ids (copy k uses seed+k)")
	speed := fs.Float64("speed", 0, "multiple of the recording's pace (1 = real time); 0 = as fast as the collector accepts")
	workers := fs.Int("workers", 4, "requests in flight at once")
	truth := fs.String("ground-truth", "", "write the recording's ground truth, shifted and re-seeded like the data, to this JSON-lines file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	start, err := parseShift(*shift, time.Now())
	if err != nil {
		return err
	}
	f, err := os.Open(*in)
	if err != nil {
		return fmt.Errorf("--in: %w", err)
	}
	frames, err := ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", *in, err)
	}
	opts := Options{Target: *target, Start: start, Copies: *copies, Overlap: *overlap, Seed: *seed, Speed: *speed, Workers: *workers,
		Progress: func(s Stats) {
			slog.Info("replaying", "copy", fmt.Sprintf("%d/%d", s.Copy, s.Copies), "requests", s.Requests,
				"MB", s.Bytes>>20, "retries", s.Retries, "elapsed", s.Elapsed.Round(time.Second))
		}}
	if *truth != "" {
		tf, err := os.Create(*truth)
		if err != nil {
			return fmt.Errorf("--ground-truth: %w", err)
		}
		defer tf.Close()
		opts.GroundTruth = tf
	}
	first, last := Span(frames)
	slog.Info("replay starting", "in", *in, "frames", len(frames), "recorded", last.Sub(first).Round(time.Second),
		"window_start", start.UTC().Format(time.RFC3339), "copies", *copies, "speed", *speed)
	s, err := Replay(ctx, frames, opts)
	if err != nil {
		return err
	}
	slog.Info("replay done", "requests", s.Requests, "bytes", s.Bytes, "retries", s.Retries, "elapsed", s.Elapsed.Round(time.Millisecond),
		"window", s.WindowStart.UTC().Format(time.RFC3339)+" – "+s.WindowEnd.UTC().Format(time.RFC3339))
	return nil
}

// parseShift reads --shift: a signed duration from now, or an RFC 3339 time.
func parseShift(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New(`--shift: give a duration from now ("-24h") or an RFC 3339 time ("2026-12-01T00:00:00Z")`)
}
