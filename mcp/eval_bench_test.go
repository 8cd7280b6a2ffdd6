package mcp

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRootCauseOnGeneratedScenarios scores analyze_root_cause on
// faults composed from a seed (fault shape × target × intensity × chronic
// background errors, with drawn names), on seeds the tests never use
// (GEN_EVAL_SEED, default 1000, and the GEN_EVAL_N after it, default 12).
// Each scenario is asked twice: three minutes after the onset (window 3m)
// and at the end of the hour (window from the onset). Reported: top-1 and
// top-3 (service and kind right) at the end, top-1 three minutes in, and
// the tool's latency.
func BenchmarkRootCauseOnGeneratedScenarios(b *testing.B) {
	first, n := envInt("GEN_EVAL_SEED", 1000), envInt("GEN_EVAL_N", 12)
	shapes := []faultKind{faultSegmentError, faultLatency, faultDeploy, faultTimeout, faultMidError, faultMidLatency}
	var top1, top3, early, asked int
	var lat []time.Duration
	var h *harness
	var last *genWorld
	for i := range n {
		seed := uint64(first + i)
		rng := rand.New(rand.NewPCG(seed, 1207))
		sc := genScenario{seed: seed, fault: shapes[seed%uint64(len(shapes))], chronic: rng.IntN(2) == 0, intensity: 0.4 + 0.6*rng.Float64()}
		h, last = onGenerated(b, sc)
		svc, kind := sc.fault.expected()
		want := last.services[svc]
		for _, at := range []struct {
			end    time.Time
			window string
		}{{last.now, fmt.Sprintf("%dm", int(last.now.Sub(last.onset).Minutes()))}, {last.onset.Add(3 * time.Minute), "3m"}} {
			start := time.Now()
			out := call[AnalyzeRootCauseOutput](b, h, ToolAnalyzeRootCause, map[string]any{"window": at.window, "end": at.end.Format(time.RFC3339), "baseline": "30m"})
			lat = append(lat, time.Since(start))
			rank := 0
			for _, c := range out.Candidates {
				if c.Service == want && string(c.Kind) == kind {
					rank = c.Rank
					break
				}
			}
			got := "none"
			if len(out.Candidates) > 0 {
				got = out.Candidates[0].Service + " " + string(out.Candidates[0].Kind)
			}
			b.Logf("seed %d %v chronic=%v intensity=%.2f end=%s: want %s %s, rank %d (top: %s)", seed, sc.fault, sc.chronic, sc.intensity,
				at.window, want, kind, rank, got)
			if at.window == "3m" {
				if rank == 1 {
					early++
				}
				continue
			}
			asked++
			if rank == 1 {
				top1++
			}
			if rank >= 1 && rank <= 3 {
				top3++
			}
		}
	}
	b.ReportMetric(float64(top1)/float64(asked), "top1")
	b.ReportMetric(float64(top3)/float64(asked), "top3")
	b.ReportMetric(float64(early)/float64(asked), "top1@3m")
	b.ReportMetric(float64(percentile(lat, 0.5))/1e6, "p50-ms")
	b.ReportMetric(float64(percentile(lat, 0.95))/1e6, "p95-ms")
	for b.Loop() {
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func percentile(xs []time.Duration, q float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
