// Package spoolconnector is the `spool` connector: the point at which the
// collector takes responsibility for what it was sent. A request is
// appended to a write-ahead log on local disk before it is acknowledged;
// cursors read the log and hand it, in large batches, to the pipelines that
// receive from the connector, retrying until each has stored it, and the log
// shrinks as they catch up. Inserts carry a ClickHouse deduplication token
// named after the log positions they hold, so that a batch sent again after
// a crash or a failed attempt is stored once. A traces spool can also group
// spans into whole traces, durably, for pipelines that need them (in place
// of groupbytrace, which holds them in memory).
package spoolconnector // import "github.com/otelcol-agentic/otelcol-agentic/connector/spoolconnector"
