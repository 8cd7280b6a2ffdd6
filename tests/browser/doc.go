// Package browser holds the real-browser session replay test: Debian's
// Chromium, driven by playwright-core (node browser.mjs), records a small
// shop page with rrweb; the rrweb receiver stores the session through the
// contrib clickhouse exporter (hyperdx_sessions) and clickhouse_vector
// (session_replay_events, otel_sessions) into the embedded ClickHouse; the
// test reads it back with HyperDX's replay query and replays it with rrweb's
// Replayer in Chromium. Setup: `apt-get install chromium` and
// `npm ci --prefix tests/browser`. Its benchmarks measure the ingest rate
// and the bytes stored per minute of an active session.
package browser
