-- The seed plan's vector tables (§4.2). HNSW index builds are slow (hundreds
-- of rows/s on 2 cores), so error logs are embedded once per template: the
-- vector index lives on log_templates (one row per template) and each
-- occurrence in logs_with_embeddings references its template by hash.
-- logs_with_embeddings is written at the rate errors arrive, so it carries
-- only what its queries need: no ZSTD on the hot columns and no TraceId
-- bloom filter (a trace's logs are looked up in otel_logs).

CREATE TABLE IF NOT EXISTS {{.DB}}.log_templates {{.OnCluster}} (
    template_hash UInt64,
    template String,
    service_name LowCardinality(String),
    severity_text LowCardinality(String),
    example_body String,
    first_seen DateTime64(9),
    embedding Array(Float32),
    embedding_model LowCardinality(String),
    INDEX vec_idx embedding TYPE vector_similarity('hnsw', 'cosineDistance', {{.Dims}}) GRANULARITY 100000000
) ENGINE = {{.Engine "log_templates" "ReplacingMergeTree(first_seen)"}}
ORDER BY (template_hash);

CREATE TABLE IF NOT EXISTS {{.DB}}.logs_with_embeddings {{.OnCluster}} (
    Timestamp DateTime64(9),
    TraceId String,
    SpanId String,
    SeverityText LowCardinality(String),
    ServiceName LowCardinality(String),
    Body String,
    template LowCardinality(String),
    template_hash UInt64,
    embedding_model LowCardinality(String),
    INDEX idx_template_hash template_hash TYPE bloom_filter(0.01) GRANULARITY 1
) ENGINE = {{.Engine "logs_with_embeddings"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, SeverityText, Timestamp)
{{.TTL "toDateTime(Timestamp)"}};

CREATE TABLE IF NOT EXISTS {{.DB}}.traces_with_embeddings {{.OnCluster}} (
    TraceId String,
    Timestamp DateTime64(9),
    ServiceName LowCardinality(String),
    root_operation LowCardinality(String),
    span_sequence String,
    total_duration Int64 COMMENT 'nanoseconds',
    span_count UInt32,
    error_count UInt32,
    embedding Array(Float32),
    embedding_model LowCardinality(String),
    anomaly_score Float32,
    is_anomaly UInt8 DEFAULT 0,
    anomaly_type LowCardinality(String) DEFAULT '',
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX vec_idx embedding TYPE vector_similarity('hnsw', 'cosineDistance', {{.Dims}}, 'i8', 16, 128) GRANULARITY 100000000
) ENGINE = {{.Engine "traces_with_embeddings"}}
PARTITION BY toDate(Timestamp)
ORDER BY (ServiceName, Timestamp)
{{.TTL "toDateTime(Timestamp)"}};

CREATE TABLE IF NOT EXISTS {{.DB}}.error_patterns {{.OnCluster}} (
    pattern_id UUID DEFAULT generateUUIDv4(),
    created_at DateTime64(3) DEFAULT now64(3),
    error_signature String,
    error_message String,
    service_name LowCardinality(String),
    root_cause String,
    resolution String,
    occurrence_count UInt32 DEFAULT 1,
    last_seen DateTime64(3),
    related_trace_ids Array(String),
    embedding Array(Float32),
    embedding_model LowCardinality(String),
    INDEX vec_idx embedding TYPE vector_similarity('hnsw', 'cosineDistance', {{.Dims}}) GRANULARITY 100000000
) ENGINE = {{.Engine "error_patterns" "ReplacingMergeTree(last_seen)"}}
ORDER BY (service_name, error_signature);
