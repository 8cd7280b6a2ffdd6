package rrweb

import (
	"encoding/json"
	"regexp"
	"strings"
)

// Kinds of events as session_replay_events.EventType stores them.
const (
	KindDOM     = "dom"
	KindMouse   = "mouse"
	KindScroll  = "scroll"
	KindInput   = "input"
	KindNetwork = "network"
	KindMeta    = "meta"
	KindCustom  = "custom"
)

// Kind classifies an event: dom (page structure: loads, snapshots,
// mutations, styles), mouse (moves, clicks, touches, drags, selections,
// media controls), scroll, input, network (network plugin or custom
// events about requests), meta (page URL and size), custom (everything an
// application or a plugin added, console logs included).
func Kind(e Event) string {
	switch e.Type {
	case TypeDomContentLoaded, TypeLoad, TypeFullSnapshot:
		return KindDOM
	case TypeMeta:
		return KindMeta
	case TypeCustom:
		if isNetworkName(e.customTag()) {
			return KindNetwork
		}
		return KindCustom
	case TypePlugin:
		if isNetworkName(e.pluginName()) {
			return KindNetwork
		}
		return KindCustom
	case TypeIncrementalSnapshot:
		switch e.Source() {
		case SourceMouseMove, SourceMouseInteraction, SourceTouchMove, SourceDrag, SourceMediaInteraction, SourceSelection:
			return KindMouse
		case SourceScroll:
			return KindScroll
		case SourceInput:
			return KindInput
		case SourceLog:
			return KindCustom
		default:
			return KindDOM
		}
	}
	return KindCustom
}

func isNetworkName(s string) bool {
	s = strings.ToLower(s)
	for _, w := range []string{"network", "fetch", "xhr", "request", "http"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// dataString is a string member of the event's data, or "".
func (e Event) dataString(name string) string {
	var s string
	_ = json.Unmarshal(member(e.head.Data, name), &s)
	return s
}

func (e Event) customTag() string { return e.dataString("tag") }

func (e Event) pluginName() string { return e.dataString("plugin") }

// Href is the page URL of a Meta event, or "".
func (e Event) Href() string {
	if e.Type != TypeMeta {
		return ""
	}
	return e.dataString("href")
}

// Notable is what a session summary records about an event: a name for
// custom and plugin events, whether it reports an error, and the trace ids
// it mentions.
type Notable struct {
	Name     string
	Error    bool
	TraceIDs []string
}

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// IsTraceID reports whether s is a W3C trace id in lower-case hex and not
// all zeros.
func IsTraceID(s string) bool {
	return traceIDPattern.MatchString(s) && s != "00000000000000000000000000000000"
}

// Inspect looks into custom events (data.tag, data.payload), plugin events
// (data.plugin, data.payload — the console plugin's level) and the old
// console-log incremental source for errors and trace ids. Other events
// return the zero Notable.
func Inspect(e Event) Notable {
	switch e.Type {
	case TypeCustom:
		tag, payload := e.customTag(), e.payload()
		n := Notable{Name: tag, TraceIDs: traceIDsIn(payload)}
		n.Error = strings.Contains(strings.ToLower(tag), "error") || isErrorLevel(payload["level"])
		return n
	case TypePlugin:
		payload := e.payload()
		n := Notable{Name: e.pluginName(), TraceIDs: traceIDsIn(payload)}
		n.Error = isErrorLevel(payload["level"])
		if status, ok := payload["status"].(float64); ok && status >= 500 {
			n.Error = true
		}
		return n
	case TypeIncrementalSnapshot:
		if e.Source() != SourceLog {
			return Notable{}
		}
		return Notable{Name: "console", Error: isErrorLevel(e.dataString("level"))}
	}
	return Notable{}
}

func (e Event) payload() map[string]any {
	var p map[string]any
	_ = json.Unmarshal(member(e.head.Data, "payload"), &p)
	return p
}

func isErrorLevel(v any) bool {
	s, _ := v.(string)
	s = strings.ToLower(s)
	return s == "error" || s == "assert" || s == "fatal"
}

// traceIDsIn finds trace ids under the usual keys of a payload, one level
// deep (payload.traceId, payload.trace_id, payload.traceIds, and the same
// inside payload.request / payload.span / payload.context).
func traceIDsIn(payload map[string]any) []string {
	var out []string
	var scan func(m map[string]any, depth int)
	scan = func(m map[string]any, depth int) {
		for k, v := range m {
			switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
			case "traceid":
				if s, ok := v.(string); ok && IsTraceID(strings.ToLower(s)) {
					out = append(out, strings.ToLower(s))
				}
			case "traceids":
				if list, ok := v.([]any); ok {
					for _, x := range list {
						if s, ok := x.(string); ok && IsTraceID(strings.ToLower(s)) {
							out = append(out, strings.ToLower(s))
						}
					}
				}
			default:
				if inner, ok := v.(map[string]any); ok && depth < 2 {
					scan(inner, depth+1)
				}
			}
		}
	}
	scan(payload, 0)
	return out
}
