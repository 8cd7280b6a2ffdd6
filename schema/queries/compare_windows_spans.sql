-- What changed per operation (service, span name) between a baseline
-- [base_start, start) and a window [start, end): calls, errors, latency
-- quantiles in both, and the Mann-Whitney U test of the window's durations
-- against the baseline's (alternative 'less': the baseline, sample 0, runs
-- faster than the window, sample 1), with its U statistic (pairs in which
-- the baseline's call was the slower) so the caller can give the effect size
-- 1 - U / (n0·n1), the chance that a call of the window is slower than one of
-- the baseline. The test needs both samples: an operation with fewer than
-- two calls in either window has none (U 0, p-value 1).
-- Parameters: base_start, start, end, service ('' for all), limit.
WITH tested AS (
    SELECT ServiceName, SpanName,
           mannWhitneyUTest('less')(toFloat64(Duration), toUInt8(Timestamp >= {start:DateTime64(9)})) AS mw,
           mw.1 AS mw_u, mw.2 AS mw_p, 1 AS tested
    FROM otel_traces
    WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
      AND ({service:String} = '' OR ServiceName = {service:String})
      AND (ServiceName, SpanName) IN (
          SELECT ServiceName, SpanName FROM otel_traces
          WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
            AND ({service:String} = '' OR ServiceName = {service:String})
          GROUP BY ServiceName, SpanName
          HAVING countIf(Timestamp >= {start:DateTime64(9)}) >= 2 AND countIf(Timestamp < {start:DateTime64(9)}) >= 2)
    GROUP BY ServiceName, SpanName
)
SELECT ServiceName AS service_name, SpanName AS span_name, any(SpanKind) AS span_kind,
       countIf(Timestamp >= {start:DateTime64(9)}) AS cur,
       countIf(Timestamp < {start:DateTime64(9)}) AS base,
       countIf(Timestamp >= {start:DateTime64(9)} AND StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS cur_errors,
       countIf(Timestamp < {start:DateTime64(9)} AND StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS base_errors,
       quantileIf(0.5)(Duration, Timestamp >= {start:DateTime64(9)}) AS p50,
       quantileIf(0.5)(Duration, Timestamp < {start:DateTime64(9)}) AS base_p50,
       quantileIf(0.95)(Duration, Timestamp >= {start:DateTime64(9)}) AS p95,
       quantileIf(0.95)(Duration, Timestamp < {start:DateTime64(9)}) AS base_p95,
       any(if(tested.tested = 1, tested.mw_u, 0.)) AS mw_u, any(if(tested.tested = 1, tested.mw_p, 1.)) AS mw_p,
       minIf(Timestamp, Timestamp >= {start:DateTime64(9)}) AS first_seen,
       maxIf(Timestamp, Timestamp < {start:DateTime64(9)}) AS base_last_seen,
       groupUniqArrayIf(3)(TraceId, Timestamp >= {start:DateTime64(9)} AND StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS error_traces,
       argMaxIf(TraceId, Duration, Timestamp >= {start:DateTime64(9)}) AS slowest_trace
FROM otel_traces
LEFT JOIN tested USING (ServiceName, SpanName)
WHERE Timestamp >= {base_start:DateTime64(9)} AND Timestamp < {end:DateTime64(9)}
  AND ({service:String} = '' OR ServiceName = {service:String})
GROUP BY ServiceName, SpanName
ORDER BY cur + base DESC, service_name, span_name
LIMIT {limit:UInt32}
