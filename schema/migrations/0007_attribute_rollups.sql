-- HyperDX's metadata rollups, as ClickStack's schema defines them
-- (hyperdxio/hyperdx, app 2.36: docker/otel-collector/schema/seed/
-- 00006_otel_logs_rollups.sql and 00007_otel_traces_rollups.sql): per
-- 15-minute bucket, how often each value of a column occurred, kept by a
-- materialized view. HyperDX's stock sources name these tables
-- (metadataMaterializedViews.kvRollupTable) and read the filter sidebar's
-- values of the columns the view aggregates from them. The views aggregate
-- the columns of this schema: ClickStack's otel_logs materialises its k8s
-- attributes as __hdx_materialized_*, the contrib exporter's (ours) as
-- __otel_materialized_*.
--
-- The key rollups (keyRollupTable in the stock sources) are ClickStack's
-- earlier key-only tables, derived from the value rollups by a second view:
-- HyperDX 2.36 reads them for map keys only when a column has no key text
-- index (ours have).
--
-- The INSERT … SELECT statements roll up what the tables already hold (once:
-- only into an empty rollup), before the views begin to see new rows.

CREATE TABLE IF NOT EXISTS {{.DB}}.otel_logs_kv_rollup_15m {{.OnCluster}} (
    `Timestamp` DateTime,
    `ColumnIdentifier` LowCardinality(String),
    `Key` LowCardinality(String),
    `Value` String,
    `count` UInt64,
    INDEX idx_count_minmax count TYPE minmax GRANULARITY 1,
    INDEX idx_timestamp_minmax Timestamp TYPE minmax GRANULARITY 1
) ENGINE = {{.Engine "otel_logs_kv_rollup_15m" "SummingMergeTree"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ColumnIdentifier, Key, Timestamp, Value)
{{.TTL "Timestamp"}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS {{.DB}}.otel_logs_key_rollup_15m {{.OnCluster}} (
    `Timestamp` DateTime,
    `ColumnIdentifier` LowCardinality(String),
    `Key` LowCardinality(String),
    `count` UInt64,
    INDEX idx_count_minmax count TYPE minmax GRANULARITY 1,
    INDEX idx_timestamp_minmax Timestamp TYPE minmax GRANULARITY 1
) ENGINE = {{.Engine "otel_logs_key_rollup_15m" "SummingMergeTree"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ColumnIdentifier, Key, Timestamp)
{{.TTL "Timestamp"}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS {{.DB}}.otel_traces_kv_rollup_15m {{.OnCluster}} (
    `Timestamp` DateTime,
    `ColumnIdentifier` LowCardinality(String),
    `Key` LowCardinality(String),
    `Value` String,
    `count` UInt64,
    INDEX idx_count_minmax count TYPE minmax GRANULARITY 1,
    INDEX idx_timestamp_minmax Timestamp TYPE minmax GRANULARITY 1
) ENGINE = {{.Engine "otel_traces_kv_rollup_15m" "SummingMergeTree"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ColumnIdentifier, Key, Timestamp, Value)
{{.TTL "Timestamp"}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE TABLE IF NOT EXISTS {{.DB}}.otel_traces_key_rollup_15m {{.OnCluster}} (
    `Timestamp` DateTime,
    `ColumnIdentifier` LowCardinality(String),
    `Key` LowCardinality(String),
    `count` UInt64,
    INDEX idx_count_minmax count TYPE minmax GRANULARITY 1,
    INDEX idx_timestamp_minmax Timestamp TYPE minmax GRANULARITY 1
) ENGINE = {{.Engine "otel_traces_key_rollup_15m" "SummingMergeTree"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ColumnIdentifier, Key, Timestamp)
{{.TTL "Timestamp"}}
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

INSERT INTO {{.DB}}.otel_logs_kv_rollup_15m
SELECT toStartOfFifteenMinutes(Timestamp) AS Timestamp, 'NativeColumn' AS ColumnIdentifier, kv.1 AS Key, kv.2 AS Value, count() AS count
FROM {{.DB}}.otel_logs
ARRAY JOIN [
    ('SeverityText', CAST(SeverityText AS String)), ('ServiceName', CAST(ServiceName AS String)),
    ('ScopeName', ScopeName), ('ScopeVersion', CAST(ScopeVersion AS String)),
    ('ResourceSchemaUrl', CAST(ResourceSchemaUrl AS String)), ('ScopeSchemaUrl', CAST(ScopeSchemaUrl AS String)),
    ('__otel_materialized_k8s.cluster.name', CAST(`__otel_materialized_k8s.cluster.name` AS String)),
    ('__otel_materialized_k8s.container.name', CAST(`__otel_materialized_k8s.container.name` AS String)),
    ('__otel_materialized_k8s.deployment.name', CAST(`__otel_materialized_k8s.deployment.name` AS String)),
    ('__otel_materialized_k8s.namespace.name', CAST(`__otel_materialized_k8s.namespace.name` AS String)),
    ('__otel_materialized_k8s.node.name', CAST(`__otel_materialized_k8s.node.name` AS String)),
    ('__otel_materialized_k8s.pod.name', CAST(`__otel_materialized_k8s.pod.name` AS String)),
    ('__otel_materialized_k8s.pod.uid', CAST(`__otel_materialized_k8s.pod.uid` AS String)),
    ('__otel_materialized_deployment.environment.name', CAST(`__otel_materialized_deployment.environment.name` AS String))
] AS kv
WHERE (SELECT count() FROM {{.DB}}.otel_logs_kv_rollup_15m) = 0
GROUP BY Timestamp, Key, Value;

INSERT INTO {{.DB}}.otel_traces_kv_rollup_15m
SELECT toStartOfFifteenMinutes(Timestamp) AS Timestamp, 'NativeColumn' AS ColumnIdentifier, kv.1 AS Key, kv.2 AS Value, count() AS count
FROM {{.DB}}.otel_traces
ARRAY JOIN [
    ('ServiceName', CAST(ServiceName AS String)), ('SpanName', CAST(SpanName AS String)),
    ('SpanKind', CAST(SpanKind AS String)), ('StatusCode', CAST(StatusCode AS String)),
    ('ScopeName', ScopeName), ('ScopeVersion', ScopeVersion)
] AS kv
WHERE (SELECT count() FROM {{.DB}}.otel_traces_kv_rollup_15m) = 0
GROUP BY Timestamp, Key, Value;

INSERT INTO {{.DB}}.otel_logs_key_rollup_15m
SELECT Timestamp, ColumnIdentifier, Key, sum(count) AS count
FROM {{.DB}}.otel_logs_kv_rollup_15m
WHERE (SELECT count() FROM {{.DB}}.otel_logs_key_rollup_15m) = 0
GROUP BY ColumnIdentifier, Key, Timestamp;

INSERT INTO {{.DB}}.otel_traces_key_rollup_15m
SELECT Timestamp, ColumnIdentifier, Key, sum(count) AS count
FROM {{.DB}}.otel_traces_kv_rollup_15m
WHERE (SELECT count() FROM {{.DB}}.otel_traces_key_rollup_15m) = 0
GROUP BY ColumnIdentifier, Key, Timestamp;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.otel_logs_key_rollup_15m_mv {{.OnCluster}}
TO {{.DB}}.otel_logs_key_rollup_15m
AS SELECT
    Timestamp,
    ColumnIdentifier,
    Key,
    sum(count) AS count
FROM {{.DB}}.otel_logs_kv_rollup_15m
GROUP BY ColumnIdentifier, Key, Timestamp;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.otel_logs_attr_kv_rollup_15m_mv {{.OnCluster}}
TO {{.DB}}.otel_logs_kv_rollup_15m
AS WITH elements AS (
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'SeverityText' AS Key, CAST(SeverityText AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ServiceName' AS Key, CAST(ServiceName AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ScopeName' AS Key, CAST(ScopeName AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ScopeVersion' AS Key, CAST(ScopeVersion AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ResourceSchemaUrl' AS Key, CAST(ResourceSchemaUrl AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ScopeSchemaUrl' AS Key, CAST(ScopeSchemaUrl AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.cluster.name' AS Key, CAST(`__otel_materialized_k8s.cluster.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.container.name' AS Key, CAST(`__otel_materialized_k8s.container.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.deployment.name' AS Key, CAST(`__otel_materialized_k8s.deployment.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.namespace.name' AS Key, CAST(`__otel_materialized_k8s.namespace.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.node.name' AS Key, CAST(`__otel_materialized_k8s.node.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.pod.name' AS Key, CAST(`__otel_materialized_k8s.pod.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_k8s.pod.uid' AS Key, CAST(`__otel_materialized_k8s.pod.uid` AS String) AS Value
    FROM {{.DB}}.otel_logs
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        '__otel_materialized_deployment.environment.name' AS Key, CAST(`__otel_materialized_deployment.environment.name` AS String) AS Value
    FROM {{.DB}}.otel_logs
)
SELECT Timestamp, ColumnIdentifier, Key, Value, count() AS count FROM elements
GROUP BY Timestamp, ColumnIdentifier, Key, Value;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.otel_traces_key_rollup_15m_mv {{.OnCluster}}
TO {{.DB}}.otel_traces_key_rollup_15m
AS SELECT
    Timestamp,
    ColumnIdentifier,
    Key,
    sum(count) AS count
FROM {{.DB}}.otel_traces_kv_rollup_15m
GROUP BY ColumnIdentifier, Key, Timestamp;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{.DB}}.otel_traces_kv_rollup_15m_mv {{.OnCluster}}
TO {{.DB}}.otel_traces_kv_rollup_15m
AS WITH elements AS (
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ServiceName' AS Key, CAST(ServiceName AS String) AS Value
    FROM {{.DB}}.otel_traces
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'SpanName' AS Key, CAST(SpanName AS String) AS Value
    FROM {{.DB}}.otel_traces
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'SpanKind' AS Key, CAST(SpanKind AS String) AS Value
    FROM {{.DB}}.otel_traces
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'StatusCode' AS Key, CAST(StatusCode AS String) AS Value
    FROM {{.DB}}.otel_traces
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ScopeName' AS Key, CAST(ScopeName AS String) AS Value
    FROM {{.DB}}.otel_traces
    UNION ALL
    SELECT 'NativeColumn' AS ColumnIdentifier, toStartOfFifteenMinutes(Timestamp) AS Timestamp,
        'ScopeVersion' AS Key, CAST(ScopeVersion AS String) AS Value
    FROM {{.DB}}.otel_traces
)
SELECT Timestamp, ColumnIdentifier, Key, Value, count() AS count FROM elements
GROUP BY Timestamp, ColumnIdentifier, Key, Value;
