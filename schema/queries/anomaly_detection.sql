-- Seed plan §5.2: which recent traces look abnormal. Each trace carries the
-- anomaly score the embedding processor gave it against what is normal for
-- its entry operation; the distance from the centroid of normal traces of
-- the baseline (a bounded sample of them) is returned beside it, as the seed
-- computes it. detect_anomalous_traces and list_incidents run this query
-- as it is; counting the window's traces, they run it with k at its largest.
-- A trace whose spans arrived in parts may have an early row of its first
-- part besides the row of the whole trace: only the fullest row counts. A
-- trace whose session turned out abnormal after it was stored has a revised
-- row as full, flagged: of the fullest rows, a flagged one counts.
-- service ('' for all) keeps traces with a hop in that service.
-- Parameters: since, until, baseline_since, service, only_anomalous, k.
WITH (
    SELECT avgForEach(embedding) FROM (
        SELECT embedding FROM traces_with_embeddings
        WHERE is_anomaly = 0 AND Timestamp >= {baseline_since:DateTime64(9)} AND Timestamp < {until:DateTime64(9)}
        LIMIT 20000)
) AS centroid
SELECT TraceId, Timestamp, ServiceName, root_operation, span_sequence, total_duration, span_count,
       error_count, anomaly_score, is_anomaly, anomaly_type,
       if(empty(centroid), 0, cosineDistance(embedding, centroid)) AS centroid_distance
FROM (
    SELECT * FROM traces_with_embeddings
    WHERE Timestamp >= {since:DateTime64(9)} AND Timestamp < {until:DateTime64(9)}
      AND ({service:String} = '' OR ServiceName = {service:String}
           OR has(arrayMap(x -> splitByChar(' ', x)[1], splitByString(' -> ', span_sequence)), {service:String}))
    ORDER BY TraceId, span_count DESC, is_anomaly DESC
    LIMIT 1 BY TraceId
)
WHERE ({only_anomalous:UInt8} = 0 OR is_anomaly = 1)
ORDER BY anomaly_score DESC, centroid_distance DESC, TraceId
LIMIT {k:UInt64}
