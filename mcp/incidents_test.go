package mcp

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func incidentNames(is []Incident) string {
	var b strings.Builder
	for _, i := range is {
		fmt.Fprintf(&b, "\n%s %s %s traces=%d errors=%d %v", i.ID, i.Kind, i.Culprit, i.Traces, i.ErrorTraces, i.EntryOperations)
	}
	return b.String()
}

// A new fault beside chronic errors is two incidents, each named once at
// its own culprit, and together they hold the flagged traces.
func TestListIncidentsGroupsFlaggedTraces(t *testing.T) {
	for _, seed := range []uint64{3, 11} {
		h, w := onGenerated(t, genScenario{seed: seed, fault: faultSegmentError, chronic: true})
		out := call[ListIncidentsOutput](t, h, ToolListIncidents, map[string]any{"window": "30m"})
		require.NotEmpty(t, out.Incidents, "seed %d", seed)
		names := incidentNames(out.Incidents)
		assert.LessOrEqual(t, len(out.Incidents), 5)
		assert.GreaterOrEqual(t, out.Covered, 0.9, "seed %d: %d flagged%s", seed, out.Flagged, names)
		for _, inc := range out.Incidents {
			assert.GreaterOrEqual(t, inc.Traces, 2, "a lone trace is isolated, not an incident")
		}
		fault, chronic := 0, 0
		for _, inc := range out.Incidents {
			switch inc.Culprit {
			case w.services[2] + " " + w.ops[2]:
				fault++
				assert.Equal(t, "error", inc.Kind)
				assert.False(t, inc.FirstSeen.Before(w.onset), "seed %d: the fault's incident starts at its onset", seed)
				assert.Contains(t, inc.Services, w.services[2])
				assert.Len(t, inc.ExampleTraceIDs, 3)
			case w.services[1] + " " + w.ops[1]:
				chronic++
			}
		}
		assert.Equal(t, 1, fault, "seed %d: the fault is one incident%s", seed, names)
		assert.LessOrEqual(t, chronic, 1, "seed %d: the chronic errors are at most one incident%s", seed, names)
		assert.Greater(t, out.Traces, uint64(out.Flagged))
	}
}

// A slowdown without errors is an incident at the span the slow traces
// waited on.
func TestListIncidentsOfALatencyFault(t *testing.T) {
	h, w := onGenerated(t, genScenario{seed: 5, fault: faultLatency})
	out := call[ListIncidentsOutput](t, h, ToolListIncidents, map[string]any{"window": "30m"})
	require.NotEmpty(t, out.Incidents, "%d flagged", out.Flagged)
	top := out.Incidents[0]
	assert.Equal(t, w.services[2]+" "+w.ops[2], top.Culprit, incidentNames(out.Incidents))
	assert.Equal(t, "latency", top.Kind)
	assert.Zero(t, top.ErrorTraces)
}

// detect_anomalous_traces names each flagged trace's incident: the top of
// the list is a handful of problems, not one pattern a hundred times.
func TestDetectAnomalousTracesNamesIncidents(t *testing.T) {
	h, _ := onGenerated(t, genScenario{seed: 3, fault: faultSegmentError, chronic: true})
	out := call[DetectAnomalousTracesOutput](t, h, ToolDetectAnomalousTraces, map[string]any{"window": "30m", "only_anomalous": true, "k": 50})
	require.NotEmpty(t, out.Incidents)
	require.NotEmpty(t, out.Top)
	ids := map[string]bool{}
	named := 0
	for _, tr := range out.Top {
		if tr.Incident != "" {
			named++
			ids[tr.Incident] = true
		}
	}
	assert.GreaterOrEqual(t, float64(named), 0.9*float64(len(out.Top)), "flagged traces belong to incidents")
	assert.LessOrEqual(t, len(ids), 5)
	for id := range ids {
		found := false
		for _, inc := range out.Incidents {
			found = found || inc.ID == id
		}
		assert.True(t, found, "%s is listed", id)
	}
}
