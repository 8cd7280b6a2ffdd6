-- Seed plan §5.2: which recent traces look abnormal. Each trace carries the
-- anomaly score the embedding processor gave it against what is normal for
-- its entry operation; the distance from the centroid of normal traces of
-- the baseline window is returned beside it, as the seed computes it.
-- A trace whose spans arrived in parts may have an early row of its first
-- part besides the row of the whole trace: only the fullest row counts. A
-- trace whose session turned out abnormal after it was stored has a revised
-- row as full, flagged: of the fullest rows, a flagged one counts.
-- Parameters: since, baseline_since, k.
WITH (
    SELECT avgForEach(embedding)
    FROM traces_with_embeddings
    WHERE is_anomaly = 0 AND Timestamp >= {baseline_since:DateTime64(9)}
) AS centroid
SELECT TraceId, Timestamp, ServiceName, root_operation, span_sequence, total_duration, span_count,
       error_count, anomaly_score, is_anomaly, anomaly_type,
       if(empty(centroid), 0, cosineDistance(embedding, centroid)) AS centroid_distance
FROM (
    SELECT * FROM traces_with_embeddings
    WHERE Timestamp >= {since:DateTime64(9)}
    ORDER BY TraceId, span_count DESC, is_anomaly DESC
    LIMIT 1 BY TraceId
)
ORDER BY anomaly_score DESC, centroid_distance DESC
LIMIT {k:UInt32}
