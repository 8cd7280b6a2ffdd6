-- Error occurrences arrive by the ten thousand a second. clickhouse-go
-- appends a value to a LowCardinality column through reflection and a
-- map keyed by interface values (about a third of a microsecond per value),
-- and logs_with_embeddings has four such columns. The clickhouse_vector
-- exporter therefore writes occurrences as plain Strings into
-- logs_with_embeddings_in (Null: nothing is stored there), whose view
-- inserts them into logs_with_embeddings, where ClickHouse builds the
-- dictionaries as it would have anyway. logs_with_embeddings, its rows and
-- its queries stay as they were.

CREATE TABLE IF NOT EXISTS {{.DB}}.logs_with_embeddings_in {{.OnCluster}} (
    Timestamp DateTime64(9),
    TraceId String,
    SpanId String,
    SeverityText String,
    ServiceName String,
    Body String,
    template String,
    template_hash UInt64,
    embedding_model String
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.logs_with_embeddings_in_mv {{.OnCluster}}
TO {{.DB}}.logs_with_embeddings
AS SELECT Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, template, template_hash, embedding_model
FROM {{.DB}}.logs_with_embeddings_in;
