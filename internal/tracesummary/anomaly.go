package tracesummary

import (
	"math"
	"sync"
)

// Anomaly types, most specific first.
const (
	AnomalyNone             = ""
	AnomalyError            = "error"
	AnomalyLatency          = "latency"
	AnomalyRetryStorm       = "retry_storm"
	AnomalyUnusualSequence  = "unusual_sequence"
	defaultMinSamples       = 20
	defaultLatencyZ         = 3.0
	defaultSequenceDistance = 0.25
	defaultRetryRun         = 3
)

// ModelConfig tunes what counts as abnormal.
type ModelConfig struct {
	// MinSamples normal traces of an entry operation are needed before its
	// traces are judged on latency and shape (errors are judged at once).
	MinSamples int
	// LatencyZ is how many standard deviations of log-duration above the
	// operation's mean make a trace slow.
	LatencyZ float64
	// SequenceDistance is the cosine distance from the operation's normal
	// centroid beyond which the span sequence is unusual.
	SequenceDistance float64
	// RetryRun consecutive identical calls from one parent are a retry storm.
	RetryRun int
	// MaxOperations bounds how many entry operations are tracked.
	MaxOperations int
}

func (c ModelConfig) withDefaults() ModelConfig {
	if c.MinSamples <= 0 {
		c.MinSamples = defaultMinSamples
	}
	if c.LatencyZ <= 0 {
		c.LatencyZ = defaultLatencyZ
	}
	if c.SequenceDistance <= 0 {
		c.SequenceDistance = defaultSequenceDistance
	}
	if c.RetryRun <= 0 {
		c.RetryRun = defaultRetryRun
	}
	if c.MaxOperations <= 0 {
		c.MaxOperations = 10000
	}
	return c
}

// Score is the model's judgement of one trace.
type Score struct {
	Value     float64 // 0 = typical; grows with how abnormal the trace is
	IsAnomaly bool
	Type      string
	// Distance is the cosine distance of the trace's embedding from its
	// operation's normal centroid (0 before the centroid exists).
	Distance float64
	// LatencyZ is the trace's log-duration z-score within its operation.
	LatencyZ float64
}

// Model learns, online, what is normal for each entry operation: a running
// centroid of the embeddings of its normal traces and the mean and variance
// of their log-duration. Only traces judged normal update it, so a fault
// does not teach the model that failure is normal. Safe for concurrent use.
type Model struct {
	cfg ModelConfig
	mu  sync.Mutex
	ops map[string]*opStats
}

type opStats struct {
	n        int
	nVec     int       // traces that contributed a vector to the centroid
	centroid []float64 // running mean of unit embeddings
	mean, m2 float64   // Welford over log-duration
}

// NewModel creates an empty model.
func NewModel(cfg ModelConfig) *Model {
	return &Model{cfg: cfg.withDefaults(), ops: map[string]*opStats{}}
}

// Observe scores a trace against what is normal for its entry operation and
// learns from it when it is normal. vec is the trace's unit embedding.
func (m *Model) Observe(s Summary, vec []float32) Score {
	m.mu.Lock()
	defer m.mu.Unlock()
	op := m.ops[s.RootOperation]
	if op == nil {
		if len(m.ops) >= m.cfg.MaxOperations {
			// Unbounded operation names (ids in span names) must not grow
			// memory without limit; judge such a trace on its own features.
			return m.judge(nil, s, vec)
		}
		op = &opStats{}
		m.ops[s.RootOperation] = op
	}
	sc := m.judge(op, s, vec)
	if !sc.IsAnomaly {
		op.learn(s, vec)
	}
	return sc
}

func (m *Model) judge(op *opStats, s Summary, vec []float32) Score {
	var sc Score
	warm := op != nil && op.n >= m.cfg.MinSamples
	if warm {
		sc.Distance = cosineDistance(op.centroid, vec)
		if sd := op.stddev(); sd > 0 {
			sc.LatencyZ = (logDuration(s.Duration) - op.mean) / sd
		}
	}
	// The score adds the evidence, each term normalised so 1 is "at the
	// threshold".
	type reason struct {
		kind   string
		weight float64
	}
	var reasons []reason
	if s.ErrorCount > 0 {
		reasons = append(reasons, reason{AnomalyError, 1 + math.Log1p(float64(s.ErrorCount))})
	}
	if s.MaxRepeat >= m.cfg.RetryRun {
		reasons = append(reasons, reason{AnomalyRetryStorm, float64(s.MaxRepeat) / float64(m.cfg.RetryRun)})
	}
	if warm {
		if sc.LatencyZ >= m.cfg.LatencyZ {
			reasons = append(reasons, reason{AnomalyLatency, sc.LatencyZ / m.cfg.LatencyZ})
		}
		if sc.Distance >= m.cfg.SequenceDistance {
			reasons = append(reasons, reason{AnomalyUnusualSequence, sc.Distance / m.cfg.SequenceDistance})
		}
	}
	// The type is the most specific reason present: a retry loop usually
	// fails on each try, and a timeout is both slow and an error.
	for _, r := range reasons {
		sc.Value += r.weight
	}
	for _, kind := range []string{AnomalyRetryStorm, AnomalyError, AnomalyLatency, AnomalyUnusualSequence} {
		if sc.Type != "" {
			break
		}
		for _, r := range reasons {
			if r.kind == kind {
				sc.Type = kind
				break
			}
		}
	}
	if warm {
		// Sub-threshold deviation still orders traces by how odd they are.
		sc.Value += 0.5*math.Max(0, sc.LatencyZ)/m.cfg.LatencyZ + 0.5*sc.Distance/m.cfg.SequenceDistance
	}
	sc.IsAnomaly = len(reasons) > 0
	return sc
}

func (o *opStats) learn(s Summary, vec []float32) {
	o.n++
	if len(vec) > 0 {
		if o.nVec == 0 {
			o.centroid = make([]float64, len(vec))
		}
		if len(o.centroid) == len(vec) {
			o.nVec++
			for i, v := range vec {
				o.centroid[i] += (float64(v) - o.centroid[i]) / float64(o.nVec)
			}
		}
	}
	x := logDuration(s.Duration)
	d := x - o.mean
	o.mean += d / float64(o.n)
	o.m2 += d * (x - o.mean)
}

func (o *opStats) stddev() float64 {
	if o.n < 2 {
		return 0
	}
	// A floor keeps a perfectly steady operation from flagging tiny jitter.
	return math.Max(math.Sqrt(o.m2/float64(o.n-1)), 0.1)
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
