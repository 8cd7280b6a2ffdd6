package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Summary is what a run did.
type Summary struct {
	Started            time.Time       `json:"started"`
	Ended              time.Time       `json:"ended"`
	Journeys           int             `json:"journeys"`
	JourneysByCategory map[string]int  `json:"journeys_by_category"`
	JourneysByPattern  map[string]int  `json:"journeys_by_pattern"`
	Requests           int             `json:"requests"`
	StatusCounts       map[string]int  `json:"status_counts"`
	ServerErrors       int             `json:"server_errors"`    // 5xx answers
	TransportErrors    int             `json:"transport_errors"` // no HTTP answer
	ClientErrors       int             `json:"client_errors"`    // 4xx answers
	TracesStarted      int             `json:"traces_started"`
	FaultWindows       []WindowSummary `json:"fault_windows"`
	FaultFailures      int             `json:"fault_failures"`
	Browser            BrowserSummary  `json:"browser"`
}

// WindowSummary is one fault window of the run.
type WindowSummary struct {
	Scenario string    `json:"scenario"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Traces   int       `json:"traces"`
	Errors   int       `json:"error_traces"`
}

// Errors is the number of requests that failed on the server side or below
// HTTP.
func (s Summary) Errors() int { return s.ServerErrors + s.TransportErrors }

type catalogItem struct {
	ID        int    `json:"id"`
	SKU       string `json:"sku"`
	Available int    `json:"available"`
}

type catalog struct {
	all, inStock, outOfStock []catalogItem
}

type runner struct {
	cfg     Config
	target  string
	client  *http.Client
	log     *slog.Logger
	truth   *truth
	catalog catalog
	browser *browserPool // nil without browsers

	outMu sync.Mutex // the progress line and announcements share the output

	mu         sync.Mutex
	byCategory map[string]int
	byPattern  map[string]int
	statuses   map[string]int

	journeys, requests, traces      atomic.Int64
	active                          atomic.Int64
	serverErrs, netErrs, clientErrs atomic.Int64
}

// Run generates load as cfg says until cfg.Duration passes or ctx ends, and
// writes progress and a summary to out. Logs go to slog's default logger.
func Run(ctx context.Context, cfg Config, out io.Writer) (Summary, error) {
	if err := cfg.Validate(); err != nil {
		return Summary{}, fmt.Errorf("invalid config: %w", err)
	}
	log := slog.Default()
	r := &runner{
		cfg:    cfg,
		target: strings.TrimRight(cfg.Target, "/"),
		client: &http.Client{Transport: &http.Transport{
			MaxIdleConns: cfg.Concurrency * 4, MaxIdleConnsPerHost: cfg.Concurrency * 4, IdleConnTimeout: 90 * time.Second,
		}},
		log: log, byCategory: map[string]int{}, byPattern: map[string]int{}, statuses: map[string]int{},
	}
	defer r.client.CloseIdleConnections()
	var exe string
	if cfg.Browsers > 0 {
		var err error
		if exe, err = cfg.Browser.chromiumPath(); err != nil {
			return Summary{}, err
		}
	}
	if err := r.waitReady(ctx); err != nil {
		return Summary{}, err
	}
	t, err := openTruth(cfg.GroundTruth)
	if err != nil {
		return Summary{}, err
	}
	r.truth = t

	start := time.Now()
	sum := Summary{Started: start}
	t.write(map[string]any{"kind": KindRunStart, "start": start, "target": r.target, "seed": cfg.Seed, "rate": cfg.Rate,
		"duration": cfg.Duration.D().String(), "concurrency": cfg.Concurrency, "journey_mix": cfg.JourneyMix})

	// Journeys outlive an ordinary end of the run (they finish what they
	// started) but not an interrupt.
	jctx, cancelJourneys := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJourneys()
	stopInterrupt := context.AfterFunc(ctx, cancelJourneys)
	defer stopInterrupt()

	genCtx, stopGen := context.WithCancel(ctx)
	defer stopGen()
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		genCtx, cancel = context.WithDeadline(genCtx, start.Add(cfg.Duration.D()))
		defer cancel()
	}

	var sched *scheduler
	var bg sync.WaitGroup
	if cfg.FaultsEnabled() && len(cfg.Scenarios) > 0 {
		sched = newScheduler(cfg, adminClient{base: cfg.AdminURL(), hc: &http.Client{Timeout: 15 * time.Second}}, t, log, start)
		sched.say = r.announcer(out)
		if next := sched.nextPaced(); !next.IsZero() {
			every := "no more paced windows after it"
			if e := cfg.Faults.Every.D(); e > 0 {
				every = "then one every " + e.String()
			}
			sched.say("first fault window due at %s (in %s), %s; the scenarios take turns", next.Format(time.TimeOnly),
				time.Until(next).Round(time.Second), every)
		}
		bg.Go(func() { sched.run(genCtx) })
	}
	bg.Go(func() { r.progress(genCtx, out, start, sched) })

	var journeys sync.WaitGroup
	if cfg.Browsers > 0 {
		r.browser = newBrowserPool(r, exe)
		for i := range cfg.Browsers {
			journeys.Go(func() { r.browser.run(i, genCtx, jctx) })
		}
	}
	r.generate(genCtx, jctx, &journeys)

	// Let running journeys finish, but not forever.
	finished := make(chan struct{})
	go func() {
		journeys.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(max(cfg.RequestTimeout.D()*2, 30*time.Second, cfg.Browser.JourneyTimeout.D()*time.Duration(min(cfg.Browsers, 1)))):
		cancelJourneys()
		<-finished
	}
	stopGen()
	bg.Wait()

	sum.Ended = time.Now()
	r.fill(&sum)
	if r.browser != nil {
		sum.Browser = r.browser.summary()
	}
	if sched != nil {
		sum.FaultFailures = sched.failures()
	}
	err = t.close(map[string]any{"kind": KindRunEnd, "end": sum.Ended, "summary": sum})
	// The windows are final once the file is closed.
	sum.FaultWindows = nil
	for _, w := range t.windowsWritten() {
		sum.FaultWindows = append(sum.FaultWindows, WindowSummary{Scenario: w.Scenario, Start: w.Start, End: w.End,
			Traces: len(w.TraceIDs), Errors: len(w.ErrorTraceIDs)})
	}
	printSummary(out, sum)
	return sum, err
}

// waitReady waits until the shop answers and its catalog can be read: with
// services in separate processes the frontend may be up before inventory.
func (r *runner) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := r.loadCatalog(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("target %s is not ready: %w", r.target, err)
		}
		r.log.Info("waiting for the shop", "target", r.target, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// loadCatalog learns the product ids and their stock through the public API.
func (r *runner) loadCatalog(ctx context.Context) error {
	r.catalog = catalog{}
	for page := 1; page <= 100; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/products?page_size=100&page=%d", r.target, page), nil)
		if err != nil {
			return fmt.Errorf("build catalog request: %w", err)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			return fmt.Errorf("load catalog: %w", err)
		}
		var body struct {
			Products []catalogItem `json:"products"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("load catalog page %d: status %d: %v", page, resp.StatusCode, err)
		}
		for _, p := range body.Products {
			r.catalog.all = append(r.catalog.all, p)
			if p.Available > 0 {
				r.catalog.inStock = append(r.catalog.inStock, p)
			} else {
				r.catalog.outOfStock = append(r.catalog.outOfStock, p)
			}
		}
		if len(body.Products) < 100 {
			break
		}
	}
	if len(r.catalog.inStock) == 0 {
		return errors.New("load catalog: the shop has no product in stock")
	}
	return nil
}

// generate starts journeys at the configured rate until genCtx ends. A
// journey waits for a free concurrency slot, so an overloaded shop slows the
// rate down instead of piling up requests.
func (r *runner) generate(genCtx, jctx context.Context, wg *sync.WaitGroup) {
	master := rand.New(rand.NewPCG(r.cfg.Seed, 0x10ad))
	pk := newPicker(r.cfg)
	slots := make(chan struct{}, r.cfg.Concurrency)
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	next := time.Now()
	for n := 1; ; n++ {
		if d := time.Until(next); d > 0 {
			select {
			case <-genCtx.Done():
				return
			case <-time.After(d):
			}
		}
		next = next.Add(interval)
		select {
		case <-genCtx.Done():
			return
		case slots <- struct{}{}:
		}
		cat, pat := pk.pick(master)
		j := &journey{id: fmt.Sprintf("j-%06d", n), session: newSessionID(), category: cat, pattern: pat,
			rng: rand.New(rand.NewPCG(master.Uint64(), uint64(n))), r: r, ctx: jctx}
		r.active.Add(1)
		wg.Go(func() {
			defer func() {
				r.active.Add(-1)
				<-slots
			}()
			r.runJourney(j)
		})
		if late := time.Since(next); late > time.Second {
			// Do not try to catch up after a stall.
			next = time.Now()
		}
	}
}

func (r *runner) runJourney(j *journey) {
	j.start = time.Now()
	r.mu.Lock()
	r.byCategory[j.category]++
	r.byPattern[j.pattern]++
	r.mu.Unlock()
	r.journeys.Add(1)
	lookupPattern(j.pattern).fn(j)
	j.end = time.Now()
	r.truth.journeyDone(j)
}

func (r *runner) requestDone(id uint64, j *journey, rec Request) {
	r.requests.Add(1)
	key := strconv.Itoa(rec.Status)
	switch {
	case rec.Status == 0 && j.ctx.Err() != nil:
		key = "canceled"
	case rec.Status == 0:
		key = "no_answer"
		r.netErrs.Add(1)
	case rec.Status >= 500:
		r.serverErrs.Add(1)
	case rec.Status >= 400:
		r.clientErrs.Add(1)
	}
	r.mu.Lock()
	r.statuses[key]++
	r.mu.Unlock()
	r.truth.requestDone(id, j.id, rec)
}

func (r *runner) fill(s *Summary) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.Journeys = int(r.journeys.Load())
	s.JourneysByCategory = mapsClone(r.byCategory)
	s.JourneysByPattern = mapsClone(r.byPattern)
	s.StatusCounts = mapsClone(r.statuses)
	s.Requests = int(r.requests.Load())
	s.ServerErrors = int(r.serverErrs.Load())
	s.TransportErrors = int(r.netErrs.Load())
	s.ClientErrors = int(r.clientErrs.Load())
	s.TracesStarted = int(r.traces.Load())
}

func mapsClone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints a status line: rewritten in place on a terminal, one line
// every 10 seconds otherwise.
func (r *runner) progress(ctx context.Context, out io.Writer, start time.Time, sched *scheduler) {
	tty := isTerminal(out)
	every := 10 * time.Second
	if tty {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(out)
			}
			return
		case <-t.C:
		}
		elapsed := time.Since(start)
		mins := elapsed.Minutes()
		active := "none"
		if sched != nil {
			if a := sched.active(); len(a) > 0 {
				active = strings.Join(a, ",")
			}
		}
		browsers := ""
		if b := r.browser; b != nil {
			browsers = fmt.Sprintf(" browser sessions %d (%.1f/min)", b.sessions.Load(), float64(b.sessions.Load())/mins)
		}
		line := fmt.Sprintf("[%s] journeys %d (%.1f/s, %d running) requests %d (%.0f/min) traces %.0f/min errors %d (5xx %d, no answer %d)%s faults: %s",
			elapsed.Truncate(time.Second), r.journeys.Load(), float64(r.journeys.Load())/elapsed.Seconds(), r.active.Load(),
			r.requests.Load(), float64(r.requests.Load())/mins, float64(r.traces.Load())/mins,
			r.serverErrs.Load()+r.netErrs.Load(), r.serverErrs.Load(), r.netErrs.Load(), browsers, active)
		r.outMu.Lock()
		if tty {
			fmt.Fprintf(out, "\r\033[K%s", line)
		} else {
			fmt.Fprintln(out, line)
		}
		r.outMu.Unlock()
	}
}

// announcer returns a func that prints a line of news to out: on a terminal
// above the progress line, which the next tick rewrites.
func (r *runner) announcer(out io.Writer) func(format string, args ...any) {
	tty := isTerminal(out)
	return func(format string, args ...any) {
		r.outMu.Lock()
		defer r.outMu.Unlock()
		if tty {
			fmt.Fprint(out, "\r\033[K")
		}
		fmt.Fprintf(out, "==> "+format+"\n", args...)
	}
}

func printSummary(out io.Writer, s Summary) {
	d := s.Ended.Sub(s.Started)
	mins := max(d.Minutes(), 1e-9)
	fmt.Fprintf(out, "\nrun finished after %s\n", d.Truncate(time.Millisecond))
	fmt.Fprintf(out, "  journeys   %d (%.2f/s)\n", s.Journeys, float64(s.Journeys)/d.Seconds())
	for _, c := range Categories {
		if n := s.JourneysByCategory[c]; n > 0 {
			fmt.Fprintf(out, "    %-16s %6d  %5.1f%%\n", c, n, 100*float64(n)/float64(max(s.Journeys, 1)))
		}
	}
	fmt.Fprintf(out, "  requests   %d (%.0f/min), traces started %d (%.0f/min)\n", s.Requests, float64(s.Requests)/mins,
		s.TracesStarted, float64(s.TracesStarted)/mins)
	fmt.Fprintf(out, "  errors     %d 5xx, %d without answer, %d 4xx\n", s.ServerErrors, s.TransportErrors, s.ClientErrors)
	keys := make([]string, 0, len(s.StatusCounts))
	for k := range s.StatusCounts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s:%d", k, s.StatusCounts[k]))
	}
	fmt.Fprintf(out, "  statuses   %s\n", strings.Join(parts, " "))
	if b := s.Browser; b.Browsers > 0 {
		fmt.Fprintf(out, "  browsers   %d: %d journeys, %d sessions (%.1f/min), %d unfinished, %d launches, peak RSS %d MiB, CPU %.0f s\n",
			b.Browsers, b.Journeys, b.Sessions, float64(b.Sessions)/mins, b.Failed, b.Launches, b.PeakRSSBytes>>20, b.CPUSeconds)
	}
	fmt.Fprintf(out, "  fault windows %d", len(s.FaultWindows))
	if s.FaultFailures > 0 {
		fmt.Fprintf(out, " (%d could not be opened)", s.FaultFailures)
	}
	fmt.Fprintln(out)
	for _, w := range s.FaultWindows {
		fmt.Fprintf(out, "    %-20s %s .. %s  %d traces touched, %d with errors\n", w.Scenario,
			w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly), w.Traces, w.Errors)
	}
}
