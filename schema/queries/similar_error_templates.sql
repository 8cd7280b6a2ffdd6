-- The templates similar_error_search chose, with their text and their
-- occurrences in the window (log_template_stats: count, first and last
-- seen, up to five example trace ids). A template without occurrences in
-- the window, or in the service asked for, is left out.
-- Parameters: hashes (Array(UInt64)), since, service ('' = any).
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
    SELECT template_hash,
           sum(occurrences) AS occurrences,
           min(first_seen) AS first_seen,
           max(last_seen) AS last_seen,
           groupUniqArrayMerge(5)(example_trace_ids) AS example_trace_ids
    FROM log_template_stats
    WHERE template_hash IN {hashes:Array(UInt64)}
      AND minute >= toStartOfMinute({since:DateTime64(9)})
      AND ({service:String} = '' OR service_name = {service:String})
    GROUP BY template_hash
) AS s USING (template_hash)
