// Package rrweb holds what the rrweb receiver and the session writer both
// need to know about rrweb events and about how HyperDX (ClickStack) stores
// them: the attribute names of session logs, splitting large events into
// chunks and putting them back together, scrubbing typed text out of input
// events, and classifying events. It has no collector types.
package rrweb // import "github.com/otelcol-agentic/otelcol-agentic/internal/rrweb"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Names HyperDX's session recorder gives session logs; HyperDX's replay
// query reads them back (COMPAT.md §2).
const (
	ScopeName = "rum.rr-web"

	AttrOffset      = "rr-web.offset"
	AttrEvent       = "rr-web.event"
	AttrChunk       = "rr-web.chunk"
	AttrTotalChunks = "rr-web.total-chunks"

	ResourceSessionID = "rum.sessionId"
	// ResourceTraceIDs lists the trace ids a plain rrweb batch said belong to
	// the session (a string slice).
	ResourceTraceIDs = "rum.traceIds"
	ResourceUserID   = "user.id"
	// ResourceUserAgent is the browser's User-Agent header.
	ResourceUserAgent = "user_agent.original"
	ResourceService   = "service.name"
)

// MaxChunkBytes is the largest body of one session log record: larger
// events are split into chunks, as HyperDX's recorder does.
const MaxChunkBytes = 950 * 1024

// rrweb's EventType.
const (
	TypeDomContentLoaded    = 0
	TypeLoad                = 1
	TypeFullSnapshot        = 2
	TypeIncrementalSnapshot = 3
	TypeMeta                = 4
	TypeCustom              = 5
	TypePlugin              = 6
)

// rrweb's IncrementalSource.
const (
	SourceMutation          = 0
	SourceMouseMove         = 1
	SourceMouseInteraction  = 2
	SourceScroll            = 3
	SourceViewportResize    = 4
	SourceInput             = 5
	SourceTouchMove         = 6
	SourceMediaInteraction  = 7
	SourceStyleSheetRule    = 8
	SourceCanvasMutation    = 9
	SourceFont              = 10
	SourceLog               = 11
	SourceDrag              = 12
	SourceStyleDeclaration  = 13
	SourceSelection         = 14
	SourceAdoptedStyleSheet = 15
	SourceCustomElement     = 16
)

// Event is the part of an rrweb event that the receiver and the session
// writer look at; Raw is the event's complete JSON.
type Event struct {
	Type      int
	Timestamp int64 // milliseconds since the epoch
	Raw       []byte
	head      eventHead
}

type eventHead struct {
	Type, Timestamp, Data json.RawMessage
}

// object reads a JSON object's members with their exact names: rrweb (in
// JavaScript) tells "data" from "Data", encoding/json's struct matching
// does not.
func object(raw []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// member is the exact-named member of a JSON object, or nil.
func member(raw []byte, name string) json.RawMessage {
	m, err := object(raw)
	if err != nil {
		return nil
	}
	return m[name]
}

// Parse reads one rrweb event: a JSON object with a numeric type and a
// numeric timestamp (ms).
func Parse(raw []byte) (Event, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return Event{}, fmt.Errorf("not a JSON object: %w", err)
	}
	// More is false at a closing bracket: look at what is left instead.
	if len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0 {
		return Event{}, errors.New("trailing data after the event")
	}
	h := eventHead{Type: m["type"], Timestamp: m["timestamp"], Data: m["data"]}
	typeNum, ok := number(h.Type)
	if !ok {
		return Event{}, errors.New(`no numeric "type"`)
	}
	typ, err := typeNum.Int64()
	if err != nil || typ < 0 || typ > 1<<16 {
		return Event{}, fmt.Errorf(`"type" %s is not an rrweb event type`, typeNum)
	}
	tsNum, ok := number(h.Timestamp)
	if !ok {
		return Event{}, errors.New(`no numeric "timestamp"`)
	}
	ts, err := timestampMillis(tsNum)
	if err != nil {
		return Event{}, err
	}
	return Event{Type: int(typ), Timestamp: ts, Raw: raw, head: h}, nil
}

// number returns a JSON number literal (not a quoted one).
func number(raw json.RawMessage) (json.Number, bool) {
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return "", false
	}
	return json.Number(raw), true
}

// timestampMillis accepts integral and fractional milliseconds within
// years 1970–2262 (what a nanosecond int64 holds).
func timestampMillis(n json.Number) (int64, error) {
	const maxMillis = 9_223_372_036_854 // max int64 nanoseconds, in ms
	if i, err := n.Int64(); err == nil {
		if i < 0 || i > maxMillis {
			return 0, fmt.Errorf(`"timestamp" %s is outside 1970–2262 in milliseconds`, n)
		}
		return i, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > maxMillis {
		return 0, fmt.Errorf(`"timestamp" %s is not milliseconds since 1970`, n)
	}
	return int64(f), nil
}

// Source returns the IncrementalSource of an incremental snapshot, or -1.
func (e Event) Source() int {
	if e.Type != TypeIncrementalSnapshot {
		return -1
	}
	var source int
	if json.Unmarshal(member(e.head.Data, "source"), &source) != nil {
		return -1
	}
	return source
}

// Data returns the event's data object, undecoded.
func (e Event) Data() json.RawMessage { return e.head.Data }

// Chunks splits an event body into pieces of at most limit bytes, cut
// only between UTF-8 characters so every piece is valid text, as the
// OTLP protobuf encoding of string bodies requires. Concatenating the
// pieces gives body back.
func Chunks(body string, limit int) []string {
	limit = max(limit, utf8.UTFMax)
	if len(body) <= limit {
		return []string{body}
	}
	out := make([]string, 0, len(body)/limit+1)
	for len(body) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		if cut == 0 { // not UTF-8 at all: cut bytes
			cut = limit
		}
		out = append(out, body[:cut])
		body = body[cut:]
	}
	if body != "" {
		out = append(out, body)
	}
	return out
}

// Number formats a counter as HyperDX stores rr-web.* attributes: the
// recorder sends doubles (1.0) and storage keeps "1".
func Number(n int64) string { return strconv.FormatInt(n, 10) }

// ParseNumber reads an rr-web.* attribute value ("3", "3.0", 3).
func ParseNumber(s string) (int64, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return 0, false
	}
	return int64(f), true
}
