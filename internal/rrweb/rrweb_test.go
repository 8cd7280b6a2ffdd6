package rrweb

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, s string) Event {
	t.Helper()
	e, err := Parse([]byte(s))
	require.NoError(t, err)
	return e
}

func TestChunksCutBetweenCharacters(t *testing.T) {
	t.Parallel()
	s := strings.Repeat("ab€灯✓", 1000)
	for _, limit := range []int{1, 4, 5, 7, 100, 1023} {
		chunks := Chunks(s, limit)
		assert.Equal(t, s, strings.Join(chunks, ""), "limit %d", limit)
		for _, c := range chunks {
			assert.True(t, utf8.ValidString(c))
			assert.LessOrEqual(t, len(c), max(limit, utf8.UTFMax))
		}
	}
	assert.Equal(t, []string{"small"}, Chunks("small", MaxChunkBytes))
}

func TestKind(t *testing.T) {
	t.Parallel()
	for ev, want := range map[string]string{
		`{"type":0,"data":{},"timestamp":1}`:                                         KindDOM,
		`{"type":2,"data":{"node":{}},"timestamp":1}`:                                KindDOM,
		`{"type":3,"data":{"source":0,"adds":[]},"timestamp":1}`:                     KindDOM,
		`{"type":3,"data":{"source":1,"positions":[]},"timestamp":1}`:                KindMouse,
		`{"type":3,"data":{"source":2,"type":2},"timestamp":1}`:                      KindMouse,
		`{"type":3,"data":{"source":6},"timestamp":1}`:                               KindMouse,
		`{"type":3,"data":{"source":12},"timestamp":1}`:                              KindMouse,
		`{"type":3,"data":{"source":3,"x":0,"y":10},"timestamp":1}`:                  KindScroll,
		`{"type":3,"data":{"source":5,"text":"a"},"timestamp":1}`:                    KindInput,
		`{"type":4,"data":{"href":"http://x/"},"timestamp":1}`:                       KindMeta,
		`{"type":5,"data":{"tag":"checkout","payload":{}},"timestamp":1}`:            KindCustom,
		`{"type":5,"data":{"tag":"fetch","payload":{}},"timestamp":1}`:               KindNetwork,
		`{"type":6,"data":{"plugin":"rrweb/network@1","payload":{}},"timestamp":1}`:  KindNetwork,
		`{"type":6,"data":{"plugin":"rrweb/console@1","payload":{}},"timestamp":1}`:  KindCustom,
		`{"type":3,"data":{"source":11,"level":"error","payload":[]},"timestamp":1}`: KindCustom,
	} {
		assert.Equal(t, want, Kind(mustParse(t, ev)), ev)
	}
}

func TestInspect(t *testing.T) {
	t.Parallel()
	n := Inspect(mustParse(t, `{"type":5,"data":{"tag":"api-error","payload":{"traceId":"4BF92F3577B34DA6A3CE929D0E0E4736","status":500}},"timestamp":1}`))
	assert.True(t, n.Error)
	assert.Equal(t, "api-error", n.Name)
	assert.Equal(t, []string{"4bf92f3577b34da6a3ce929d0e0e4736"}, n.TraceIDs)
	n = Inspect(mustParse(t, `{"type":6,"data":{"plugin":"rrweb/console@1","payload":{"level":"error","payload":["boom"]}},"timestamp":1}`))
	assert.True(t, n.Error)
	n = Inspect(mustParse(t, `{"type":5,"data":{"tag":"fetch","payload":{"request":{"trace_id":"0af7651916cd43dd8448eb211c80319c"}}},"timestamp":1}`))
	assert.False(t, n.Error)
	assert.Equal(t, []string{"0af7651916cd43dd8448eb211c80319c"}, n.TraceIDs)
	assert.Equal(t, Notable{}, Inspect(mustParse(t, `{"type":3,"data":{"source":1},"timestamp":1}`)))
}

func TestScrubLeavesOtherEventsAlone(t *testing.T) {
	t.Parallel()
	raw := `{"type":3,"data":{"source":1,"positions":[{"x":1,"y":2,"id":3,"timeOffset":0}]},"timestamp":1}`
	out, changed := Scrub(mustParse(t, raw))
	assert.False(t, changed)
	assert.Equal(t, raw, string(out))
	out, changed = Scrub(mustParse(t, `{"type":3,"data":{"source":5,"text":"<b>é</b>","isChecked":true,"id":9},"timestamp":1}`))
	assert.True(t, changed)
	assert.JSONEq(t, `{"type":3,"data":{"source":5,"text":"********","isChecked":true,"id":9},"timestamp":1}`, string(out))
	out, changed = Scrub(mustParse(t, `{"type":3,"data":{"source":0,"adds":[{"parentId":1,"node":{"type":2,"tagName":"TEXTAREA","attributes":{"value":"my address"},"childNodes":[],"id":4}}],"removes":[],"texts":[],"attributes":[]},"timestamp":1}`))
	assert.True(t, changed)
	assert.Contains(t, string(out), `"value":"**********"`)
	_, changed = Scrub(mustParse(t, `{"type":3,"data":{"source":5,"text":"****","isChecked":false},"timestamp":1}`))
	assert.False(t, changed, "already masked")
}

func TestParseRejects(t *testing.T) {
	t.Parallel()
	// Regression (found by FuzzScrub): a closing bracket after the event
	// passed as valid, and the stored body was not JSON.
	for _, bad := range []string{`{}`, `{"type":"2","timestamp":1}`, `{"type":2,"timestamp":-5}`, `{"type":2,"timestamp":1e300}`, `{"type":2,"timestamp":1} {}`, `[1]`,
		`{"type":0,"timestamp":0}}`, `{"type":0,"timestamp":0}]`} {
		_, err := Parse([]byte(bad))
		assert.Error(t, err, bad)
	}
	e := mustParse(t, `{"type":3,"timestamp":1767225600000.25,"data":{"source":2}}`)
	assert.Equal(t, int64(1767225600000), e.Timestamp)
	assert.Equal(t, SourceMouseInteraction, e.Source())
}

func TestParseNumber(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]int64{"1": 1, "3.0": 3, "12": 12} {
		got, ok := ParseNumber(s)
		assert.True(t, ok)
		assert.Equal(t, want, got)
	}
	for _, s := range []string{"", "1.5", "x"} {
		_, ok := ParseNumber(s)
		assert.False(t, ok, s)
	}
}

// Regression (found by FuzzDecodeBatch): encoding/json matches struct
// fields case-insensitively, so {"dAtA":{"sourCe":5}} was taken for an
// input event that scrubbing (exact names, like rrweb's JavaScript) did
// not see. Member names are exact now.
func TestMemberNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	e := mustParse(t, `{"type":3,"dAtA":{"sourCe":5,"text":"x"},"timestamp":1}`)
	assert.Equal(t, -1, e.Source())
	assert.Equal(t, KindDOM, Kind(e))
	_, err := Parse([]byte(`{"TYPE":3,"Timestamp":1}`))
	assert.Error(t, err)
}
