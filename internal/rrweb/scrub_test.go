package rrweb

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secret = "hunter2-typed-ÜÑ"

func scrubOK(t *testing.T, s *Scrubber, session, raw string) string {
	t.Helper()
	out, _ := s.Scrub(session, mustParse(t, raw))
	require.True(t, json.Valid(out), "%s", out)
	return string(out)
}

// Regression: a script copying what was typed into the value attribute
// (an attribute mutation) was stored in clear.
func TestScrubAttributeMutation(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	scrubOK(t, s, "a", `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[]}}}`)
	out := scrubOK(t, s, "a", `{"type":3,"timestamp":2,"data":{"source":0,"texts":[],"removes":[],"adds":[],"attributes":[{"id":2,"attributes":{"value":"typed-in-mutation-secret","class":"x"}}]}}`)
	assert.NotContains(t, out, "typed-in-mutation-secret")
	assert.Contains(t, out, `"value":"************************"`)
	assert.Contains(t, out, `"class":"x"`, "other attributes are kept")
}

// Text typed into a contenteditable element or a textarea reaches the
// recording as text nodes and text mutations of nodes the snapshot said
// are editable; other text is left alone.
func TestScrubEditableText(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	snap := `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"body","attributes":{},"childNodes":[
		{"type":2,"id":3,"tagName":"DIV","attributes":{"contenteditable":"true"},"childNodes":[{"type":3,"id":4,"textContent":"draft: ` + secret + `"},
			{"type":2,"id":5,"tagName":"b","attributes":{},"childNodes":[{"type":3,"id":6,"textContent":"bold ` + secret + `"}]}]},
		{"type":2,"id":7,"tagName":"p","attributes":{"contenteditable":"false"},"childNodes":[{"type":3,"id":8,"textContent":"Price 49"}]},
		{"type":2,"id":9,"tagName":"textarea","attributes":{"value":"` + secret + `"},"childNodes":[{"type":3,"id":10,"textContent":"` + secret + `"}]},
		{"type":2,"id":11,"tagName":"input","attributes":{"type":"submit","value":"Buy now"},"childNodes":[]}]}]}}}`
	out := scrubOK(t, s, "e", snap)
	assert.NotContains(t, out, secret)
	assert.Contains(t, out, "Price 49", "text outside editable elements is kept")
	assert.Contains(t, out, "Buy now", "a button's label is kept")

	out = scrubOK(t, s, "e", `{"type":3,"timestamp":2,"data":{"source":0,"texts":[{"id":4,"value":"typed `+secret+`"},{"id":8,"value":"Price 59"}],"attributes":[],"removes":[],
		"adds":[{"parentId":3,"nextId":null,"node":{"type":3,"id":20,"textContent":"`+secret+`"}},{"parentId":2,"nextId":null,"node":{"type":3,"id":21,"textContent":"Total 59"}}]}}`)
	assert.NotContains(t, out, secret)
	assert.Contains(t, out, "Price 59")
	assert.Contains(t, out, "Total 59")
	out = scrubOK(t, s, "e", `{"type":3,"timestamp":3,"data":{"source":0,"texts":[{"id":20,"value":"more `+secret+`"}],"attributes":[],"removes":[],"adds":[]}}`)
	assert.NotContains(t, out, secret, "a node added inside the editable element is editable too")

	// An element made editable later: its text nodes are unknown, so every
	// text change is masked until the next full snapshot.
	scrubOK(t, s, "e", `{"type":3,"timestamp":4,"data":{"source":0,"texts":[],"removes":[],"adds":[],"attributes":[{"id":7,"attributes":{"contenteditable":""}}]}}`)
	out = scrubOK(t, s, "e", `{"type":3,"timestamp":5,"data":{"source":0,"texts":[{"id":8,"value":"`+secret+`"}],"attributes":[],"removes":[],"adds":[]}}`)
	assert.NotContains(t, out, secret)
	scrubOK(t, s, "e", `{"type":2,"timestamp":6,"data":{"node":{"type":0,"id":1,"childNodes":[]}}}`)
	out = scrubOK(t, s, "e", `{"type":3,"timestamp":7,"data":{"source":0,"texts":[{"id":8,"value":"Price 69"}],"attributes":[],"removes":[],"adds":[]}}`)
	assert.Contains(t, out, "Price 69", "a new full snapshot tells again")
}

// A session whose full snapshot this process never saw (it restarted, or
// evicted the session) is scrubbed blind.
func TestScrubBlindWithoutSnapshot(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	out := scrubOK(t, s, "unknown", `{"type":3,"timestamp":2,"data":{"source":0,"texts":[{"id":4,"value":"`+secret+`"}],"attributes":[],"removes":[],"adds":[{"parentId":3,"node":{"type":3,"id":20,"textContent":"`+secret+`"}}]}}`)
	assert.NotContains(t, out, secret)
	raw := `{"type":3,"timestamp":2,"data":{"source":2,"type":1,"id":5,"x":1,"y":2}}`
	out = scrubOK(t, s, "unknown", raw)
	assert.Equal(t, raw, out, "events without text are untouched")
}

// JSON escapes cannot hide a member from the scrubber: the browser's
// JSON.parse reads "va\u006cue" as value.
func TestScrubEscapedNames(t *testing.T) {
	t.Parallel()
	s := NewScrubber()
	scrubOK(t, s, "x", `{"type":2,"timestamp":1,"data":{"node":{"type":0,"id":1,"childNodes":[]}}}`)
	out := scrubOK(t, s, "x", `{"type":3,"timestamp":2,"data":{"source":0,"attributes":[{"id":2,"attributes":{"va\u006cue":"`+secret+`"}}]}}`)
	assert.NotContains(t, out, secret)
	out = scrubOK(t, s, "x", `{"type":2,"timestamp":1,"data":{"node":{"type":2,"id":1,"tagName":"inp\u0075t","attributes":{"value":"`+secret+`"},"childNodes":[]}}}`)
	assert.NotContains(t, out, secret)
}

// The property: a secret typed anywhere rrweb records typed text is in no
// scrubber output, whatever the event sequence around it — events of every
// type and incremental source, in random order, across sessions, with
// random tag spellings, attribute spellings and nesting.
func TestScrubPropertyNoTypedSecretSurvives(t *testing.T) {
	t.Parallel()
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 17))
		s := NewScrubber()
		g := &gen{r: r, secret: fmt.Sprintf("sekret-%d-%s", seed, secret)}
		for _, raw := range g.session() {
			e, err := Parse([]byte(raw))
			require.NoError(t, err, raw)
			out, _ := s.Scrub(g.sessionID, e)
			require.True(t, json.Valid(out))
			if strings.Contains(string(out), g.secret) {
				t.Fatalf("seed %d: the typed secret survived in %s\n(from %s)", seed, out, raw)
			}
			again, changed := s.Scrub(g.sessionID, mustParse(t, string(out)))
			if changed && e.Type != TypeIncrementalSnapshot {
				t.Fatalf("seed %d: scrubbing is not idempotent: %s -> %s", seed, out, again)
			}
		}
	}
}

// gen makes rrweb sessions with a secret typed into every place rrweb
// puts typed text, among events of every other kind.
type gen struct {
	r         *rand.Rand
	secret    string
	sessionID string
	nextID    int
	editable  []int // ids inside editable elements
	plain     []int // other text node ids
	elements  []int
}

func (g *gen) id() int { g.nextID++; return g.nextID }

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }

func (g *gen) typed() string {
	return g.pick("", "x ", "Ω") + g.secret + g.pick("", " y", "\n")
}

func (g *gen) caseOf(s string) string {
	switch g.r.IntN(3) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

func (g *gen) textNode(editable bool) map[string]any {
	id := g.id()
	text := "Price " + fmt.Sprint(g.r.IntN(100))
	if editable {
		g.editable = append(g.editable, id)
		text = g.typed()
	} else {
		g.plain = append(g.plain, id)
	}
	return map[string]any{"type": 3, "id": id, "textContent": text}
}

// element returns a random DOM subtree; inEditable says its parent is
// editable.
func (g *gen) element(depth int, inEditable bool) map[string]any {
	id := g.id()
	g.elements = append(g.elements, id)
	attrs := map[string]any{}
	tag := g.pick("div", "p", "span", "input", "textarea", "select", "section", "b")
	editable := inEditable
	switch tag {
	case "input":
		attrs["type"] = g.caseOf(g.pick("text", "password", "email", "search", "tel", "", "number"))
		attrs["value"] = g.typed()
	case "textarea", "select":
		attrs["value"] = g.typed()
		editable = editable || tag == "textarea"
	default:
		if g.r.IntN(3) == 0 {
			attrs["contenteditable"] = g.pick("", "true", "plaintext-only", "TRUE")
			editable = true
		}
	}
	if editable {
		g.editable = append(g.editable, id)
	}
	var children []any
	if depth < 3 {
		for range g.r.IntN(4) {
			if g.r.IntN(2) == 0 {
				children = append(children, g.textNode(editable))
			} else {
				children = append(children, g.element(depth+1, editable))
			}
		}
	}
	if tag == "textarea" {
		children = append(children, g.textNode(true))
	}
	return map[string]any{"type": 2, "id": id, "tagName": g.caseOf(tag), "attributes": attrs, "childNodes": children}
}

func (g *gen) event(typ int, ts int64, data any) string {
	b, _ := json.Marshal(map[string]any{"type": typ, "timestamp": ts, "data": data})
	return string(b)
}

func (g *gen) session() []string {
	g.sessionID = fmt.Sprintf("s%d", g.r.IntN(3))
	ts := int64(1_767_225_600_000)
	var out []string
	snapshot := func() {
		g.editable, g.plain, g.elements = nil, nil, nil
		body := map[string]any{"type": 2, "id": g.id(), "tagName": "body", "attributes": map[string]any{}, "childNodes": []any{g.element(0, false), g.element(0, false), g.textNode(false)}}
		out = append(out, g.event(TypeMeta, ts, map[string]any{"href": "https://shop.example/p", "width": 1024, "height": 768}))
		out = append(out, g.event(TypeFullSnapshot, ts, map[string]any{"node": map[string]any{"type": 0, "id": g.id(), "childNodes": []any{body}}, "initialOffset": map[string]any{"top": 0, "left": 0}}))
	}
	snapshot()
	for range 30 + g.r.IntN(30) {
		ts += int64(g.r.IntN(500))
		anyID := func() int {
			if len(g.elements) == 0 {
				return 1
			}
			return g.elements[g.r.IntN(len(g.elements))]
		}
		switch k := g.r.IntN(12); {
		case k == 0:
			snapshot()
		case k == 1: // typing into an input
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceInput, "id": anyID(), "text": g.typed(), "isChecked": false, "userTriggered": true}))
		case k == 2: // a script copying the typed value into an attribute
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceMutation, "texts": []any{}, "removes": []any{}, "adds": []any{},
				"attributes": []any{map[string]any{"id": anyID(), "attributes": map[string]any{"value": g.typed(), "style": "color: red"}}}}))
		case k == 3 && len(g.editable) > 0: // typing into an editable element
			id := g.editable[g.r.IntN(len(g.editable))]
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceMutation, "attributes": []any{}, "removes": []any{},
				"texts": []any{map[string]any{"id": id, "value": g.typed()}},
				"adds":  []any{map[string]any{"parentId": id, "nextId": nil, "node": g.textNode(true)}}}))
		case k == 4: // new elements, maybe editable ones, with typed values
			parent := anyID()
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceMutation, "attributes": []any{}, "removes": []any{}, "texts": []any{},
				"adds": []any{map[string]any{"parentId": parent, "nextId": nil, "node": g.element(1, false)}}}))
		case k == 5 && len(g.plain) > 0: // page text changing (not typed)
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceMutation, "attributes": []any{}, "removes": []any{}, "adds": []any{},
				"texts": []any{map[string]any{"id": g.plain[g.r.IntN(len(g.plain))], "value": "Total 12"}}}))
		case k == 6: // an element becomes editable, then is typed into
			id := anyID()
			out = append(out, g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": SourceMutation, "texts": []any{}, "removes": []any{}, "adds": []any{},
				"attributes": []any{map[string]any{"id": id, "attributes": map[string]any{"contenteditable": "true"}}}}))
			if len(g.plain) > 0 {
				out = append(out, g.event(TypeIncrementalSnapshot, ts+1, map[string]any{"source": SourceMutation, "attributes": []any{}, "removes": []any{}, "adds": []any{},
					"texts": []any{map[string]any{"id": g.plain[g.r.IntN(len(g.plain))], "value": g.typed()}}}))
			}
		default: // every other kind of event, carrying no typed text
			out = append(out, g.otherEvent(ts, anyID()))
		}
	}
	return out
}

func (g *gen) otherEvent(ts int64, id int) string {
	switch g.r.IntN(8) {
	case 0:
		return g.event(TypeDomContentLoaded, ts, map[string]any{})
	case 1:
		return g.event(TypeLoad, ts, map[string]any{})
	case 2:
		return g.event(TypeCustom, ts, map[string]any{"tag": "nav", "payload": map[string]any{"to": "/cart"}})
	case 3:
		return g.event(TypePlugin, ts, map[string]any{"plugin": "rrweb/console@1", "payload": map[string]any{"level": "log", "payload": []any{"loaded"}}})
	}
	source := []int{SourceMouseMove, SourceMouseInteraction, SourceScroll, SourceViewportResize, SourceTouchMove, SourceMediaInteraction,
		SourceStyleSheetRule, SourceCanvasMutation, SourceFont, SourceLog, SourceDrag, SourceStyleDeclaration, SourceSelection,
		SourceAdoptedStyleSheet, SourceCustomElement}[g.r.IntN(15)]
	return g.event(TypeIncrementalSnapshot, ts, map[string]any{"source": source, "id": id, "x": 3, "y": 4,
		"positions": []any{map[string]any{"x": 1, "y": 2, "id": id, "timeOffset": 0}}})
}

// FuzzScrub: whatever the input, scrubbing answers valid JSON for a valid
// event, masks every attribute mutation's value and every Input event's
// text, and is idempotent.
func FuzzScrub(f *testing.F) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2)), secret: secret}
	for _, raw := range g.session() {
		f.Add([]byte(raw))
	}
	f.Add([]byte(`{"type":3,"timestamp":2,"data":{"source":0,"attributes":[{"id":2,"attributes":{"va\u006cue":"x"}}]}}`))
	f.Add([]byte(`{"type":3,"timestamp":2,"data":{"source":0,"attributes":[{"id":2,"attributes":{"value":null}}],"texts":[{"id":"3","value":5}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := Parse(raw)
		if err != nil {
			return
		}
		s := NewScrubber()
		out, _ := s.Scrub("f", e)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON out of %s: %s", raw, out)
		}
		// Exact member names, as the browser's JSON.parse reads them.
		var ev map[string]any
		if json.Unmarshal(out, &ev) != nil {
			return
		}
		data, _ := ev["data"].(map[string]any)
		masked := func(v any) bool { s, ok := v.(string); return !ok || isMasked(s) }
		if source, ok := data["source"].(float64); ok && e.Type == TypeIncrementalSnapshot {
			switch int(source) {
			case SourceInput:
				if !masked(data["text"]) {
					t.Fatalf("input text left: %s", out)
				}
			case SourceMutation:
				attrs, _ := data["attributes"].([]any)
				for _, a := range attrs {
					if m, ok := a.(map[string]any); ok {
						if values, ok := m["attributes"].(map[string]any); ok && !masked(values["value"]) {
							t.Fatalf("attribute value left: %s", out)
						}
					}
				}
				// No full snapshot yet: every text change is masked.
				texts, _ := data["texts"].([]any)
				for _, x := range texts {
					if m, ok := x.(map[string]any); ok && !masked(m["value"]) {
						t.Fatalf("text mutation left in a blind session: %s", out)
					}
				}
			}
		}
		again, _ := s.Scrub("f", mustParseF(t, out))
		if e.Type != TypeIncrementalSnapshot && string(again) != string(out) {
			t.Fatalf("not idempotent: %s -> %s", out, again)
		}
	})
}

func mustParseF(t *testing.T, raw []byte) Event {
	e, err := Parse(raw)
	if err != nil {
		t.Fatalf("scrubbed event does not parse: %v: %s", err, raw)
	}
	return e
}
