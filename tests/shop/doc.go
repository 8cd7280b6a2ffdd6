// Package shop holds the real-browser test of the sample shop's web front
// end: the built collector (build/otelcol-agentic, all pipelines of
// otelcol-config.yaml on the embedded engine) and the sample shop in-process
// (sampleapp/app), whose pages record the session with rrweb and send
// browser spans to the collector's rrweb receiver; headless Chromium,
// driven by playwright-core (node shop.mjs), walks the shop from the product
// list to a paid order; the test reads the session back as HyperDX does,
// replays it with rrweb's Replayer, and follows its trace ids to the
// backend's traces. Setup: `make build`, `apt-get install chromium`,
// `npm ci --prefix sampleapp/web` and `npm ci --prefix tests/shop`.
package shop
