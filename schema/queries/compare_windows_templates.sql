-- What changed in the error templates between a baseline and a window
-- (ClickStack's emerging_signals): each template's occurrences in both,
-- counted per minute by log_template_stats and read as the template each
-- hash belongs to now (log_template_canonical). The caller tests each
-- change (new, vanished, spiking) against the lengths of the two windows.
-- Windows are whole minutes: [base_start, start) and [start, end).
-- Parameters: base_start, start, end, service ('' for all), limit.
SELECT s.template_hash AS template_hash, s.service_name AS service_name, s.cur AS cur, s.base AS base,
       s.first_seen AS first_seen, s.last_seen AS last_seen, s.traces AS traces,
       ifNull(t.template, '') AS template, t.template_first_seen AS template_first_seen
FROM (
    SELECT ifNull(nullIf(a.canonical_hash, 0), st.template_hash) AS template_hash, service_name,
           sumIf(occurrences, minute >= toStartOfMinute({start:DateTime64(9)})) AS cur,
           sumIf(occurrences, minute < toStartOfMinute({start:DateTime64(9)})) AS base,
           minIf(first_seen, minute >= toStartOfMinute({start:DateTime64(9)})) AS first_seen,
           max(last_seen) AS last_seen,
           groupUniqArrayMergeIf(5)(example_trace_ids, minute >= toStartOfMinute({start:DateTime64(9)})) AS traces
    FROM log_template_stats AS st
    LEFT JOIN log_template_canonical AS a ON a.template_hash = st.template_hash
    WHERE minute >= toStartOfMinute({base_start:DateTime64(9)}) AND minute < {end:DateTime64(9)}
      AND ({service:String} = '' OR service_name = {service:String})
    GROUP BY template_hash, service_name
) AS s
LEFT JOIN (
    SELECT template_hash, any(template) AS template, min(first_seen) AS template_first_seen
    FROM log_templates GROUP BY template_hash
) AS t USING (template_hash)
ORDER BY greatest(s.cur, s.base) DESC, s.template_hash, s.service_name
LIMIT {limit:UInt32}
