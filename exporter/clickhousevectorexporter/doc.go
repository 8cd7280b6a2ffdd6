// Package clickhousevectorexporter writes what the embedding processor
// produced into ClickHouse's vector tables: error occurrences into
// logs_with_embeddings, each new template once (with its vector) into
// log_templates, trace summaries into traces_with_embeddings, and the
// occurrence counts of known error_patterns that incoming errors match.
// It writes through clickhouse-go, so it works against the embedded engine's
// HTTP interface and a ClickHouse server alike.
package clickhousevectorexporter // import "github.com/otelcol-agentic/otelcol-agentic/exporter/clickhousevectorexporter"
