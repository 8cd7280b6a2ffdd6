-- log_template_stats used to be kept by a materialized view over
-- logs_with_embeddings: a GROUP BY and a new stats part on every insert of
-- error occurrences, about a fifth of the vector path's cost at ten
-- thousands of errors a second. The clickhouse_vector exporter now counts
-- occurrences itself and writes pre-aggregated rows every few seconds into
-- log_template_stats_in (Null: nothing is stored there), whose view turns the
-- example trace ids into groupUniqArray(5) states. log_template_stats, its
-- rows and its queries stay as they were.

DROP VIEW IF EXISTS {{.DB}}.log_template_stats_mv {{.OnCluster}};

CREATE TABLE IF NOT EXISTS {{.DB}}.log_template_stats_in {{.OnCluster}} (
    template_hash UInt64,
    service_name LowCardinality(String),
    severity_text LowCardinality(String),
    minute DateTime,
    occurrences UInt64,
    first_seen DateTime64(9),
    last_seen DateTime64(9),
    example_trace_ids Array(String)
) ENGINE = Null;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.log_template_stats_in_mv {{.OnCluster}}
TO {{.DB}}.log_template_stats
AS SELECT
    template_hash,
    service_name,
    severity_text,
    minute,
    occurrences,
    first_seen,
    last_seen,
    arrayReduce('groupUniqArrayState(5)', arrayFilter(t -> t != '', example_trace_ids)) AS example_trace_ids
FROM {{.DB}}.log_template_stats_in;
