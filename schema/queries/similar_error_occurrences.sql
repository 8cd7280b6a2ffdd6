-- The individual error logs nearest to the query vector: occurrences of the
-- closest templates, newest first within a template.
-- Parameters: embedding, templates (how many nearest templates), k, since.
SELECT l.Timestamp AS Timestamp, l.ServiceName AS ServiceName, l.SeverityText AS SeverityText,
       l.Body AS Body, l.TraceId AS TraceId, l.template AS template, l.template_hash AS template_hash,
       t.distance AS distance
FROM logs_with_embeddings AS l
INNER JOIN (
    SELECT template_hash, min(distance) AS distance
    FROM (
        SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
        FROM log_templates
        ORDER BY distance ASC
        LIMIT {templates:UInt32} * 2
    )
    GROUP BY template_hash
    ORDER BY distance ASC
    LIMIT {templates:UInt32}
) AS t USING (template_hash)
WHERE l.Timestamp >= {since:DateTime64(9)}
ORDER BY t.distance ASC, l.Timestamp DESC
LIMIT {k:UInt32}
