package mcp

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Generated telemetry for the change-based tools: a call chain of three
// services whose names, operations, attribute keys and values, versions and
// error texts are drawn from a seed, so that nothing in the analysis can
// lean on the sample shop's names. An hour of traffic: 30 minutes of
// baseline, then a window in which one fault starts at a drawn minute.

type faultKind int

const (
	faultNone         faultKind = iota
	faultSegmentError           // the leaf fails for one value of a span attribute
	faultLatency                // the leaf gets slow; no errors anywhere
	faultDeploy                 // the leaf restarts with a new version that fails
	faultTimeout                // the leaf gets so slow that the middle service's calls time out
	faultMidError               // the middle service fails itself
	faultMidLatency             // the middle service gets slow itself
)

// expected is the answer a generated fault asks for: the service index
// (0 entry, 1 middle, 2 leaf) and kind of its root cause.
func (f faultKind) expected() (int, string) {
	switch f {
	case faultSegmentError:
		return 2, "error_rate"
	case faultLatency:
		return 2, "latency"
	case faultDeploy:
		return 2, "deploy_regression"
	case faultTimeout:
		return 2, "dependency_timeout"
	case faultMidError:
		return 1, "error_rate"
	case faultMidLatency:
		return 1, "latency"
	}
	return -1, ""
}

type genScenario struct {
	seed  uint64
	fault faultKind
	// chronic: the middle service fails now and then all hour long with an
	// error of its own, before and after the onset alike.
	chronic bool
	// intensity scales the fault: the share of requests failing, or the
	// slowdown's factor over 4 (default 0.8).
	intensity float64
}

// genWorld is what a seed drew.
type genWorld struct {
	db        string
	now       time.Time
	onset     time.Time
	services  [3]string // entry, middle, leaf
	ops       [3]string
	segKey    string
	segValues []string
	faultSeg  string // the value the segment fault hits
	version   string // the leaf's version before a deploy
	newVer    string
	faultMsg  string
	chronMsg  string
}

func word(rng *rand.Rand, n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

func newWorld(sc genScenario) *genWorld {
	rng := rand.New(rand.NewPCG(sc.seed, uint64(sc.fault)*7+boolU(sc.chronic)))
	w := &genWorld{db: fmt.Sprintf("gen_%d_%d_%d_%d", sc.seed, sc.fault, boolU(sc.chronic), int(100*sc.intensity))}
	for i := range w.services {
		w.services[i] = word(rng, 5) + "-" + word(rng, 3)
		w.ops[i] = fmt.Sprintf("%s /%s/%s", []string{"GET", "POST", "PUT"}[rng.IntN(3)], word(rng, 4), word(rng, 6))
	}
	w.segKey = word(rng, 4) + "." + word(rng, 5)
	for range 4 {
		w.segValues = append(w.segValues, word(rng, 6))
	}
	w.faultSeg = w.segValues[rng.IntN(len(w.segValues))]
	w.version = fmt.Sprintf("%d.%d.%d", 1+rng.IntN(5), rng.IntN(20), rng.IntN(9))
	w.newVer = w.version + "-" + word(rng, 4)
	w.faultMsg = fmt.Sprintf("%sError: %s %s failed for item", capital(word(rng, 7)), word(rng, 6), word(rng, 5))
	w.chronMsg = fmt.Sprintf("%sWarning: %s gave up on %s", capital(word(rng, 6)), word(rng, 5), word(rng, 7))
	return w
}

func capital(s string) string { return string(s[0]-'a'+'A') + s[1:] }

func boolU(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// genBatch groups spans by service and version, as SDK exports do.
type genBatch struct {
	td ptrace.Traces
	ld plog.Logs
	rs map[[2]string]ptrace.SpanSlice
	rl map[[2]string]plog.LogRecordSlice
}

func newGenBatch() *genBatch {
	return &genBatch{td: ptrace.NewTraces(), ld: plog.NewLogs(), rs: map[[2]string]ptrace.SpanSlice{}, rl: map[[2]string]plog.LogRecordSlice{}}
}

func (b *genBatch) spans(svc, ver string) ptrace.SpanSlice {
	k := [2]string{svc, ver}
	if s, ok := b.rs[k]; ok {
		return s
	}
	r := b.td.ResourceSpans().AppendEmpty()
	r.Resource().Attributes().PutStr("service.name", svc)
	r.Resource().Attributes().PutStr("service.version", ver)
	ss := r.ScopeSpans().AppendEmpty()
	b.rs[k] = ss.Spans()
	return ss.Spans()
}

func (b *genBatch) logs(svc, ver string) plog.LogRecordSlice {
	k := [2]string{svc, ver}
	if s, ok := b.rl[k]; ok {
		return s
	}
	r := b.ld.ResourceLogs().AppendEmpty()
	r.Resource().Attributes().PutStr("service.name", svc)
	r.Resource().Attributes().PutStr("service.version", ver)
	b.rl[k] = r.ScopeLogs().AppendEmpty().LogRecords()
	return b.rl[k]
}

type genSpan struct {
	svc, ver, name string
	kind           ptrace.SpanKind
	start          time.Time
	dur            time.Duration
	errMsg         string
	attrs          map[string]string
}

// add writes one trace: spans in parent order, each the child of the one
// before; a failed span logs its message at ERROR.
func (b *genBatch) add(g ids, spans []genSpan) string {
	tid := g.trace()
	var parent pcommon.SpanID
	for _, s := range spans {
		sid := g.span()
		ps := b.spans(s.svc, s.ver).AppendEmpty()
		ps.SetTraceID(tid)
		ps.SetSpanID(sid)
		ps.SetParentSpanID(parent)
		ps.SetName(s.name)
		ps.SetKind(s.kind)
		ps.SetStartTimestamp(pcommon.NewTimestampFromTime(s.start))
		ps.SetEndTimestamp(pcommon.NewTimestampFromTime(s.start.Add(s.dur)))
		for k, v := range s.attrs {
			ps.Attributes().PutStr(k, v)
		}
		if s.errMsg != "" {
			ps.Status().SetCode(ptrace.StatusCodeError)
			ps.Status().SetMessage(s.errMsg)
			lr := b.logs(s.svc, s.ver).AppendEmpty()
			lr.SetTimestamp(pcommon.NewTimestampFromTime(s.start.Add(s.dur)))
			lr.SetSeverityNumber(plog.SeverityNumberError)
			lr.SetSeverityText("ERROR")
			lr.SetTraceID(tid)
			lr.SetSpanID(sid)
			lr.Body().SetStr(s.errMsg)
		}
		parent = sid
	}
	return tid.String()
}

const genPerMinute = 24

// buildGenerated writes the scenario's hour into its own database.
func buildGenerated(t testing.TB, sc genScenario) *genWorld {
	w := newWorld(sc)
	rng := rand.New(rand.NewPCG(sc.seed, 99))
	g := ids{rng: rng}
	w.now = time.Now().UTC().Truncate(time.Minute)
	begin := w.now.Add(-60 * time.Minute)
	w.onset = begin.Add(time.Duration(35+rng.IntN(10)) * time.Minute)
	p := newPipeline(t, w.db)
	b := newGenBatch()
	gap := time.Minute / genPerMinute
	for m := range 60 {
		for i := range genPerMinute {
			at := begin.Add(time.Duration(m)*time.Minute + time.Duration(i)*gap + time.Duration(rng.Int64N(int64(gap/2))))
			faulty := sc.fault != faultNone && !at.Before(w.onset)
			seg := w.segValues[rng.IntN(len(w.segValues))]
			leafVer := w.version
			if faulty && sc.fault == faultDeploy {
				leafVer = w.newVer
			}
			// Log-normal latencies around 20 ms at the leaf.
			leafDur := time.Duration(20e6 * math.Exp(0.3*rng.NormFloat64()))
			intensity := sc.intensity
			if intensity == 0 {
				intensity = 0.8
			}
			leafErr, midErr, midSelf := "", "", time.Duration(5e6*math.Exp(0.3*rng.NormFloat64()))
			timedOut := false
			switch {
			case faulty && sc.fault == faultLatency:
				leafDur = time.Duration(float64(leafDur) * 10 * intensity)
			case faulty && sc.fault == faultMidLatency:
				midSelf = time.Duration(float64(midSelf) * 40 * intensity)
			case faulty && sc.fault == faultTimeout && rng.Float64() < intensity:
				leafDur, timedOut = time.Duration(1.5e9+rng.Float64()*1.5e9), true
			case faulty && sc.fault == faultSegmentError && seg == w.faultSeg && rng.Float64() < intensity,
				faulty && sc.fault == faultDeploy && rng.Float64() < intensity*0.6:
				leafErr = fmt.Sprintf("%s %d", w.faultMsg, rng.IntN(100000))
			case faulty && sc.fault == faultMidError && rng.Float64() < intensity*0.5:
				midErr = fmt.Sprintf("%s %d", w.faultMsg, rng.IntN(100000))
			}
			if sc.chronic && midErr == "" && rng.Float64() < 0.06 {
				midErr = fmt.Sprintf("%s %d", w.chronMsg, rng.IntN(100000))
			}
			failed := leafErr != "" || midErr != "" || timedOut
			upMsg := func(svc string) string {
				if !failed {
					return ""
				}
				return svc + " call failed: 500"
			}
			attrs := map[string]string{w.segKey: seg, "request.id": fmt.Sprintf("%x", rng.Uint64())}
			mk := func(i int, kind ptrace.SpanKind, off, dur time.Duration, msg string, ver string) genSpan {
				return genSpan{svc: w.services[i], ver: ver, name: w.ops[i], kind: kind, start: at.Add(off), dur: dur, errMsg: msg, attrs: attrs}
			}
			callDur := leafDur + time.Millisecond
			callMsg := ifThen(leafErr != "", w.services[2]+" call failed: 500")
			if timedOut {
				callDur, callMsg = time.Second, fmt.Sprintf("Get %q: context deadline exceeded", "http://"+w.services[2]+"/"+word(rng, 4))
			}
			midDur := callDur + midSelf
			entryDur := midDur + time.Duration(3e6*math.Exp(0.3*rng.NormFloat64()))
			entryMsg, midMsg := upMsg(w.services[1]), ""
			if leafErr != "" || timedOut {
				midMsg = upMsg(w.services[2])
			}
			if midErr != "" {
				midMsg = midErr
			}
			spans := []genSpan{
				mk(0, ptrace.SpanKindServer, 0, entryDur, entryMsg, "2.0.0"),
				mk(0, ptrace.SpanKindClient, time.Millisecond, midDur+2*time.Millisecond, entryMsg, "2.0.0"),
				mk(1, ptrace.SpanKindServer, 2*time.Millisecond, midDur, midMsg, "3.1.0"),
			}
			if midErr == "" {
				spans = append(spans,
					genSpan{svc: w.services[1], ver: "3.1.0", name: w.ops[2], kind: ptrace.SpanKindClient, start: at.Add(3 * time.Millisecond), dur: callDur,
						errMsg: callMsg, attrs: attrs},
					mk(2, ptrace.SpanKindServer, 4*time.Millisecond, leafDur, leafErr, leafVer))
			}
			b.add(g, spans)
		}
		if m%10 == 9 {
			p.write(t, b.td, b.ld, pmetric.NewMetrics())
			b = newGenBatch()
		}
	}
	return w
}
