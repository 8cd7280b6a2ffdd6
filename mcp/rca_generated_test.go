package mcp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-agentic/otelcol-agentic/mcp/rca"
)

func rcaTop(t *testing.T, sc genScenario) (AnalyzeRootCauseOutput, *genWorld) {
	h, w := onGenerated(t, sc)
	out := call[AnalyzeRootCauseOutput](t, h, ToolAnalyzeRootCause, windowArgs(w, nil))
	require.NotEmpty(t, out.Candidates, "seed %d", sc.seed)
	return out, w
}

func candidateNames(cs []RootCause) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "\n%d %s %s %s %.3f", c.Rank, c.Service, c.Operation, c.Kind, c.Score)
	}
	return b.String()
}

// A slowdown with no error anywhere is found by its durations' test and
// named latency at the deepest operation, though chronic errors elsewhere
// fail more traces than anything new.
func TestRootCauseOfALatencyOnlyFault(t *testing.T) {
	for _, seed := range []uint64{5, 17} {
		out, w := rcaTop(t, genScenario{seed: seed, fault: faultLatency, chronic: true})
		top := out.Candidates[0]
		assert.Equal(t, w.services[2], top.Service, "seed %d:%s", seed, candidateNames(out.Candidates))
		assert.Equal(t, w.ops[2], top.Operation, "seed %d", seed)
		assert.Equal(t, rca.KindLatency, top.Kind, "seed %d", seed)
		require.NotNil(t, top.Evidence.Latency)
		assert.Less(t, top.Evidence.Latency.PValue, 1e-6)
		assert.NotEmpty(t, top.Cites, "the slowdown is cited from compare_windows")
		for _, c := range out.Candidates {
			if c.Service == w.services[1] && c.Evidence.DeepestInTraces > 0 {
				assert.True(t, c.Evidence.Chronic, "seed %d: the middle service's errors predate the window", seed)
			}
		}
	}
}

// New errors confined to one segment outrank chronic ones that fail as many
// traces, and the analysis cites the template and the segment.
func TestRootCauseOfANewFaultBesideChronicErrors(t *testing.T) {
	for _, seed := range []uint64{3, 11} {
		out, w := rcaTop(t, genScenario{seed: seed, fault: faultSegmentError, chronic: true})
		top := out.Candidates[0]
		assert.Equal(t, w.services[2], top.Service, "seed %d:%s", seed, candidateNames(out.Candidates))
		assert.False(t, top.Evidence.Chronic)
		cites := strings.Join(top.Cites, "\n")
		assert.Contains(t, cites, "new error template of "+w.services[2], "seed %d: %s", seed, cites)
		assert.Contains(t, cites, w.segKey+"="+w.faultSeg, "seed %d: %s", seed, cites)
	}
}

// A fault that starts as its service changes version is a deploy
// regression, with the versions in evidence.
func TestRootCauseOfADeploy(t *testing.T) {
	out, w := rcaTop(t, genScenario{seed: 13, fault: faultDeploy})
	top := out.Candidates[0]
	assert.Equal(t, w.services[2], top.Service, candidateNames(out.Candidates))
	assert.Equal(t, rca.KindDeployRegression, top.Kind)
	require.NotNil(t, top.Evidence.Deploy)
	assert.Equal(t, w.version, top.Evidence.Deploy.From)
	assert.Equal(t, w.newVer, top.Evidence.Deploy.To)
	assert.NotEmpty(t, top.Evidence.Mechanism)
}

// A service that got slow itself is blamed for the latency even when it
// also fails now and then as it always did (its chronic errors must not
// hide its slowdown and push the blame on its caller).
func TestRootCauseOfASlowdownBesideChronicErrorsOfTheSameService(t *testing.T) {
	out, w := rcaTop(t, genScenario{seed: 19, fault: faultMidLatency, chronic: true, intensity: 0.7})
	top := out.Candidates[0]
	assert.Equal(t, w.services[1], top.Service, candidateNames(out.Candidates))
	assert.Equal(t, w.ops[1], top.Operation)
	assert.Equal(t, rca.KindLatency, top.Kind)
}
