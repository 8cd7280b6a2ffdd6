-- Seed plan §5.1: the past errors most like a given one. Nearest error
-- templates to the query vector (the vector index on log_templates answers
-- the ORDER BY … LIMIT), with each template's occurrences in the window.
-- A template row may exist twice until ReplacingMergeTree merges it (a
-- retried insert), hence LIMIT 1 BY. Templates that generalised into
-- another (log_template_canonical) are not answered themselves; their
-- occurrences count as the template's they belong to now.
-- Parameters: embedding, k, since, service ('' = any), max_distance.
WITH hits AS (
    SELECT template_hash, template, service_name, example_body,
           cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
    FROM log_templates
    WHERE template_hash NOT IN (SELECT template_hash FROM log_template_canonical)
    ORDER BY distance ASC
    LIMIT {k:UInt32} * 4
),
members AS (
    SELECT template_hash AS member, template_hash AS canonical FROM hits
    UNION ALL
    SELECT template_hash AS member, canonical_hash AS canonical FROM log_template_canonical
    WHERE canonical_hash IN (SELECT template_hash FROM hits)
),
stats AS (
    SELECT m.canonical AS template_hash,
           sum(s.occurrences) AS occurrences,
           min(s.first_seen) AS first_seen,
           max(s.last_seen) AS last_seen,
           groupUniqArrayMerge(5)(s.example_trace_ids) AS example_trace_ids
    FROM log_template_stats AS s
    INNER JOIN members AS m ON s.template_hash = m.member
    WHERE s.minute >= toStartOfMinute({since:DateTime64(9)})
      AND ({service:String} = '' OR s.service_name = {service:String})
    GROUP BY m.canonical
)
SELECT h.template_hash AS template_hash, h.template AS template, h.service_name AS service_name,
       h.example_body AS example_body, h.distance AS distance,
       s.occurrences AS occurrences, s.first_seen AS first_seen, s.last_seen AS last_seen,
       s.example_trace_ids AS example_trace_ids
FROM hits AS h
INNER JOIN stats AS s USING (template_hash)
WHERE h.distance <= {max_distance:Float32}
ORDER BY h.distance ASC, s.occurrences DESC
LIMIT 1 BY template_hash
LIMIT {k:UInt32}
