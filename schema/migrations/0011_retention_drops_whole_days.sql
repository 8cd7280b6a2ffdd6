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
