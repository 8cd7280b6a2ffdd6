-- Seed plan §5.1: the past errors most like a given one, by hybrid
-- retrieval: the error templates ranked, best first, with why each is
-- there. similar_error_templates then reads the chosen templates' text and
-- occurrences in a window (find_similar_errors runs both).
-- Two rankings are fused by reciprocal rank (RRF: each contributes
-- weight / (60 + rank)):
--   vector   the nearest templates to the query vector (the vector index on
--            log_templates answers the ORDER BY … LIMIT). A neighbour beyond
--            max_distance, the embedder's own cut-off for a confident
--            match, adds nothing to the fusion (it only orders the rest):
--            with the offline hash embedder, nearness that far out is
--            shared wording, not a shared failure;
--   lexical  BM25 over the templates' materialized search terms (migration
--            0009; the text index finds the rows holding a {probe} term,
--            one of every alternative). The query comes analysed
--            (internal/search): alternatives ({terms}: a template must hold
--            every term), each in a group ({groups}: a word, an identifier,
--            a failure concept in all its spellings) with a weight; a
--            template scores for a group with its best alternative, times
--            the group's rarity in the store ({idf}) and where it holds it
--            (template 1, error class +0.3, example body only 0.5), with
--            BM25's length norm (k1 1.2, b 0.25, {avg_len} the templates'
--            mean number of terms).
-- Each row says why it is there: both ranks, the lexical score, the
-- alternatives it holds (matched, 1-based indices into {terms}) and its
-- distance; for a template only the words found, the distance is the
-- farthest the vector ranking reached (2 without one), a lower bound
-- (distance_is_bound): computing it would read every stored vector. A
-- template row may exist twice until ReplacingMergeTree merges it (a
-- retried insert), hence the LIMIT 1 BY and GROUP BYs. Templates that
-- generalised into another (log_template_canonical) are not ranked
-- themselves: similar_error_templates counts their occurrences as the
-- template's they belong to now.
-- find_similar_errors runs this ranking in smaller statements with the
-- fusion in Go (mcp/search_rank.go: ClickHouse takes longer to plan this
-- statement than to run its parts); TestSearchPiecesMatchTheNamedQueries
-- holds the two to the same answers, so a change here is a change there.
-- Parameters: embedding, max_distance, terms, groups, weights, idf, probe,
-- avg_len, vector_weight and lexical_weight (1 and 1 hybrid; 0 switches a
-- ranking off), candidates (per ranking), k.
WITH
    {terms:Array(Array(String))} AS q_terms,
    {groups:Array(UInt16)} AS q_groups,
    {weights:Array(Float32)} AS q_weights,
    {idf:Array(Float32)} AS q_idf,
    60 AS rrf_k,
lexical AS (
    SELECT template_hash, lexical_score, matched,
           row_number() OVER (ORDER BY lexical_score DESC, template_hash) AS lexical_rank
    FROM (
        SELECT template_hash,
               arrayMap((a, w, g) -> if(hasAll(search_terms, a), if(hasAll(search_template_terms, a), 1 + 0.3 * hasAll(search_type_terms, a), 0.5), 0)
                   * w * q_idf[g + 1], q_terms, q_weights, q_groups) AS contrib,
               arraySum(arrayMap(x -> arrayMax(x), arraySplit((c, s) -> s, contrib, arrayMap((g, i) -> i = 1 OR g != q_groups[i - 1], q_groups, arrayEnumerate(q_groups)))))
                   * 2.2 / (1 + 1.2 * (0.75 + 0.25 * length(search_template_terms) / {avg_len:Float32})) AS lexical_score,
               arrayFilter((x, c) -> c > 0, arrayEnumerate(q_terms), contrib) AS matched
        FROM log_templates
        WHERE {lexical_weight:Float32} > 0 AND hasAny(search_terms, {probe:Array(String)})
          AND template_hash NOT IN (SELECT template_hash FROM log_template_canonical)
        ORDER BY lexical_score DESC, template_hash
        LIMIT 1 BY template_hash
        LIMIT {candidates:UInt32}
    )
    WHERE lexical_score > 0
),
vector AS (
    SELECT template_hash, distance, row_number() OVER (ORDER BY distance, template_hash) AS vector_rank
    FROM (
        -- unfiltered nearest vectors, each read as the template it belongs
        -- to now (a filter after the vector index could leave nothing of a
        -- successor whose superseded templates are as near)
        SELECT if(a.canonical_hash = 0, c.template_hash, a.canonical_hash) AS template_hash, min(c.distance) AS distance
        FROM (
            SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
            FROM log_templates
            WHERE {vector_weight:Float32} > 0
            ORDER BY distance ASC
            LIMIT {candidates:UInt32} * 2
        ) AS c
        LEFT JOIN log_template_canonical AS a ON c.template_hash = a.template_hash
        GROUP BY template_hash
        ORDER BY distance, template_hash
        LIMIT {candidates:UInt32}
    )
),
fused AS (
    SELECT template_hash, max(vector_rank) AS vector_rank, max(lexical_rank) AS lexical_rank,
           max(lexical_score) AS lexical_score, argMax(matched, length(matched)) AS matched, max(distance) AS distance,
           if(vector_rank > 0 AND distance <= {max_distance:Float32}, {vector_weight:Float32} / (rrf_k + vector_rank), 0)
               + if(lexical_rank > 0, {lexical_weight:Float32} / (rrf_k + lexical_rank), 0)
               + if(vector_rank > 0, {vector_weight:Float32} * 1e-6 / vector_rank, 0) AS fused_score
    FROM (
        SELECT template_hash, vector_rank, distance, toUInt64(0) AS lexical_rank, toFloat64(0) AS lexical_score,
               CAST([], 'Array(UInt32)') AS matched
        FROM vector
        UNION ALL
        SELECT template_hash, toUInt64(0), toFloat32(0), lexical_rank, lexical_score, matched FROM lexical
    )
    GROUP BY template_hash
)
SELECT template_hash, vector_rank, lexical_rank, lexical_score, matched, fused_score,
       if(vector_rank > 0, distance, if(countIf(vector_rank > 0) OVER () > 0, maxIf(distance, vector_rank > 0) OVER (), 2)) AS distance,
       toBool(vector_rank = 0) AS distance_is_bound
FROM fused
ORDER BY fused_score DESC, lexical_score DESC, distance ASC, template_hash
LIMIT {k:UInt32}
