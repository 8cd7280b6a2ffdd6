-- Seed plan §5.3 (RAG): the known error patterns nearest to an error, with
-- their root cause and resolution, by the hybrid retrieval of
-- similar_error_search: the vector ranking and BM25 over the patterns'
-- materialized search terms (signature and message; the root cause as
-- supporting text, at half weight) fused by reciprocal rank. A pattern is
-- one (service_name, error_signature); FINAL keeps its latest counts.
-- Parameters: embedding, max_distance, terms, groups, weights, idf, probe,
-- avg_len, vector_weight, lexical_weight, candidates, k.
WITH
    {terms:Array(Array(String))} AS q_terms,
    {groups:Array(UInt16)} AS q_groups,
    {weights:Array(Float32)} AS q_weights,
    {idf:Array(Float32)} AS q_idf,
    60 AS rrf_k,
patterns AS (
    SELECT concat(service_name, '/', error_signature) AS pattern_key, pattern_id, error_signature, error_message,
           service_name, root_cause, resolution, occurrence_count, last_seen, related_trace_ids, embedding,
           search_terms, search_template_terms, search_type_terms
    FROM error_patterns FINAL
),
lexical AS (
    SELECT pattern_key, lexical_score, matched,
           row_number() OVER (ORDER BY lexical_score DESC, pattern_key) AS lexical_rank
    FROM (
        SELECT pattern_key,
               arrayMap((a, w, g) -> if(hasAll(search_terms, a), if(hasAll(search_template_terms, a), 1 + 0.3 * hasAll(search_type_terms, a), 0.5), 0)
                   * w * q_idf[g + 1], q_terms, q_weights, q_groups) AS contrib,
               arraySum(arrayMap(x -> arrayMax(x), arraySplit((c, s) -> s, contrib, arrayMap((g, i) -> i = 1 OR g != q_groups[i - 1], q_groups, arrayEnumerate(q_groups)))))
                   * 2.2 / (1 + 1.2 * (0.75 + 0.25 * length(search_template_terms) / {avg_len:Float32})) AS lexical_score,
               arrayFilter((x, c) -> c > 0, arrayEnumerate(q_terms), contrib) AS matched
        FROM patterns
        WHERE {lexical_weight:Float32} > 0 AND hasAny(search_terms, {probe:Array(String)})
        ORDER BY lexical_score DESC, pattern_key
        LIMIT {candidates:UInt32}
    )
    WHERE lexical_score > 0
),
vector AS (
    SELECT pattern_key, distance, row_number() OVER (ORDER BY distance, pattern_key) AS vector_rank
    FROM (
        SELECT pattern_key, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
        FROM patterns
        WHERE {vector_weight:Float32} > 0
        ORDER BY distance, pattern_key
        LIMIT {candidates:UInt32}
    )
),
fused AS (
    SELECT pattern_key, max(vector_rank) AS vector_rank, max(lexical_rank) AS lexical_rank,
           max(lexical_score) AS lexical_score, argMax(matched, length(matched)) AS matched, max(distance) AS distance,
           if(vector_rank > 0 AND distance <= {max_distance:Float32}, {vector_weight:Float32} / (rrf_k + vector_rank), 0)
               + if(lexical_rank > 0, {lexical_weight:Float32} / (rrf_k + lexical_rank), 0)
               + if(vector_rank > 0, {vector_weight:Float32} * 1e-6 / vector_rank, 0) AS fused_score
    FROM (
        SELECT pattern_key, vector_rank, distance, toUInt64(0) AS lexical_rank, toFloat64(0) AS lexical_score,
               CAST([], 'Array(UInt32)') AS matched
        FROM vector
        UNION ALL
        SELECT pattern_key, toUInt64(0), toFloat32(0), lexical_rank, lexical_score, matched FROM lexical
    )
    GROUP BY pattern_key
),
(SELECT arraySlice(arraySort(c -> (-c.6, c.1), groupArray((pattern_key, vector_rank, lexical_rank, lexical_score, matched, fused_score))),
                   1, {k:UInt32} * 2) FROM fused) AS candidates,
arrayMap(c -> c.1, candidates) AS candidate_keys
SELECT p.pattern_id AS pattern_id, p.error_signature AS error_signature, p.error_message AS error_message,
       p.service_name AS service_name, p.root_cause AS root_cause, p.resolution AS resolution,
       p.occurrence_count AS occurrence_count, p.last_seen AS last_seen, p.related_trace_ids AS related_trace_ids,
       cosineDistance(p.embedding, {embedding:Array(Float32)}) AS distance, false AS distance_is_bound,
       p.c.2 AS vector_rank, p.c.3 AS lexical_rank, p.c.4 AS lexical_score, p.c.5 AS matched, p.c.6 AS fused_score
FROM (
    SELECT *, candidates[indexOf(candidate_keys, pattern_key)] AS c
    FROM patterns
    WHERE has(candidate_keys, pattern_key)
) AS p
ORDER BY fused_score DESC, lexical_score DESC, distance ASC, pattern_key
LIMIT {k:UInt32}
