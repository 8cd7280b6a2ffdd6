package run

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"
)

// BrowserSettings configure the journeys that run in headless Chromium
// (config key `browser`; how many run at once is `browsers`).
type BrowserSettings struct {
	// Executable is the Chromium binary; empty: $CHROMIUM_PATH, then
	// chromium, chromium-browser or google-chrome on the PATH.
	Executable string `yaml:"executable"`
	// ThinkTime is the pause between a browser user's actions: people read
	// pages, so it is longer than the HTTP journeys'.
	ThinkTime Range `yaml:"think_time"`
	// MaxRSSMiB caps one browser's memory (the PSS of all its processes,
	// shared pages counted once): above it the browser is restarted after
	// its current journey.
	MaxRSSMiB int `yaml:"max_rss_mib"`
	// Lifetime is how long one browser process serves journeys before it is
	// replaced by a fresh one.
	Lifetime Duration `yaml:"lifetime"`
	// JourneyTimeout bounds one browser journey; a journey past it is ended
	// and its tab closed.
	JourneyTimeout Duration `yaml:"journey_timeout"`
}

func defaultBrowserSettings() BrowserSettings {
	return BrowserSettings{
		ThinkTime:      Range{Min: Duration(400 * time.Millisecond), Max: Duration(1500 * time.Millisecond)},
		MaxRSSMiB:      768,
		Lifetime:       Duration(15 * time.Minute),
		JourneyTimeout: Duration(3 * time.Minute),
	}
}

func (b BrowserSettings) validate(browsers int) []error {
	var errs []error
	if browsers < 0 {
		errs = append(errs, fmt.Errorf("browsers must not be negative, got %d", browsers))
	}
	if b.ThinkTime.Max < b.ThinkTime.Min || b.ThinkTime.Min < 0 {
		errs = append(errs, errors.New("browser.think_time: need 0 <= min <= max"))
	}
	if b.MaxRSSMiB < 64 {
		errs = append(errs, fmt.Errorf("browser.max_rss_mib must be at least 64, got %d", b.MaxRSSMiB))
	}
	if b.Lifetime <= 0 {
		errs = append(errs, errors.New("browser.lifetime must be positive"))
	}
	if b.JourneyTimeout <= 0 {
		errs = append(errs, errors.New("browser.journey_timeout must be positive"))
	}
	return errs
}

// chromiumPath finds the Chromium binary or says how to install it.
func (b BrowserSettings) chromiumPath() (string, error) {
	if b.Executable != "" {
		if _, err := os.Stat(b.Executable); err != nil {
			return "", fmt.Errorf("browser.executable %s: %w", b.Executable, err)
		}
		return b.Executable, nil
	}
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("browser journeys need Chromium: install it with `make deps` (apt-get install chromium), " +
		"set browser.executable or $CHROMIUM_PATH, or set browsers: 0 for HTTP journeys only")
}

// BrowserSummary is what the browser journeys did.
type BrowserSummary struct {
	Browsers int `json:"browsers"`
	Journeys int `json:"journeys"`
	// Sessions counts the journeys whose page recorded a session.
	Sessions int `json:"sessions"`
	// Failed counts journeys that could not finish their script (a page
	// that never became ready, a browser that died).
	Failed   int `json:"failed"`
	Launches int `json:"launches"`
	// Restarts are launches that replaced a browser: it died, outgrew
	// max_rss_mib or reached its lifetime.
	Restarts int `json:"restarts"`
	// PeakRSSBytes is the most memory one browser held (PSS of all its
	// processes).
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	// PIDs are every Chromium process the run started (browser, renderers,
	// helpers); none is alive once Run returns.
	PIDs []int `json:"pids"`
}

// browserPool runs cfg.Browsers browsers, each taking browser journeys one
// after another until the generation ends.
type browserPool struct {
	r        *runner
	exe      string
	set      BrowserSettings
	log      *slog.Logger
	pickMu   sync.Mutex
	master   *rand.Rand
	pk       *picker
	seq      atomic.Int64
	journeys atomic.Int64
	sessions atomic.Int64
	failed   atomic.Int64
	launches atomic.Int64
	restarts atomic.Int64
	active   atomic.Int64

	mu      sync.Mutex
	pids    map[int]bool
	peakRSS int64
	cpu     float64 // seconds, of browsers already closed
}

func newBrowserPool(r *runner, exe string) *browserPool {
	return &browserPool{r: r, exe: exe, set: r.cfg.Browser, log: r.log, pids: map[int]bool{},
		// Browser journeys draw from the same mix with a sequence of their
		// own, so adding browsers leaves the HTTP journeys' sequence as it was.
		master: rand.New(rand.NewPCG(r.cfg.Seed, 0xb0b)), pk: newPicker(r.cfg)}
}

// next draws the next browser journey.
func (p *browserPool) next(jctx context.Context) *journey {
	p.pickMu.Lock()
	defer p.pickMu.Unlock()
	n := p.seq.Add(1)
	cat, pat := p.pk.pick(p.master)
	return &journey{id: fmt.Sprintf("b-%06d", n), category: cat, pattern: pat,
		rng: rand.New(rand.NewPCG(p.master.Uint64(), uint64(n))), r: p.r, ctx: jctx}
}

// run keeps browser i busy until genCtx ends; journeys run under jctx
// (cancelled on interrupt). It returns once its Chromium is gone.
func (p *browserPool) run(i int, genCtx, jctx context.Context) {
	backoff := time.Second
	for genCtx.Err() == nil {
		b, err := p.launch(jctx, i)
		if err != nil {
			p.log.Warn("browser did not start; retrying", "browser", i, "err", err, "in", backoff)
			select {
			case <-genCtx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
		reason := p.serve(b, genCtx, jctx)
		b.close(p)
		if reason != "" && genCtx.Err() == nil {
			p.restarts.Add(1)
			p.log.Info("browser restarted", "browser", i, "reason", reason)
		}
	}
}

// serve runs journeys in b until the generation ends or b must be replaced;
// it returns why b is replaced ("" when the run ends).
func (p *browserPool) serve(b *browser, genCtx, jctx context.Context) string {
	for genCtx.Err() == nil {
		if age := time.Since(b.started); age > p.set.Lifetime.D() {
			return fmt.Sprintf("lifetime %s reached", p.set.Lifetime.D())
		}
		if rss := b.rss(); rss > int64(p.set.MaxRSSMiB)<<20 {
			return fmt.Sprintf("resident memory %d MiB over max_rss_mib %d", rss>>20, p.set.MaxRSSMiB)
		}
		j := p.next(jctx)
		p.active.Add(1)
		bj := p.runJourney(b, j)
		p.active.Add(-1)
		if b.ctx.Err() != nil && jctx.Err() == nil {
			return fmt.Sprintf("browser exited (%v)", context.Cause(b.ctx))
		}
		if bj.failure != "" {
			p.log.Debug("browser journey did not finish", "journey", j.id, "pattern", j.pattern, "why", bj.failure)
		}
	}
	return ""
}

// Summary returns the browser figures so far.
func (p *browserPool) summary() BrowserSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := BrowserSummary{Browsers: p.r.cfg.Browsers, Journeys: int(p.journeys.Load()), Sessions: int(p.sessions.Load()),
		Failed: int(p.failed.Load()), Launches: int(p.launches.Load()), Restarts: int(p.restarts.Load()),
		PeakRSSBytes: p.peakRSS, CPUSeconds: p.cpu}
	for pid := range p.pids {
		s.PIDs = append(s.PIDs, pid)
	}
	return s
}

// browser is one running Chromium.
type browser struct {
	ctx     context.Context // the browser's chromedp context
	cancel  context.CancelFunc
	dir     string // its user data directory: every one of its processes names it
	started time.Time
	stop    chan struct{}
	watch   sync.WaitGroup
	procs   procSampler
}

func (p *browserPool) launch(jctx context.Context, i int) (*browser, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("loadgen-chromium-%d-", i))
	if err != nil {
		return nil, fmt.Errorf("browser profile directory: %w", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(p.exe),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// The V8 heap of each renderer stays well under the browser's cap.
		chromedp.Flag("js-flags", fmt.Sprintf("--max-old-space-size=%d", max(p.set.MaxRSSMiB/4, 32))),
		chromedp.WindowSize(1280, 800),
	)
	// The browser outlives nothing: it ends with the journeys' context.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(jctx), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	b := &browser{ctx: bctx, dir: dir, started: time.Now(), stop: make(chan struct{}), procs: procSampler{dir: dir}}
	b.cancel = func() {
		cancelBrowser()
		cancelAlloc()
	}
	stopOnInterrupt := context.AfterFunc(jctx, b.cancel)
	prev := b.cancel
	b.cancel = func() { stopOnInterrupt(); prev() }
	if err := chromedp.Do(bctx); err != nil {
		b.close(p)
		return nil, fmt.Errorf("start %s: %w", p.exe, err)
	}
	p.launches.Add(1)
	b.watch.Go(func() { b.monitor(p) })
	return b, nil
}

// monitor samples the browser's processes every 2 s: their PIDs (so the run
// can prove none survives), resident memory and CPU time.
func (b *browser) monitor(p *browserPool) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		b.sample(p)
		select {
		case <-b.stop:
			return
		case <-t.C:
		}
	}
}

func (b *browser) sample(p *browserPool) {
	pids, rss := b.procs.sample()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, pid := range pids {
		p.pids[pid] = true
	}
	p.peakRSS = max(p.peakRSS, rss)
}

func (b *browser) rss() int64 {
	_, rss := b.procs.sample()
	return rss
}

// close ends the browser and every process it started, and removes its
// profile.
func (b *browser) close(p *browserPool) {
	b.sample(p)
	select {
	case <-b.stop:
	default:
		close(b.stop)
	}
	b.watch.Wait()
	cpu := b.procs.cpuSeconds()
	b.cancel()
	// chromedp waits for the browser process; its helpers (zygote,
	// renderers, network service) may outlive it for a moment.
	killLeftovers(b.dir)
	p.mu.Lock()
	p.cpu += cpu
	p.mu.Unlock()
	for range 50 {
		if err := os.RemoveAll(b.dir); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}
