-- Retention (issue 23): every table that expires is partitioned by day and
-- drops a day's parts whole once all their rows are past the TTL, so that a
-- store running for a month keeps a steady size without rewriting parts to
-- delete rows. The tables created before this migration without
-- ttl_only_drop_parts get it here. The TTLs themselves are not set by a
-- migration: Apply sets each table's from the configured retention after the
-- migrations (schema/retention.go), so that a changed configuration reaches
-- existing tables. otel_sessions is not partitioned (a session's versions
-- must stay in one part set): its expired rows are deleted by merges.

ALTER TABLE {{.DB}}.logs_with_embeddings {{.OnCluster}} MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE {{.DB}}.traces_with_embeddings {{.OnCluster}} MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE {{.DB}}.log_template_stats {{.OnCluster}} MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE {{.DB}}.session_replay_events {{.OnCluster}} MODIFY SETTING ttl_only_drop_parts = 1;

-- No query searches traces_with_embeddings by nearest vector:
-- detect_anomalous_traces measures each trace of its window against the
-- centroid of the baseline, by brute force over the window. Its HNSW index
-- stays declared (writers read the vector dimension from it), is built for
-- each inserted part, but is not rebuilt by merges: at a day of traffic a
-- merge of the table spent minutes rebuilding a graph no query reads, a
-- cost that grows faster than the rows merged and recurs at every merge
-- level (issue 23's backfill: a 6-part merge of 10 MB ran for over 200 s).
ALTER TABLE {{.DB}}.traces_with_embeddings {{.OnCluster}} MODIFY SETTING exclude_materialize_skip_indexes_on_merge = 'vec_idx';
