package tracesummary

import (
	"container/list"
	"math"
	"sync"
	"time"
)

// Anomaly types, most specific first.
const (
	AnomalyNone            = ""
	AnomalyError           = "error"
	AnomalyLatency         = "latency"
	AnomalyRetryStorm      = "retry_storm"
	AnomalyUnusualSequence = "unusual_sequence"
	AnomalyRequestRate     = "request_rate"
)

const (
	defaultMinSamples    = 20
	defaultLatencyZ      = 3.0
	defaultLatencyTail   = 1e-3
	defaultRetryRun      = 3
	defaultShortWindow   = 30 * time.Second
	defaultLongWindow    = 15 * time.Minute
	defaultMinRecurrence = 3.0
	defaultSpikeP        = 1e-3
	defaultSpikeRatio    = 2.0
	defaultMaxPaths      = 1 << 14
)

// ModelConfig tunes what counts as abnormal. Zero values take the defaults.
// The tags are the embedding processor's traces.* keys, which embed it.
type ModelConfig struct {
	// MinSamples traces of an entry operation are needed before its traces
	// are judged on latency and on the shape of their path. An error path
	// is judged from the first trace: with no history, an error is news.
	MinSamples int `mapstructure:"min_samples"`
	// LatencyTail: a trace slower than all but this share of the recent
	// traces of its path (or of its entry operation, while the path has too
	// few) is slow, if it is also LatencyZ robust standard deviations (from
	// the interquartile range of log-duration) above their median.
	LatencyTail float64 `mapstructure:"latency_tail"`
	LatencyZ    float64 `mapstructure:"latency_z"`
	// SequenceDistance is kept for configuration compatibility: the path
	// model below replaced the embedding centroid. When > 0, a distance of
	// the trace's embedding from its operation's centroid beyond it adds to
	// the score (not to the verdict).
	SequenceDistance float64 `mapstructure:"sequence_distance"`
	// RetryRun consecutive identical calls from one caller, where the
	// caller re-sent its own request or some of the calls failed, are a
	// retry storm.
	RetryRun int `mapstructure:"retry_run"`
	// MaxOperations bounds how many entry operations are tracked.
	MaxOperations int `mapstructure:"max_operations"`
	// ShortWindow and LongWindow are the time constants of the short- and
	// long-term rates of each path and error signature.
	ShortWindow time.Duration `mapstructure:"short_window"`
	LongWindow  time.Duration `mapstructure:"long_window"`
	// MinRecurrence: a path or error signature seen fewer times than this
	// (exponentially decayed count over about the LongWindow) before the
	// last ShortWindow or so is new.
	MinRecurrence float64 `mapstructure:"min_recurrence"`
	// SpikeP and SpikeRatio: a recurring path or error signature is
	// anomalous while its short-term count is SpikeRatio times what its
	// earlier share of the operation's traffic predicts and has a Poisson
	// probability below SpikeP.
	SpikeP     float64 `mapstructure:"spike_p"`
	SpikeRatio float64 `mapstructure:"spike_ratio"`
	// MaxPaths bounds the paths and error signatures remembered over all
	// operations; the least recently seen is forgotten first.
	MaxPaths int `mapstructure:"max_paths"`
	// MaxSessions bounds the client sessions (Summary.Session) followed at
	// once; the least recently seen is forgotten first. Negative disables
	// judging traces within their session.
	MaxSessions int `mapstructure:"max_sessions"`
	// SessionRare: a session behaviour (a run of requests back to back, a
	// request without the one that normally precedes it) that fewer than
	// this share of sessions show is anomalous, and so is the rest of a
	// session that showed it.
	SessionRare float64 `mapstructure:"session_rare"`
	// SessionFastGap: a request sent within this fraction of the usual
	// pause between a session's requests (the median) after the previous
	// one ended follows it back to back.
	SessionFastGap float64 `mapstructure:"session_fast_gap"`
	// SessionIdle: a session unseen this long is over; its id starts a new
	// one.
	SessionIdle time.Duration `mapstructure:"session_idle"`
	// SessionSettle is how long after a trace ends (in the traces' time)
	// its place in the session's order is judged, if the session's next
	// request has not come first: by then the requests before it have
	// arrived, whatever order their traces were released in.
	SessionSettle time.Duration `mapstructure:"session_settle"`
}

func (c ModelConfig) withDefaults() ModelConfig {
	if c.MinSamples <= 0 {
		c.MinSamples = defaultMinSamples
	}
	if c.LatencyZ <= 0 {
		c.LatencyZ = defaultLatencyZ
	}
	if c.LatencyTail <= 0 || c.LatencyTail >= 1 {
		c.LatencyTail = defaultLatencyTail
	}
	if c.RetryRun <= 0 {
		c.RetryRun = defaultRetryRun
	}
	if c.MaxOperations <= 0 {
		c.MaxOperations = 10000
	}
	if c.ShortWindow <= 0 {
		c.ShortWindow = defaultShortWindow
	}
	if c.LongWindow <= 0 {
		c.LongWindow = defaultLongWindow
	}
	if c.LongWindow < 2*c.ShortWindow {
		c.LongWindow = 2 * c.ShortWindow
	}
	if c.MinRecurrence <= 0 {
		c.MinRecurrence = defaultMinRecurrence
	}
	if c.SpikeP <= 0 || c.SpikeP >= 1 {
		c.SpikeP = defaultSpikeP
	}
	if c.SpikeRatio <= 0 {
		c.SpikeRatio = defaultSpikeRatio
	}
	if c.MaxPaths <= 0 {
		c.MaxPaths = defaultMaxPaths
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = defaultMaxSessions
	}
	if c.SessionRare <= 0 || c.SessionRare >= 1 {
		c.SessionRare = defaultSessionRare
	}
	if c.SessionFastGap <= 0 || c.SessionFastGap >= 1 {
		c.SessionFastGap = defaultSessionFastGap
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = defaultSessionIdle
	}
	if c.SessionSettle <= 0 {
		c.SessionSettle = defaultSessionSettle
	}
	return c
}

// Score is the model's judgement of one trace.
type Score struct {
	Value     float64 // 0 = typical; grows with how abnormal the trace is
	IsAnomaly bool
	Type      string
	// Distance is the cosine distance of the trace's embedding from its
	// operation's centroid (0 before the centroid exists or without
	// SequenceDistance).
	Distance float64
	// LatencyZ is the trace's robust log-duration z-score within its path,
	// or its operation while the path has few traces (0 before either has
	// MinSamples).
	LatencyZ float64
	// PathShare is the long-term share of the operation's traces that took
	// the same path (call tree shape with its errors) before this one.
	PathShare float64
	// ErrorShare is the same for the trace's error signature (which
	// operations failed); 0 without errors.
	ErrorShare float64
	// Session is the anomaly type of the trace's client session ("" when
	// the session looks ordinary or is unknown).
	Session string
	// Revised lists traces judged ordinary when they came whose verdict
	// is now anomalous: this trace showed their session abnormal, or the
	// requests before one of them have all arrived now and it was out of
	// order. (Only the latest few traces of a session are remembered.)
	Revised []Revision
}

// Model learns, online and per entry operation, what is normal: how often
// each path (the call tree's shape, see Summary.Shape) and each error
// signature (which operations failed) occurs, at a short and a long time
// scale, and the distribution of log-duration. A trace is anomalous when
// its error signature is new or occurs far more often lately than it used
// to (an error path that recurs at a steady rate — a declined card, a 404 —
// is how the system behaves, not news), when its path is new or spiking in
// an operation whose paths normally recur, when it is far slower than the
// operation's usual, or when it holds a retry storm. A trace that names its
// client session (Summary.Session) is also judged within it: a session that
// sends requests back to back as sessions rarely do, or a request without
// the one sessions normally send before it (a payment with no checkout), is
// anomalous, and so are its later requests (see judgeSession). Everything
// is learned from the traffic itself: there is no training step. Memory is
// bounded by MaxOperations, MaxPaths and MaxSessions. Time is the traces'
// own (their end), so a replay judges as the live pipeline did. Safe for
// concurrent use.
type Model struct {
	cfg   ModelConfig
	mu    sync.Mutex
	ops   map[string]*opStats
	lru   *list.List // of *pathStats, most recently seen first
	now   int64      // latest trace end seen, unix ns
	tauS  float64    // time constants in ns
	tauL  float64
	nPath int
	sess  *sessionModel
}

type opStats struct {
	name  string
	seen  int  // traces observed (not decayed), for warm-up
	n     rate // all traces
	novel rate // traces whose path was new: paths that never recur make novelty meaningless
	retry rate // traces holding a retry storm
	paths map[pathKey]*pathStats
	lat   histogram
	// centroid of embeddings, only with SequenceDistance
	nVec     int
	centroid []float64
}

type pathKey struct {
	errSig bool // error signature rather than path shape
	hash   uint64
}

type pathStats struct {
	op   *opStats
	key  pathKey
	r    rate
	lat  *histogram // paths only, not error signatures
	elem *list.Element
}

// rate is an exponentially decayed count at two time scales.
type rate struct {
	s, l float64
	t    int64 // unix ns of the last update
}

func (r *rate) decay(now int64, tauS, tauL float64) {
	if r.t == 0 {
		r.t = now
		return
	}
	if dt := float64(now - r.t); dt > 0 {
		r.s *= math.Exp(-dt / tauS)
		r.l *= math.Exp(-dt / tauL)
		r.t = now
	}
}

func (r *rate) add(w float64) { r.s += w; r.l += w }

// NewModel creates an empty model.
func NewModel(cfg ModelConfig) *Model {
	cfg = cfg.withDefaults()
	return &Model{cfg: cfg, ops: map[string]*opStats{}, lru: list.New(),
		tauS: float64(cfg.ShortWindow), tauL: float64(cfg.LongWindow), sess: newSessionModel()}
}

// Observe scores a trace against what is normal for its entry operation and
// learns from it. vec is the trace's unit embedding (may be nil).
func (m *Model) Observe(s Summary, vec []float32) Score {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := s.Start.Add(s.Duration).UnixNano()
	// A trace from a clock far ahead must not drag the model's time along.
	if wall := time.Now().UnixNano(); s.Start.IsZero() || now > wall+int64(time.Minute) {
		now = wall
	}
	// Traces arrive roughly in order; a late one is judged at the model's
	// time so the decayed counts never run backwards.
	if now < m.now {
		now = m.now
	}
	m.now = now
	op := m.ops[s.RootOperation]
	if op == nil {
		if len(m.ops) >= m.cfg.MaxOperations {
			// Unbounded operation names (ids in span names) must not grow
			// memory without limit; judge such a trace on its own features.
			return m.judgeAlone(s)
		}
		op = &opStats{name: s.RootOperation, paths: map[pathKey]*pathStats{}}
		m.ops[s.RootOperation] = op
	}
	return m.observe(op, s, vec, now)
}

// judgeAlone judges a trace without history: errors and retry storms only.
func (m *Model) judgeAlone(s Summary) Score {
	var sc Score
	if s.ErrorCount > 0 {
		sc.IsAnomaly, sc.Type = true, AnomalyError
		sc.Value = 1 + math.Log1p(float64(s.ErrorCount))
	}
	if s.RetryRun >= m.cfg.RetryRun {
		sc.IsAnomaly, sc.Type = true, AnomalyRetryStorm
		sc.Value += float64(s.RetryRun) / float64(m.cfg.RetryRun)
	}
	return sc
}

func (m *Model) observe(op *opStats, s Summary, vec []float32, now int64) Score {
	var sc Score
	cfg := m.cfg
	op.n.decay(now, m.tauS, m.tauL)
	op.novel.decay(now, m.tauS, m.tauL)
	op.retry.decay(now, m.tauS, m.tauL)
	warm := op.seen >= cfg.MinSamples

	type reason struct {
		kind   string
		weight float64
	}
	var reasons []reason

	// The path: new, or much more frequent lately than it used to be.
	path := m.path(op, pathKey{hash: s.Shape}, now)
	pathNew, pathS := m.surprise(op, path)
	spikeS := -math.Log10(cfg.SpikeP)
	sc.PathShare = share(path.r.l, op.n.l)
	// When most paths of an operation are one-offs (ids in span names, a
	// fan-out that varies with the data), a new path is no news.
	novelty := share(op.novel.l, op.n.l)
	if warm && novelty < 0.2 && (pathNew || pathS >= spikeS) {
		w := math.Max(1, pathS/spikeS)
		reasons = append(reasons, reason{AnomalyUnusualSequence, w})
	}

	// The error signature: judged from the first trace on.
	var errSig *pathStats
	if s.ErrorCount > 0 {
		errSig = m.path(op, pathKey{errSig: true, hash: s.ErrorSignature}, now)
		errNew, errS := m.surprise(op, errSig)
		sc.ErrorShare = share(errSig.r.l, op.n.l)
		if errNew || errS >= spikeS {
			w := (1 + math.Log1p(float64(s.ErrorCount))) * math.Max(1, errS/spikeS)
			reasons = append(reasons, reason{AnomalyError, w})
		}
	}

	// Retry storms, unless this operation does that all the time (a
	// batch endpoint that loops by design).
	if s.RetryRun >= cfg.RetryRun && !(warm && share(op.retry.l, op.n.l) > 0.5) {
		reasons = append(reasons, reason{AnomalyRetryStorm, float64(s.RetryRun) / float64(cfg.RetryRun)})
	}

	// Latency: slower than all but LatencyTail of the same path's recent
	// traces when the path has a baseline of its own (a path that ends in a
	// timeout always takes the timeout), else of the operation's; and
	// LatencyZ robust standard deviations above the median, so a tight
	// distribution does not flag jitter.
	x := logDuration(s.Duration)
	base := &op.lat
	if path.lat != nil && path.lat.n >= float64(cfg.MinSamples) {
		base = path.lat
	}
	if limit, ok := m.slowLimit(base); ok && warm {
		med, sigma := base.robust()
		sc.LatencyZ = (x - med) / sigma
		if x > limit {
			reasons = append(reasons, reason{AnomalyLatency, math.Max(1, sc.LatencyZ/cfg.LatencyZ)})
		}
	}

	// The session: how this request follows the session's earlier ones.
	kind, revised := m.judgeSession(s, now)
	if kind != AnomalyNone {
		reasons = append(reasons, reason{kind, 1})
	}
	sc.Session, sc.Revised = kind, revised

	if cfg.SequenceDistance > 0 && warm && op.nVec > 0 {
		sc.Distance = cosineDistance(op.centroid, vec)
	}

	for _, r := range reasons {
		sc.Value += r.weight
	}
	for _, kind := range []string{AnomalyRetryStorm, AnomalyError, AnomalyLatency, AnomalyUnusualSequence, AnomalyRequestRate} {
		for _, r := range reasons {
			if r.kind == kind && sc.Type == "" {
				sc.Type = kind
			}
		}
	}
	sc.IsAnomaly = len(reasons) > 0
	if warm {
		// Sub-threshold deviation still orders traces by how odd they are.
		sc.Value += 0.5 * math.Max(0, sc.LatencyZ) / cfg.LatencyZ
		sc.Value += 0.5 * math.Min(1, -math.Log10(math.Max(sc.PathShare, 1e-6))/3)
		if cfg.SequenceDistance > 0 {
			sc.Value += 0.5 * sc.Distance / cfg.SequenceDistance
		}
	}

	// Learn from every trace: rates must see the anomalies to tell a spike
	// from a new normal, and slow traces that keep coming are the tail of
	// the latency distribution, not news. (Learning a slow trace as if it
	// were at the limit instead, so that a lasting slowdown keeps being
	// flagged, flagged 2% of ordinary traffic with heavy-tailed latency.)
	op.seen++
	op.n.add(1)
	if pathNew {
		op.novel.add(1)
	}
	if s.RetryRun >= cfg.RetryRun {
		op.retry.add(1)
	}
	path.r.add(1)
	if errSig != nil {
		errSig.r.add(1)
	}
	op.lat.add(x, now, m.tauL)
	if path.lat == nil {
		path.lat = new(histogram)
	}
	path.lat.add(x, now, m.tauL)
	if cfg.SequenceDistance > 0 && !sc.IsAnomaly {
		op.learnVec(vec)
	}
	return sc
}

// slowLimit is the log-duration above which a trace is slow against a
// baseline: beyond its (1-LatencyTail) quantile and LatencyZ robust standard
// deviations above its median. ok is false while it has fewer than
// MinSamples traces.
func (m *Model) slowLimit(h *histogram) (limit float64, ok bool) {
	if h.n < float64(m.cfg.MinSamples) {
		return 0, false
	}
	med, sigma := h.robust()
	return math.Max(h.quantile(1-m.cfg.LatencyTail), med+m.cfg.LatencyZ*sigma), true
}

// path finds or creates the entry of a path or error signature, decayed to
// now, and marks it most recently seen.
func (m *Model) path(op *opStats, k pathKey, now int64) *pathStats {
	p := op.paths[k]
	if p == nil {
		for m.nPath >= m.cfg.MaxPaths {
			old := m.lru.Remove(m.lru.Back()).(*pathStats)
			delete(old.op.paths, old.key)
			m.nPath--
		}
		p = &pathStats{op: op, key: k}
		p.elem = m.lru.PushFront(p)
		op.paths[k] = p
		m.nPath++
	} else {
		m.lru.MoveToFront(p.elem)
	}
	p.r.decay(now, m.tauS, m.tauL)
	return p
}

// surprise says whether a path is new (seen fewer than MinRecurrence times
// before the last ShortWindow or so) and how surprising its short-term
// count, this trace included, is given its earlier share of the operation's
// traffic: -log10 of the Poisson probability of a count at least this high
// (0 unless the count is also SpikeRatio times the expected one). "Earlier"
// is the long-term count minus the short-term one, so a burst does not
// raise the baseline it is compared with.
func (m *Model) surprise(op *opStats, p *pathStats) (isNew bool, surprise float64) {
	before := p.r.l - p.r.s
	if before < m.cfg.MinRecurrence {
		return true, 0
	}
	expected := share(before, op.n.l-op.n.s) * (op.n.s + 1)
	observed := p.r.s + 1
	if observed < m.cfg.SpikeRatio*expected {
		return false, 0
	}
	return false, -math.Log10(math.Max(poissonTail(observed, expected), 1e-300))
}

// poissonTail is P(X >= k) for X ~ Poisson(lambda), k > 0 (real k
// interpolates): the regularised lower incomplete gamma function P(k, lambda).
func poissonTail(k, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	lg, _ := math.Lgamma(k)
	front := math.Exp(k*math.Log(lambda) - lambda - lg)
	if lambda < k+1 {
		// Series.
		sum, term := 1/k, 1/k
		for n := 1.0; n < 500; n++ {
			term *= lambda / (k + n)
			sum += term
			if term < sum*1e-12 {
				break
			}
		}
		return math.Min(1, front*sum)
	}
	// Continued fraction for the upper function Q, P = 1 - Q (Lentz).
	const tiny = 1e-300
	b := lambda + 1 - k
	c := 1 / tiny
	d := 1 / b
	h := d
	for i := 1.0; i < 500; i++ {
		an := -i * (i - k)
		b += 2
		d = an*d + b
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = b + an/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-12 {
			break
		}
	}
	return math.Max(0, 1-front*h)
}

func share(part, whole float64) float64 {
	if whole <= 0 {
		return 0
	}
	return math.Min(1, part/whole)
}

func (o *opStats) learnVec(vec []float32) {
	if len(vec) == 0 {
		return
	}
	if o.nVec == 0 {
		o.centroid = make([]float64, len(vec))
	}
	if len(o.centroid) != len(vec) {
		return
	}
	o.nVec++
	n := float64(min(o.nVec, 1000)) // a moving average once warm
	for i, v := range vec {
		o.centroid[i] += (float64(v) - o.centroid[i]) / n
	}
}

// histogram is an exponentially decayed histogram of log-duration (log of
// milliseconds) in buckets of histWidth from histMin: quantiles to within a
// bucket, robust to the outliers it is meant to find, in a fixed 256 bytes.
type histogram struct {
	w [histBuckets]float32
	n float64
	t int64
}

const (
	histBuckets = 64
	histMin     = -2.5 // log(0.08 ms); the last bucket starts at 12 min
	histWidth   = 0.25
)

func (h *histogram) add(x float64, now int64, tau float64) {
	if h.t != 0 && now > h.t {
		f := math.Exp(-float64(now-h.t) / tau)
		// Decaying 128 buckets per trace would dominate the cost: decay
		// when the factor has moved enough.
		if f < 0.999 {
			for i := range h.w {
				h.w[i] *= float32(f)
			}
			h.n *= f
			h.t = now
		}
	} else if h.t == 0 {
		h.t = now
	}
	b := int((x - histMin) / histWidth)
	b = max(0, min(histBuckets-1, b))
	h.w[b]++
	h.n++
}

func (h *histogram) quantile(q float64) float64 {
	target := q * h.n
	acc := 0.0
	for i, w := range h.w {
		if acc+float64(w) >= target && w > 0 {
			// Linear within the bucket.
			frac := (target - acc) / float64(w)
			return histMin + (float64(i)+frac)*histWidth
		}
		acc += float64(w)
	}
	return histMin + histBuckets*histWidth
}

// robust returns the median and a robust standard deviation of log-duration
// (interquartile range / 1.349, floored at 0.1 so that jitter around a
// steady duration is no anomaly).
func (h *histogram) robust() (median, sigma float64) {
	median = h.quantile(0.5)
	iqr := h.quantile(0.75) - h.quantile(0.25)
	return median, math.Max(iqr/1.349, 0.1)
}

func cosineDistance(c []float64, v []float32) float64 {
	if len(c) != len(v) || len(c) == 0 {
		return 0
	}
	var dot, nc, nv float64
	for i := range c {
		dot += c[i] * float64(v[i])
		nc += c[i] * c[i]
		nv += float64(v[i]) * float64(v[i])
	}
	if nc == 0 || nv == 0 {
		return 1
	}
	return 1 - dot/math.Sqrt(nc*nv)
}
