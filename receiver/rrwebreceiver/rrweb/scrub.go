package rrweb

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Scrub removes typed text from an event, for browsers that record without
// masking inputs: an Input event's text becomes as many '*' as it had
// characters (isChecked is kept), and in full snapshots and added nodes the
// value attribute of input, textarea and select elements is masked the same
// way (button-like inputs keep their label). It returns the event's JSON and
// whether anything changed; events that carry no typed text come back
// untouched, byte for byte.
func Scrub(e Event) ([]byte, bool) {
	switch e.Type {
	case TypeIncrementalSnapshot:
		switch e.Source() {
		case SourceInput:
			return scrubInput(e)
		case SourceMutation:
			if !bytes.Contains(e.head.Data, []byte(`"value"`)) {
				return e.Raw, false
			}
			return rewrite(e, func(data map[string]any) bool {
				changed := false
				adds, _ := data["adds"].([]any)
				for _, a := range adds {
					if add, ok := a.(map[string]any); ok {
						if node, ok := add["node"].(map[string]any); ok && maskNode(node) {
							changed = true
						}
					}
				}
				return changed
			})
		}
	case TypeFullSnapshot:
		if !bytes.Contains(e.head.Data, []byte(`"value"`)) {
			return e.Raw, false
		}
		return rewrite(e, func(data map[string]any) bool {
			node, ok := data["node"].(map[string]any)
			return ok && maskNode(node)
		})
	}
	return e.Raw, false
}

func scrubInput(e Event) ([]byte, bool) {
	return rewrite(e, func(data map[string]any) bool {
		text, ok := data["text"].(string)
		if !ok || text == "" || isMasked(text) {
			return false
		}
		data["text"] = mask(text)
		return true
	})
}

// maskNode masks the typed values in a serialised DOM subtree.
func maskNode(node map[string]any) bool {
	changed := false
	if tag, _ := node["tagName"].(string); tag != "" {
		if attrs, ok := node["attributes"].(map[string]any); ok && holdsTypedValue(strings.ToLower(tag), attrs) {
			if v, ok := attrs["value"].(string); ok && v != "" && !isMasked(v) {
				attrs["value"] = mask(v)
				changed = true
			}
		}
	}
	if children, ok := node["childNodes"].([]any); ok {
		for _, c := range children {
			if child, ok := c.(map[string]any); ok && maskNode(child) {
				changed = true
			}
		}
	}
	return changed
}

func holdsTypedValue(tag string, attrs map[string]any) bool {
	switch tag {
	case "textarea", "select":
		return true
	case "input":
		typ, _ := attrs["type"].(string)
		switch strings.ToLower(typ) {
		case "button", "submit", "reset", "image", "hidden", "checkbox", "radio":
			return false
		}
		return true
	}
	return false
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
