-- Seed plan §5.3 (RAG): the known error patterns nearest to an error, with
-- their root cause and resolution.
-- Parameters: embedding, k, max_distance.
SELECT pattern_id, error_signature, error_message, service_name, root_cause, resolution,
       occurrence_count, last_seen, related_trace_ids,
       cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
FROM error_patterns FINAL
WHERE distance <= {max_distance:Float32}
ORDER BY distance ASC
LIMIT {k:UInt32}
