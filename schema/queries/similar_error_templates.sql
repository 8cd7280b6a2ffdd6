-- The templates similar_error_search chose, with their text and their
-- occurrences in the window (log_template_stats: count, first and last
-- seen, up to five example trace ids); the occurrences of templates that
-- generalised into one of them (log_template_canonical) count as its own.
-- A template without occurrences in the window, or in the service asked
-- for, is left out.
-- Parameters: hashes (Array(UInt64)), since, service ('' = any).
WITH members AS (
    SELECT arrayJoin({hashes:Array(UInt64)}) AS member, member AS canonical
    UNION ALL
    SELECT template_hash AS member, canonical_hash AS canonical FROM log_template_canonical
    WHERE canonical_hash IN {hashes:Array(UInt64)}
)
SELECT t.template_hash AS template_hash, t.template AS template, t.service_name AS service_name,
       t.example_body AS example_body,
       s.occurrences AS occurrences, s.first_seen AS first_seen, s.last_seen AS last_seen,
       s.example_trace_ids AS example_trace_ids
FROM (
    SELECT template_hash, any(template) AS template, any(service_name) AS service_name, any(example_body) AS example_body
    FROM log_templates
    WHERE template_hash IN {hashes:Array(UInt64)}
    GROUP BY template_hash
) AS t
INNER JOIN (
    SELECT m.canonical AS template_hash,
           sum(s.occurrences) AS occurrences,
           min(s.first_seen) AS first_seen,
           max(s.last_seen) AS last_seen,
           groupUniqArrayMerge(5)(s.example_trace_ids) AS example_trace_ids
    FROM log_template_stats AS s
    INNER JOIN members AS m ON s.template_hash = m.member
    WHERE s.template_hash IN (SELECT member FROM members)
      AND s.minute >= toStartOfMinute({since:DateTime64(9)})
      AND ({service:String} = '' OR s.service_name = {service:String})
    GROUP BY m.canonical
) AS s USING (template_hash)
