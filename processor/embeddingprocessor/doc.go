// Package embeddingprocessor embeds error logs and whole traces into vectors
// in the pipeline. Logs: it keeps the records worth embedding (severity at or
// above a level, or carrying an exception), normalises each body to a
// template, embeds each template once and attaches template, hash and
// vector. Traces (whole traces: from the spool connector's group_by_trace,
// or after groupbytrace): it summarises each trace into its span
// sequence, embeds it, scores it against what is normal for its entry
// operation, and emits the root span carrying the summary.
package embeddingprocessor // import "github.com/otelcol-agentic/otelcol-agentic/processor/embeddingprocessor"
