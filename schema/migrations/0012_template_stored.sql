-- When each template row was stored, by the server's clock, so that the
-- embedding processor's periodic sync reads only the templates stored since
-- its last sync (WHERE stored > watermark, pruned by a minmax index) instead
-- of every template: its cost follows the rate of new templates, not how
-- many there are. Rows stored before this migration get the time it ran
-- (MATERIALIZE COLUMN), so they are read once, not at every sync.

ALTER TABLE {{.DB}}.log_templates {{.OnCluster}}
    ADD COLUMN IF NOT EXISTS stored DateTime64(3) DEFAULT now64(3),
    ADD INDEX IF NOT EXISTS stored_idx stored TYPE minmax GRANULARITY 1;

ALTER TABLE {{.DB}}.log_templates {{.OnCluster}} MATERIALIZE COLUMN stored SETTINGS mutations_sync = 2;
