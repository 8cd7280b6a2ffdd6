-- The individual error logs nearest to the query vector: occurrences of the
-- closest templates, newest first within a template. Occurrences stored
-- under a hash that generalised into another template (see
-- log_template_canonical) are that template's, and carry its hash.
-- Parameters: embedding, templates (how many nearest templates), k, since.
-- The nearest vectors are taken unfiltered and each is read as the template
-- it belongs to now: a superseded template keeps its embedding, close to
-- its successor's, and a filter applied after the vector index (which
-- answers the ORDER BY … LIMIT) could leave nothing of the successor.
WITH nearest AS (
    SELECT if(a.canonical_hash = 0, c.template_hash, a.canonical_hash) AS canonical_template, min(c.distance) AS distance
    FROM (
        SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
        FROM log_templates
        ORDER BY distance ASC
        LIMIT {templates:UInt32} * 4
    ) AS c
    LEFT JOIN log_template_canonical AS a ON c.template_hash = a.template_hash
    GROUP BY canonical_template
    ORDER BY distance ASC, canonical_template
    LIMIT {templates:UInt32}
),
members AS (
    SELECT canonical_template AS member, canonical_template AS canonical, distance FROM nearest
    UNION ALL
    SELECT a.template_hash AS member, a.canonical_hash AS canonical, n.distance AS distance
    FROM log_template_canonical AS a INNER JOIN nearest AS n ON a.canonical_hash = n.canonical_template
)
SELECT l.Timestamp AS Timestamp, l.ServiceName AS ServiceName, l.SeverityText AS SeverityText,
       l.Body AS Body, l.TraceId AS TraceId, l.template AS template, m.canonical AS template_hash,
       m.distance AS distance
FROM logs_with_embeddings AS l
INNER JOIN members AS m ON l.template_hash = m.member
WHERE l.Timestamp >= {since:DateTime64(9)}
ORDER BY m.distance ASC, l.Timestamp DESC
LIMIT {k:UInt32}
