-- Templates are mined online (internal/logtemplate.Miner): when a template
-- generalises (a word that turned out to be a value becomes <*>), its new
-- text has a new hash, and the occurrences, statistics and template rows
-- stored under the old hash must still count as the new template's. The
-- embedding processor records each such re-pointing here: template_hash is
-- the old hash, canonical_hash the template it belongs to now (always the
-- newest: a later generalisation re-points every older hash of the
-- template again). Two collectors may record different targets for one
-- old hash; the latest row wins.
--
-- Readers resolve a hash through log_template_canonical (old hash ->
-- canonical hash; hashes not listed are canonical themselves):
--   LEFT JOIN log_template_canonical AS a USING (template_hash)
--   ... if(a.canonical_hash = 0, template_hash, a.canonical_hash)

CREATE TABLE IF NOT EXISTS {{.DB}}.log_template_aliases {{.OnCluster}} (
    template_hash UInt64,
    canonical_hash UInt64,
    updated DateTime64(9)
) ENGINE = {{.Engine "log_template_aliases" "ReplacingMergeTree(updated)"}}
ORDER BY template_hash;

CREATE VIEW IF NOT EXISTS {{.DB}}.log_template_canonical {{.OnCluster}} AS
SELECT template_hash, argMax(canonical_hash, updated) AS canonical_hash
FROM {{.DB}}.log_template_aliases
GROUP BY template_hash
HAVING canonical_hash != template_hash;
