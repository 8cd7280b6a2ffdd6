//go:generate mdatagen metadata.yaml

// Package rrwebreceiver receives browser session recordings over HTTP —
// plain rrweb record({emit}) batches as JSON on /rrweb, and the OTLP logs
// of HyperDX's session recorder on /v1/logs — and emits them as the session
// logs HyperDX (ClickStack) replays from hyperdx_sessions: one log record per
// rrweb event (or 950 KiB chunk of one), body the event's JSON. Browser
// traces posted to /v1/traces go on to the traces pipeline, so a browser
// SDK needs one URL.
package rrwebreceiver // import "github.com/otelcol-agentic/otelcol-agentic/receiver/rrwebreceiver"
