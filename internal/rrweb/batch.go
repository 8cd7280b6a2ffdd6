package rrweb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Batch is what a browser running rrweb's record({emit}) posts: the events
// emitted since the last post, and who they belong to.
type Batch struct {
	SessionID   string
	ServiceName string
	UserID      string
	UserAgent   string
	TraceIDs    []string
	Events      []Event
}

type wireBatch struct {
	SessionID   *string           `json:"session_id"`
	ServiceName *string           `json:"service_name"`
	UserID      string            `json:"user_id"`
	UserAgent   string            `json:"user_agent"`
	TraceIDs    []string          `json:"trace_ids"`
	Events      []json.RawMessage `json:"events"`
}

// ErrTooManyEvents is wrapped by DecodeBatch when a batch holds more events
// than allowed.
var ErrTooManyEvents = errors.New("too many events")

// MaxIDLength bounds session, user and service identifiers.
const MaxIDLength = 256

// DecodeBatch reads and checks a JSON batch. maxEvents <= 0 means no limit.
// Errors say what was wrong in words a sender can act on.
func DecodeBatch(body []byte, maxEvents int) (Batch, error) {
	var w wireBatch
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return Batch{}, fmt.Errorf("the body is not a JSON batch {session_id, service_name, events: [...]}: %w", err)
	}
	if dec.More() {
		return Batch{}, errors.New("the body holds more than one JSON value: send one batch object per request")
	}
	b := Batch{UserID: w.UserID, UserAgent: w.UserAgent}
	if w.SessionID == nil || strings.TrimSpace(*w.SessionID) == "" {
		return Batch{}, errors.New("session_id is missing: every batch must name the session its events belong to")
	}
	if err := CheckID("session_id", *w.SessionID); err != nil {
		return Batch{}, err
	}
	b.SessionID = *w.SessionID
	if w.ServiceName == nil || strings.TrimSpace(*w.ServiceName) == "" {
		return Batch{}, errors.New("service_name is missing: name the web application (it becomes service.name, which HyperDX filters sessions by)")
	}
	if err := CheckID("service_name", *w.ServiceName); err != nil {
		return Batch{}, err
	}
	b.ServiceName = *w.ServiceName
	if w.UserID != "" {
		if err := CheckID("user_id", w.UserID); err != nil {
			return Batch{}, err
		}
	}
	if len(w.UserAgent) > 4096 {
		return Batch{}, fmt.Errorf("user_agent is %d bytes long; at most 4096 are accepted", len(w.UserAgent))
	}
	if maxEvents > 0 && len(w.TraceIDs) > maxEvents {
		return Batch{}, fmt.Errorf("%w: trace_ids lists %d ids, more than the %d allowed per batch", ErrTooManyEvents, len(w.TraceIDs), maxEvents)
	}
	for i, id := range w.TraceIDs {
		id = strings.ToLower(id)
		if !IsTraceID(id) {
			return Batch{}, fmt.Errorf("trace_ids[%d] %q is not a trace id (32 hex digits, not all zero)", i, truncateForMessage(w.TraceIDs[i]))
		}
		b.TraceIDs = append(b.TraceIDs, id)
	}
	if w.Events == nil {
		return Batch{}, errors.New("events is missing: send the rrweb events as an array")
	}
	if maxEvents > 0 && len(w.Events) > maxEvents {
		return Batch{}, fmt.Errorf("%w: the batch holds %d events, more than the %d allowed: send smaller batches more often", ErrTooManyEvents, len(w.Events), maxEvents)
	}
	b.Events = make([]Event, 0, len(w.Events))
	for i, raw := range w.Events {
		var compact bytes.Buffer
		if err := json.Compact(&compact, raw); err != nil {
			return Batch{}, fmt.Errorf("events[%d]: %w", i, err)
		}
		e, err := Parse(compact.Bytes())
		if err != nil {
			return Batch{}, fmt.Errorf("events[%d] is not an rrweb event: %w", i, err)
		}
		b.Events = append(b.Events, e)
	}
	return b, nil
}

// CheckID rejects identifiers that are too long or hold control characters.
func CheckID(field, s string) error {
	if len(s) > MaxIDLength {
		return fmt.Errorf("%s is %d bytes long; at most %d are accepted", field, len(s), MaxIDLength)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fmt.Errorf("%s %q holds a control or invalid character", field, truncateForMessage(s))
		}
	}
	return nil
}

func truncateForMessage(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
