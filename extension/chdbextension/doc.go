// Package chdbextension hosts the embedded ClickHouse engine (chDB) in the
// collector: it opens the engine on a persistent data directory, applies the
// schema migrations, and serves ClickHouse's HTTP interface so the contrib
// clickhouse exporter, HyperDX, clickhouse-connect and curl work against it
// unmodified.
package chdbextension // import "github.com/otelcol-agentic/otelcol-agentic/extension/chdbextension"
