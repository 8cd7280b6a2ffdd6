-- Seed plan §5.1: the past errors most like a given one, by hybrid
-- retrieval. Two rankings of the error templates are fused by reciprocal
-- rank (RRF: each contributes weight / (60 + rank)):
--   vector   the nearest templates to the query vector (the vector index on
--            log_templates answers the ORDER BY … LIMIT). A neighbour beyond
--            max_distance, the embedder's own cut-off for a confident
--            match, adds nothing to the fusion (it only orders the rest):
--            with the offline hash embedder, nearness that far out is
--            shared wording, not a shared failure;
--   lexical  BM25 over the templates' materialized search terms (migration
--            0009; the text index finds the rows holding any query term).
--            The query comes analysed (internal/search): alternatives
--            ({terms}: every term must be held), each in a group
--            ({groups}: a word, an identifier, a failure concept in all its
--            spellings) with a weight; a template scores for a group with
--            its best alternative, weighted by the group's rarity (IDF: how
--            few templates hold any of its alternatives) and by where it
--            holds it (template 1, error class +0.3, example body only 0.5),
--            with BM25's length norm (k1 1.2, b 0.25).
-- Each template's occurrences in the window come from log_template_stats; a
-- template without any there is left out. A template row may exist twice
-- until ReplacingMergeTree merges it (a retried insert), hence the GROUP BYs.
-- The answer says why each template is there: its distance and ranks, the
-- alternatives it holds (matched), and every group's df and idf.
-- Parameters: embedding, max_distance, terms, groups, weights,
-- vector_weight and lexical_weight (1 and 1 hybrid; 0 switches a ranking
-- off), candidates (per ranking), k, since, service ('' = any).
WITH
    {terms:Array(Array(String))} AS q_terms,
    {groups:Array(UInt16)} AS q_groups,
    {weights:Array(Float32)} AS q_weights,
    length(arrayDistinct(q_groups)) AS n_groups,
    60 AS rrf_k,
    assumeNotNull((SELECT count() FROM log_templates)) AS n_docs,
    assumeNotNull((SELECT greatest(1, ifNull(avg(length(search_template_terms)), 1)) FROM log_templates)) AS avg_len,
lexical_rows AS (
    SELECT template_hash,
           arrayMap(a -> hasAll(search_terms, a), q_terms) AS in_any,
           arrayMap(a -> hasAll(search_template_terms, a), q_terms) AS in_template,
           arrayMap(a -> hasAll(search_type_terms, a), q_terms) AS in_type,
           length(search_template_terms) AS len
    FROM log_templates
    WHERE {lexical_weight:Float32} > 0 AND hasAny(search_terms, arrayDistinct(arrayFlatten(q_terms)))
    LIMIT 1 BY template_hash
),
lexical_df AS (
    SELECT template_hash, in_any, in_template, in_type, len,
           sumForEach(arrayMap(g -> toUInt64(arrayExists((x, gg) -> x AND gg = g, in_any, q_groups)), range(n_groups))) OVER () AS df
    FROM lexical_rows
),
lexical_scored AS (
    SELECT template_hash, df,
           arrayMap(d -> log(1 + (n_docs - d + 0.5) / (d + 0.5)), df) AS idf,
           arrayMap((i, t, y, w, g) -> w * idf[g + 1] * if(t, 1 + 0.3 * y, if(i, 0.5, 0)), in_any, in_template, in_type, q_weights, q_groups) AS contrib,
           arraySum(g -> arrayMax(arrayFilter((c, gg) -> gg = g, contrib, q_groups)), arrayDistinct(q_groups))
               * 2.2 / (1 + 1.2 * (0.75 + 0.25 * len / avg_len)) AS lexical_score,
           arrayFilter((x, c) -> c > 0, arrayEnumerate(q_terms), contrib) AS matched
    FROM lexical_df
),
lexical AS (
    SELECT template_hash, lexical_score, matched, df, idf,
           row_number() OVER (ORDER BY lexical_score DESC, template_hash) AS lexical_rank
    FROM lexical_scored
    ORDER BY lexical_score DESC, template_hash
    LIMIT {candidates:UInt32}
),
vector AS (
    SELECT template_hash, distance, row_number() OVER (ORDER BY distance, template_hash) AS vector_rank
    FROM (
        SELECT template_hash, min(distance) AS distance
        FROM (
            SELECT template_hash, cosineDistance(embedding, {embedding:Array(Float32)}) AS distance
            FROM log_templates
            WHERE {vector_weight:Float32} > 0
            ORDER BY distance ASC
            LIMIT {candidates:UInt32} * 2
        )
        GROUP BY template_hash
        ORDER BY distance, template_hash
        LIMIT {candidates:UInt32}
    )
),
fused AS (
    SELECT template_hash, max(vector_rank) AS vector_rank, max(lexical_rank) AS lexical_rank,
           max(lexical_score) AS lexical_score, argMax(matched, length(matched)) AS matched, max(distance) AS distance,
           argMax(df, length(df)) AS df, argMax(idf, length(idf)) AS idf,
           if(vector_rank > 0 AND distance <= {max_distance:Float32}, {vector_weight:Float32} / (rrf_k + vector_rank), 0)
               + if(lexical_rank > 0, {lexical_weight:Float32} / (rrf_k + lexical_rank), 0)
               + if(vector_rank > 0, {vector_weight:Float32} * 1e-6 / vector_rank, 0) AS fused_score
    FROM (
        SELECT template_hash, vector_rank, distance, toUInt64(0) AS lexical_rank, toFloat64(0) AS lexical_score,
               CAST([], 'Array(UInt32)') AS matched, CAST([], 'Array(UInt64)') AS df, CAST([], 'Array(Float64)') AS idf
        FROM vector
        UNION ALL
        SELECT template_hash, toUInt64(0), toFloat32(0), lexical_rank, lexical_score, matched, df, idf FROM lexical
    )
    GROUP BY template_hash
),
-- The candidates once (a scalar is computed once per query; a CTE at every
-- reference).
(SELECT (groupArray((template_hash, vector_rank, lexical_rank, lexical_score, matched, fused_score)),
         argMax(df, length(df)), argMax(idf, length(idf))) FROM fused) AS fused_all,
fused_all.1 AS candidates,
fused_all.2 AS q_df,
fused_all.3 AS q_idf,
arrayMap(c -> c.1, candidates) AS candidate_hashes
SELECT t.template_hash AS template_hash, t.template AS template, t.service_name AS service_name,
       t.example_body AS example_body, t.distance AS distance,
       t.c.2 AS vector_rank, t.c.3 AS lexical_rank, t.c.4 AS lexical_score, t.c.5 AS matched, t.c.6 AS fused_score,
       q_df AS df, q_idf AS idf,
       s.occurrences AS occurrences, s.first_seen AS first_seen, s.last_seen AS last_seen,
       s.example_trace_ids AS example_trace_ids
FROM (
    SELECT template_hash, any(template) AS template, any(service_name) AS service_name, any(example_body) AS example_body,
           min(cosineDistance(embedding, {embedding:Array(Float32)})) AS distance,
           candidates[indexOf(candidate_hashes, template_hash)] AS c
    FROM log_templates
    WHERE has(candidate_hashes, template_hash)
    GROUP BY template_hash
) AS t
INNER JOIN (
    SELECT template_hash,
           sum(occurrences) AS occurrences,
           min(first_seen) AS first_seen,
           max(last_seen) AS last_seen,
           groupUniqArrayMerge(5)(example_trace_ids) AS example_trace_ids
    FROM log_template_stats
    WHERE has(candidate_hashes, template_hash)
      AND minute >= toStartOfMinute({since:DateTime64(9)})
      AND ({service:String} = '' OR service_name = {service:String})
    GROUP BY template_hash
) AS s USING (template_hash)
ORDER BY fused_score DESC, lexical_score DESC, distance ASC, template_hash
LIMIT {k:UInt32}
