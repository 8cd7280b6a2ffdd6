-- Which attribute values are over-represented among bad traces (Honeycomb's
-- BubbleUp, ClickStack's event_deltas): every resource and span attribute
-- of the window's traces, each value counted in bad and in good traces.
-- A trace is failed when one of its spans has an error status, slow when its
-- root span took longer than the baseline's 95th percentile for the same
-- root operation (the window's own when the baseline has fewer than 20 of
-- them); bad is 'errors', 'slow' or 'either'. A trace carries a value once
-- however many of its spans carry it. Resource attribute keys are prefixed
-- 'resource.'. Keys with more than max_values distinct values in the window
-- (ids, URLs, timestamps) are left out. The row with an empty key counts
-- every trace: the totals the shares are taken of.
-- Parameters: base_start, start, end, service ('' for all), bad, max_values, limit.
WITH
    roots AS (
        SELECT TraceId, SpanName AS root_op, Duration AS root_dur, Timestamp >= {start:DateTime64(9)} AS in_window
        FROM otel_traces
        WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)} AND ParentSpanId = ''
    ),
    thresholds AS (
        SELECT root_op,
               if(countIf(NOT in_window) >= 20, quantileIf(0.95)(root_dur, NOT in_window), quantileIf(0.95)(root_dur, in_window)) AS slow_at
        FROM roots GROUP BY root_op
    ),
    traces AS (
        SELECT TraceId,
               max(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS failed,
               arrayPushBack(groupUniqArrayArray(arrayConcat(
                   arrayMap((k, v) -> (concat('resource.', k), v), mapKeys(ResourceAttributes), mapValues(ResourceAttributes)),
                   arrayMap((k, v) -> (toString(k), v), mapKeys(SpanAttributes), mapValues(SpanAttributes)))), ('', '')) AS kvs
        FROM otel_traces
        WHERE Timestamp >= {start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
        GROUP BY TraceId
        HAVING {service:String} = '' OR has(groupUniqArray(ServiceName), {service:String})
    ),
    labelled AS (
        SELECT t.kvs AS kvs, t.failed AS failed,
               r.root_dur > th.slow_at AND th.slow_at > 0 AS slow,
               multiIf({bad:String} = 'errors', failed, {bad:String} = 'slow', slow, failed OR slow) AS bad
        FROM traces AS t
        LEFT JOIN (SELECT TraceId, root_op, root_dur FROM roots WHERE in_window) AS r USING (TraceId)
        LEFT JOIN thresholds AS th ON th.root_op = r.root_op
    )
SELECT key, value, bad_with, good_with, key_values
FROM (
    SELECT kv.1 AS key, kv.2 AS value, countIf(bad) AS bad_with, countIf(NOT bad) AS good_with,
           count() OVER (PARTITION BY key) AS key_values
    FROM labelled
    ARRAY JOIN kvs AS kv
    GROUP BY key, value
)
WHERE key = '' OR key_values <= {max_values:UInt32}
ORDER BY key = '' DESC, bad_with + good_with DESC, key, value
LIMIT {limit:UInt32}
