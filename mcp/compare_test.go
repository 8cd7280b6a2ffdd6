package mcp

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	genMu     sync.Mutex
	genWorlds = map[genScenario]*genWorld{}
)

// onGenerated builds a generated scenario once per test process and
// connects a server to it.
func onGenerated(t testing.TB, sc genScenario) (*harness, *genWorld) {
	genMu.Lock()
	w, ok := genWorlds[sc]
	if !ok {
		w = buildGenerated(t, sc)
		genWorlds[sc] = w
	}
	genMu.Unlock()
	return connect(t, testConfig(t, w.db), w.now), w
}

func windowArgs(w *genWorld, extra map[string]any) map[string]any {
	// The window runs from the onset to the end of the hour; the baseline
	// is the 30 minutes before the onset.
	args := map[string]any{"window": fmt.Sprintf("%dm", int(w.now.Sub(w.onset).Minutes())), "baseline": "30m"}
	for k, v := range extra {
		args[k] = v
	}
	return args
}

func templateTexts(cs []TemplateChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Template)
	}
	return out
}

func opNames(cs []OperationChange) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Service+" "+c.Operation)
	}
	return out
}

func TestCompareWindowsFindsTheNewErrorNotTheChronicOne(t *testing.T) {
	for _, seed := range []uint64{3, 11} {
		h, w := onGenerated(t, genScenario{seed: seed, fault: faultSegmentError, chronic: true})
		out := call[CompareWindowsOutput](t, h, ToolCompareWindows, windowArgs(w, nil))
		// The fault's own error, and its callers' reports of it, are new.
		var top *TemplateChange
		for i, c := range out.Templates.New {
			if strings.HasPrefix(c.Template, w.faultMsg) {
				top = &out.Templates.New[i]
			}
		}
		require.NotNil(t, top, "seed %d: %v", seed, templateTexts(out.Templates.New))
		assert.Equal(t, w.services[2], top.Service, "seed %d", seed)
		assert.True(t, top.Significant, "seed %d", seed)
		assert.True(t, top.NeverSeen, "seed %d", seed)
		assert.NotEmpty(t, top.ExampleTrace)
		for _, c := range append(out.Templates.Spiking, out.Templates.New...) {
			assert.NotContains(t, c.Template, strings.Fields(w.chronMsg)[0], "seed %d: the chronic error did not change", seed)
		}
		require.NotEmpty(t, out.Operations.Failing, "seed %d", seed)
		assert.Contains(t, opNames(out.Operations.Failing), w.services[2]+" "+w.ops[2], "seed %d", seed)
		assert.Empty(t, out.Operations.Slower, "seed %d: nothing got slower", seed)
		assert.Equal(t, 0.01, out.Alpha)
	}
}

func TestCompareWindowsFindsALatencyOnlyShift(t *testing.T) {
	h, w := onGenerated(t, genScenario{seed: 5, fault: faultLatency})
	out := call[CompareWindowsOutput](t, h, ToolCompareWindows, windowArgs(w, nil))
	assert.Empty(t, out.Templates.New, "no errors anywhere")
	assert.Empty(t, out.Operations.Failing)
	slower := opNames(out.Operations.Slower)
	assert.Contains(t, slower, w.services[2]+" "+w.ops[2])
	assert.Contains(t, slower, w.services[0]+" "+w.ops[0], "the callers are slower too")
	for _, c := range out.Operations.Slower {
		assert.Greater(t, c.SlowerShare, 0.9)
		assert.Greater(t, c.P50Ms, 4*c.BaseP50Ms)
	}
}

// With nothing changed, nothing is flagged: the false-alarm rate at work.
func TestCompareToolsFlagNothingWhenNothingChanged(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		h, w := onGenerated(t, genScenario{seed: seed, fault: faultNone, chronic: true})
		out := call[CompareWindowsOutput](t, h, ToolCompareWindows, windowArgs(w, nil))
		for _, c := range out.Templates.New {
			assert.False(t, c.Significant, "seed %d: %+v", seed, c)
		}
		assert.Empty(t, out.Templates.Spiking, "seed %d", seed)
		assert.Empty(t, out.Operations.Failing, "seed %d", seed)
		assert.Empty(t, out.Operations.Slower, "seed %d", seed)
		assert.Empty(t, out.Operations.Busier, "seed %d", seed)
		assert.Greater(t, out.Tests, 5)

		attrs := call[CompareAttributesOutput](t, h, ToolCompareAttributes, windowArgs(w, nil))
		assert.Greater(t, attrs.BadTraces, uint64(0), "chronic errors and the slowest 5 %% are bad")
		for _, a := range attrs.Attributes {
			assert.False(t, a.Significant, "seed %d: %+v", seed, a)
		}
	}
}

func TestCompareAttributesFindsTheSegment(t *testing.T) {
	for _, seed := range []uint64{3, 11} {
		h, w := onGenerated(t, genScenario{seed: seed, fault: faultSegmentError, chronic: true})
		out := call[CompareAttributesOutput](t, h, ToolCompareAttributes, windowArgs(w, map[string]any{"bad": "errors"}))
		require.NotEmpty(t, out.Attributes, "seed %d", seed)
		top := out.Attributes[0]
		assert.Equal(t, w.segKey, top.Key, "seed %d", seed)
		assert.Equal(t, w.faultSeg, top.Value, "seed %d", seed)
		assert.True(t, top.Significant)
		assert.Greater(t, top.Difference, 0.4)
		assert.Greater(t, top.BadRateWith, 3*top.BadRateWithout)
		assert.Equal(t, out.BadTraces+out.GoodTraces, out.Traces)
		for _, a := range out.Attributes {
			assert.NotEqual(t, "request.id", a.Key, "a value per trace is left out")
		}
	}
}

func TestCompareAttributesFindsTheDeploy(t *testing.T) {
	h, w := onGenerated(t, genScenario{seed: 13, fault: faultDeploy})
	// A window that starts before the deploy holds both versions.
	out := call[CompareAttributesOutput](t, h, ToolCompareAttributes, map[string]any{"window": "30m", "bad": "errors"})
	require.NotEmpty(t, out.Attributes)
	assert.Equal(t, "resource.service.version", out.Attributes[0].Key)
	assert.True(t, out.Attributes[0].Significant)
	assert.InDelta(t, 1, out.Attributes[0].BadShare, 1e-9, "every failed trace ran the new version")
	assert.Equal(t, w.newVer, out.Attributes[0].Value)

	msg := callError(t, h, ToolCompareAttributes, map[string]any{"bad": "sometimes"})
	assert.Contains(t, msg, "sometimes")
	assert.Contains(t, msg, "errors")
}
