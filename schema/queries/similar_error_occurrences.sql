-- The individual error logs nearest to the query vector: occurrences of the
-- closest templates, newest first within a template. Occurrences stored
-- under a hash that generalised into another template (see
-- log_template_canonical) are that template's, and carry its hash.
-- Parameters: embedding, templates (how many nearest templates), k, since.
WITH nearest AS (
    SELECT template_hash, min(distance) AS distance
    FROM (
        SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
        FROM log_templates
        WHERE template_hash NOT IN (SELECT template_hash FROM log_template_canonical)
        ORDER BY distance ASC
        LIMIT {templates:UInt32} * 2
    )
    GROUP BY template_hash
    ORDER BY distance ASC
    LIMIT {templates:UInt32}
),
members AS (
    SELECT template_hash AS member, template_hash AS canonical, distance FROM nearest
    UNION ALL
    SELECT a.template_hash AS member, a.canonical_hash AS canonical, n.distance AS distance
    FROM log_template_canonical AS a INNER JOIN nearest AS n ON a.canonical_hash = n.template_hash
)
SELECT l.Timestamp AS Timestamp, l.ServiceName AS ServiceName, l.SeverityText AS SeverityText,
       l.Body AS Body, l.TraceId AS TraceId, l.template AS template, m.canonical AS template_hash,
       m.distance AS distance
FROM logs_with_embeddings AS l
INNER JOIN members AS m ON l.template_hash = m.member
WHERE l.Timestamp >= {since:DateTime64(9)}
ORDER BY m.distance ASC, l.Timestamp DESC
LIMIT {k:UInt32}
