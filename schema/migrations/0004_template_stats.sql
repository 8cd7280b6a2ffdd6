-- Per-template occurrence counts by minute, kept by a materialized view over
-- logs_with_embeddings: similar-error answers give count, first and last
-- seen and example traces without scanning the occurrences, and spike
-- detection compares one window's counts with the previous one's.

CREATE TABLE IF NOT EXISTS {{.DB}}.log_template_stats {{.OnCluster}} (
    template_hash UInt64,
    service_name LowCardinality(String),
    severity_text LowCardinality(String),
    minute DateTime,
    occurrences SimpleAggregateFunction(sum, UInt64),
    first_seen SimpleAggregateFunction(min, DateTime64(9)),
    last_seen SimpleAggregateFunction(max, DateTime64(9)),
    example_trace_ids AggregateFunction(groupUniqArray(5), String)
) ENGINE = {{.Engine "log_template_stats" "AggregatingMergeTree()"}}
PARTITION BY toDate(minute)
ORDER BY (template_hash, service_name, severity_text, minute)
{{.TTL "minute"}};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.log_template_stats_mv {{.OnCluster}}
TO {{.DB}}.log_template_stats
AS SELECT
    template_hash,
    ServiceName AS service_name,
    SeverityText AS severity_text,
    toStartOfMinute(Timestamp) AS minute,
    count() AS occurrences,
    min(Timestamp) AS first_seen,
    max(Timestamp) AS last_seen,
    groupUniqArrayStateIf(5)(TraceId, TraceId != '') AS example_trace_ids
FROM {{.DB}}.logs_with_embeddings
GROUP BY template_hash, service_name, severity_text, minute;
