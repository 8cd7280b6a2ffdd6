-- The seed plan's session tables (§4.1): one row per browser session kept up
-- to date by the clickhouse_vector exporter, and the raw replay events.
-- otel_sessions is not partitioned: a session's StartTime can move earlier as
-- late events arrive, and its versions must stay in one partition for
-- ReplacingMergeTree to keep only the newest.

CREATE TABLE IF NOT EXISTS {{.DB}}.otel_sessions {{.OnCluster}} (
    SessionId String,
    UserId String,
    ServiceName LowCardinality(String),
    StartTime DateTime64(3),
    EndTime DateTime64(3),
    Duration Int64 COMMENT 'milliseconds',
    UserAgent String,
    DeviceType LowCardinality(String),
    OS LowCardinality(String),
    Browser LowCardinality(String),
    Country LowCardinality(String),
    City String,
    PageViews UInt32,
    Events Nested (
        Timestamp DateTime64(3),
        Type LowCardinality(String),
        Name String,
        Attributes Map(String, String)
    ),
    ErrorCount UInt32,
    TraceIds Array(String),
    Version UInt64 COMMENT 'row version: the newest row of a session wins',
    INDEX idx_trace_ids TraceIds TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{.Engine "otel_sessions" "ReplacingMergeTree(Version)"}}
ORDER BY (SessionId)
{{.TTL "toDateTime(EndTime)"}};

CREATE TABLE IF NOT EXISTS {{.DB}}.session_replay_events {{.OnCluster}} (
    SessionId String,
    Timestamp DateTime64(3),
    SequenceNumber UInt64,
    EventType LowCardinality(String) COMMENT 'dom, mouse, scroll, input, network, meta, custom',
    EventData String CODEC(ZSTD(3)),
    INDEX idx_session_id SessionId TYPE bloom_filter GRANULARITY 1
) ENGINE = {{.Engine "session_replay_events"}}
PARTITION BY toDate(Timestamp)
ORDER BY (SessionId, Timestamp, SequenceNumber)
{{.TTL "toDateTime(Timestamp)"}};
