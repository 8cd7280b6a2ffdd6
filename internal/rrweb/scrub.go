package rrweb

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Typed text reaches an rrweb recording wherever a browser that records
// without masking puts it, and the server masks it in every one of those
// places (as many '*' as characters), so that no secret a user typed is
// stored:
//
//   - Input events: the text (isChecked is kept);
//   - full snapshots and nodes added by mutations: the value attribute of
//     input, textarea and select elements (button-like inputs keep their
//     label), and the text inside textareas and contenteditable elements;
//   - attribute mutations: every value attribute (a script copying what was
//     typed into it), whatever the element;
//   - text mutations of nodes inside textareas and contenteditable elements.
//
// The last needs to know which node ids lie inside editable elements, which
// only the session's full snapshot and later mutations tell: Scrubber keeps
// that per session. Until it has seen a session's full snapshot (after a
// restart, or when an element becomes editable later), it masks every text
// mutation and every text node added to the session: replay shows stars
// where it cannot tell, and typed text is never kept.

// Scrubber masks typed text in sessions' events. Safe for concurrent use.
type Scrubber struct {
	mu       sync.Mutex
	sessions map[string]*domState
}

// domState is what a session's events told about its DOM.
type domState struct {
	// editable are the ids of nodes inside (or being) textareas and
	// contenteditable elements.
	editable map[int64]struct{}
	// blind: the state cannot tell which nodes are editable, so every text
	// change is masked until the next full snapshot.
	blind bool
	used  time.Time
}

const (
	maxScrubSessions = 20_000
	scrubIdle        = time.Hour
	// maxEditableIDs bounds one session's state; beyond it the session is
	// scrubbed blind.
	maxEditableIDs = 100_000
)

// NewScrubber returns a Scrubber with no sessions.
func NewScrubber() *Scrubber { return &Scrubber{sessions: map[string]*domState{}} }

// Scrub masks typed text in one event, with no session state: text
// mutations and added text nodes are masked blind.
func Scrub(e Event) ([]byte, bool) { return NewScrubber().Scrub("", e) }

// Scrub masks the typed text in an event of session. It returns the
// event's JSON and whether anything changed; events that carry no typed
// text come back untouched, byte for byte.
func (s *Scrubber) Scrub(session string, e Event) ([]byte, bool) {
	switch e.Type {
	case TypeFullSnapshot:
		st := &domState{editable: map[int64]struct{}{}}
		out, changed := e.Raw, false
		if mayHoldTypedText(e.head.Data) {
			out, changed = rewrite(e, func(data map[string]any) bool {
				node, ok := data["node"].(map[string]any)
				return ok && st.maskNode(node, false)
			})
		}
		s.put(session, st)
		return out, changed
	case TypeIncrementalSnapshot:
		switch e.Source() {
		case SourceInput:
			return rewrite(e, func(data map[string]any) bool {
				return maskString(data, "text")
			})
		case SourceMutation:
			s.mu.Lock()
			defer s.mu.Unlock()
			st := s.state(session)
			if !st.blind && len(st.editable) == 0 && !mayHoldTypedText(e.head.Data) {
				return e.Raw, false
			}
			return rewrite(e, st.maskMutation)
		}
	}
	return e.Raw, false
}

// mayHoldTypedText reports whether JSON data could hold anything masked
// (rewrite decides); JSON escapes in member names are taken to.
func mayHoldTypedText(data []byte) bool {
	for _, s := range []string{`"value"`, `contenteditable`, `extarea`, `EXTAREA`, `\u`} {
		if bytes.Contains(data, []byte(s)) {
			return true
		}
	}
	return false
}

func (s *Scrubber) put(session string, st *domState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st.used = time.Now()
	s.evict()
	s.sessions[session] = st
}

// state returns the session's state; a session never snapshotted is blind.
// The caller holds s.mu.
func (s *Scrubber) state(session string) *domState {
	st := s.sessions[session]
	if st == nil {
		s.evict()
		st = &domState{editable: map[int64]struct{}{}, blind: true}
		s.sessions[session] = st
	}
	st.used = time.Now()
	return st
}

// evict makes room for a session: idle ones go, or half of all.
func (s *Scrubber) evict() {
	if len(s.sessions) < maxScrubSessions {
		return
	}
	now := time.Now()
	for id, st := range s.sessions {
		if now.Sub(st.used) > scrubIdle {
			delete(s.sessions, id)
		}
	}
	for id := range s.sessions {
		if len(s.sessions) < maxScrubSessions/2 {
			break
		}
		delete(s.sessions, id)
	}
}

func (st *domState) mark(id any) {
	if n, ok := nodeID(id); ok {
		if len(st.editable) >= maxEditableIDs {
			st.blind = true
			return
		}
		st.editable[n] = struct{}{}
	}
}

func (st *domState) isEditable(id any) bool {
	if st.blind {
		return true
	}
	n, ok := nodeID(id)
	if !ok {
		return false
	}
	_, in := st.editable[n]
	return in
}

func nodeID(v any) (int64, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, false
	}
	i, err := n.Int64()
	return i, err == nil
}

// maskMutation masks a mutation's data (see the package comment).
func (st *domState) maskMutation(data map[string]any) bool {
	changed := false
	if removes, ok := data["removes"].([]any); ok && !st.blind {
		for _, r := range removes {
			if rm, ok := r.(map[string]any); ok {
				if n, ok := nodeID(rm["id"]); ok {
					delete(st.editable, n)
				}
			}
		}
	}
	if adds, ok := data["adds"].([]any); ok {
		for _, a := range adds {
			add, ok := a.(map[string]any)
			if !ok {
				continue
			}
			if node, ok := add["node"].(map[string]any); ok && st.maskNode(node, st.isEditable(add["parentId"])) {
				changed = true
			}
		}
	}
	if attrs, ok := data["attributes"].([]any); ok {
		for _, a := range attrs {
			m, ok := a.(map[string]any)
			if !ok {
				continue
			}
			values, ok := m["attributes"].(map[string]any)
			if !ok {
				continue
			}
			if maskString(values, "value") {
				changed = true
			}
			if isEditableValue(values["contenteditable"]) {
				// The element's existing text nodes are not known by id:
				// mask blind until the next full snapshot.
				st.mark(m["id"])
				st.blind = true
			}
		}
	}
	if texts, ok := data["texts"].([]any); ok {
		for _, t := range texts {
			m, ok := t.(map[string]any)
			if ok && st.isEditable(m["id"]) && maskString(m, "value") {
				changed = true
			}
		}
	}
	return changed
}

// maskNode masks the typed text in a serialised DOM subtree, and records
// the ids of its editable nodes. inEditable says the node's parent is
// editable.
func (st *domState) maskNode(node map[string]any, inEditable bool) bool {
	changed := false
	editable := inEditable
	if tag, _ := node["tagName"].(string); tag != "" {
		tag = strings.ToLower(tag)
		attrs, _ := node["attributes"].(map[string]any)
		if holdsTypedValue(tag, attrs) && maskString(attrs, "value") {
			changed = true
		}
		if tag == "textarea" || isEditableValue(attrs["contenteditable"]) {
			editable = true
		}
	} else if editable && maskString(node, "textContent") {
		changed = true
	}
	if editable {
		st.mark(node["id"])
	}
	if children, ok := node["childNodes"].([]any); ok {
		for _, c := range children {
			if child, ok := c.(map[string]any); ok && st.maskNode(child, editable) {
				changed = true
			}
		}
	}
	return changed
}

// isEditableValue reads a contenteditable attribute: present and not
// "false" makes an element editable.
func isEditableValue(v any) bool {
	switch x := v.(type) {
	case string:
		return !strings.EqualFold(strings.TrimSpace(x), "false")
	case bool:
		return x
	}
	return false
}

func holdsTypedValue(tag string, attrs map[string]any) bool {
	if attrs == nil {
		return false
	}
	switch tag {
	case "textarea", "select":
		return true
	case "input":
		typ, _ := attrs["type"].(string)
		switch strings.ToLower(strings.TrimSpace(typ)) {
		case "button", "submit", "reset", "image", "hidden", "checkbox", "radio":
			return false
		}
		return true
	}
	return false
}

// maskString masks m[key] when it is text that is not masked yet.
func maskString(m map[string]any, key string) bool {
	v, ok := m[key].(string)
	if !ok || v == "" || isMasked(v) {
		return false
	}
	m[key] = mask(v)
	return true
}

func mask(s string) string { return strings.Repeat("*", utf8.RuneCountInString(s)) }

func isMasked(s string) bool { return strings.Trim(s, "*") == "" }

// rewrite decodes the event, lets edit change its data, and encodes it
// again if edit reports a change.
func rewrite(e Event, edit func(data map[string]any) bool) ([]byte, bool) {
	var ev map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.Raw))
	dec.UseNumber()
	if dec.Decode(&ev) != nil {
		return e.Raw, false
	}
	data, ok := ev["data"].(map[string]any)
	if !ok || !edit(data) {
		return e.Raw, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(ev) != nil {
		return e.Raw, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}
