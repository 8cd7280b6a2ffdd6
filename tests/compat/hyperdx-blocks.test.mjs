// HyperDX's own queries over data that spans many blocks and parts.
//
// The engine answers a result of several blocks (several parts read in
// parallel, UNION ALL branches, GROUP BY threads) in one piece only if the
// HTTP interface formats it as one result: a JSONCompactEachRowWithNamesAndTypes
// answer with its names and types once, one JSON document. HyperDX's trace
// waterfall, filter sidebar, session event list and search page are replayed
// here, as HyperDX 2.36 renders them, over a trace of 2,400 spans, a browser
// session of 700 events and 12,000 logs, each inserted in several parts, and
// their answers are checked row for row against what was inserted.
//
// Sources read (hyperdxio/hyperdx, app 2.36): packages/app/src/
// {SessionSubpanel.tsx,DBSearchPage.tsx}, components/DBTraceWaterfallChart.tsx,
// hooks/useOffsetPaginatedQuery.tsx, packages/common-utils/src/core/metadata.ts
// (getMapKeys, getAllKeyValues: getTextIndexKeyValues, getMetadataMVKeyValues,
// getKeyValues), queryParser.ts (the Lucene filters' SQL).

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient as createNodeClient } from '@clickhouse/client';
import {
  ALICE, VIEWER, CLICKHOUSE_URL, DATABASE, HyperDXClient, QUIET, RUN,
  ch64, iso64, join, sql, tableExpr, timeFilter,
} from './helpers.mjs';

// ---------------------------------------------------------------------------
// A window of its own: a quarter hour 400 to 700 days back, where
// hyperdx.test.mjs (2 to 301 days back) never writes.

const DAY = 86400000;
const T0 = Math.floor(Date.now() / DAY) * DAY - (400 + Math.floor(Math.random() * 300)) * DAY
  + (4 + Math.floor(Math.random() * 84)) * 900000;
const START = new Date(T0);
const END = new Date(T0 + 900000 - 1);
const SERVICES = ['frontend', 'checkout', 'payment', 'inventory', 'cart'].map(s => `${s}-${RUN}`);
const TRACE_ID = `${RUN}`.padEnd(20, '0') + 'feedbeef0001';
const SESSION_ID = `blocks-${RUN}`;
const PARTS = 6;

// A deterministic stream of numbers, so failures reproduce.
let seed = 15;
const rnd = n => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };

// --- the trace: a root and 2,399 descendants -----------------------------
const SPANS = [];
for (let i = 0; i < 2400; i++) {
  const events = i % 97 === 0
    ? [{ Timestamp: ch64(T0 + 1000 + i * 10 + 3), Name: 'exception', Attributes: { 'exception.message': `boom ${i}`, 'exception.type': 'Error' } }]
    : [];
  SPANS.push({
    Timestamp: ch64(T0 + 1000 + i * 10, i % 1000),
    TraceId: TRACE_ID,
    SpanId: `s${String(i).padStart(15, '0')}`,
    ParentSpanId: i === 0 ? '' : `s${String(Math.floor((i - 1) / 3)).padStart(15, '0')}`,
    SpanName: i === 0 ? 'POST /checkout' : ['SELECT stock', 'charge card', 'GET /cart', 'publish order'][i % 4],
    SpanKind: i === 0 ? 'Server' : ['Client', 'Internal', 'Server'][i % 3],
    ServiceName: SERVICES[i % SERVICES.length],
    Duration: String(((i * 7919) % 250000 + 1) * 1000),
    StatusCode: i % 53 === 0 ? 'Error' : 'Unset',
    SpanAttributes: i % 5 === 0 ? {} : { 'http.route': `/r/${i % 11}`, [`attr.${i % 13}`]: `v${i % 17}` },
    ResourceAttributes: { 'service.name': SERVICES[i % SERVICES.length] },
    'Events.Timestamp': events.map(e => e.Timestamp),
    'Events.Name': events.map(e => e.Name),
    'Events.Attributes': events.map(e => e.Attributes),
  });
}

// --- a browser session, as HyperDX's browser SDK records it ---------------
const BROWSER = `shop-web-${RUN}`;
const SESSION = [];
for (let i = 0; i < 700; i++) {
  const at = T0 + 2000 + i * 1000 + rnd(500);
  let name; let attrs;
  if (i % 100 === 0) {
    name = 'documentLoad'; attrs = { component: 'document-load', 'http.url': `http://shop.local/page/${i}` };
  } else if (i % 70 === 1) {
    name = 'routeChange'; attrs = { component: 'user-interaction', 'prev.href': `http://shop.local/?p=${i - 1}` };
  } else if (i % 45 === 2) {
    name = 'console.error'; attrs = { component: 'error', error: 'true', 'error.object': 'Error', 'error.message': `failed ${i}` };
  } else if (i % 9 === 3) {
    name = 'console.log'; attrs = { component: 'console', level: 'info', message: `log line ${i}` };
  } else {
    const status = [200, 200, 200, 201, 404, 500][i % 6];
    name = 'HTTP GET'; attrs = { component: 'fetch', 'http.method': 'GET', 'http.url': `http://shop.local/api/${i}`, 'http.status_code': String(status) };
  }
  attrs['location.href'] = `http://shop.local/${i % 7}`;
  SESSION.push({
    Timestamp: ch64(at, i),
    TraceId: `${RUN}`.padEnd(16, '0') + String(i).padStart(16, '0'),
    SpanId: `b${String(i).padStart(15, '0')}`,
    ParentSpanId: '',
    SpanName: name,
    SpanKind: 'Internal',
    ServiceName: BROWSER,
    Duration: String(name === 'documentLoad' ? 250000000 + i : (i % 9) * 1000000),
    StatusCode: 'Unset',
    ScopeName: 'shop-web',
    SpanAttributes: attrs,
    ResourceAttributes: { 'service.name': BROWSER, 'rum.sessionId': SESSION_ID },
  });
}

// --- logs: 12,000, 300 of them in the trace --------------------------------
const SEVERITIES = [['INFO', 9], ['WARN', 13], ['ERROR', 17], ['DEBUG', 5]];
const LOGS = [];
for (let i = 0; i < 12000; i++) {
  const [sev, num] = SEVERITIES[i % 4];
  const attrs = {};
  // Each part holds keys of its own (the logs go to part i % PARTS), so that
  // a DISTINCT over the keys finds new ones in every block it reads.
  for (let k = 0; k < 1 + (i % 4); k++) attrs[`key.${(i % PARTS) * 10 + (i + k * 3) % 10}`] = `value-${(i + k) % 15}`;
  LOGS.push({
    Timestamp: ch64(T0 + 500 + Math.floor(i * 74.9), i % 1000000),
    TraceId: i % 40 === 0 ? TRACE_ID : `t${String(i).padStart(31, '0')}`,
    SpanId: i % 40 === 0 ? SPANS[i % SPANS.length].SpanId : '',
    TraceFlags: 1,
    SeverityText: sev,
    SeverityNumber: num,
    ServiceName: SERVICES[i % SERVICES.length],
    Body: `request ${i} handled by ${SERVICES[i % SERVICES.length]} with ${sev.toLowerCase()}`,
    ResourceAttributes: { 'service.name': SERVICES[i % SERVICES.length], 'k8s.namespace.name': `ns-${i % 3}` },
    ScopeName: `scope-${i % 2}`,
    LogAttributes: attrs,
  });
}

const chunks = (rows, n) => Array.from({ length: n }, (_, p) => rows.filter((_, i) => i % n === p));

// ---------------------------------------------------------------------------
// The queries, as HyperDX renders them.

const LOGS_TS = ['Timestamp', 'toStartOfFiveMinutes(Timestamp)'];
const ROW_SELECT = 'Timestamp,ServiceName as service,SeverityText as level,Body,ServiceName,toDate(Timestamp),toStartOfFiveMinutes(Timestamp)';
const ROW_ORDER = '(toStartOfFiveMinutes(Timestamp), Timestamp) DESC';
const BUCKET = 'toStartOfInterval(toDateTime(Timestamp), INTERVAL 15 second) AS `__hdx_time_bucket`';
const ms = d => sql`fromUnixTimestamp64Milli(${{ Int64: d.getTime() }})`;
const partsOverlap = table => sql`part_name IN (
      SELECT name
      FROM system.parts
      WHERE database = ${{ String: DATABASE }} AND table = ${{ String: table }}
        AND active=1
        AND ((min_time >= ${ms(START)} AND min_time <= ${ms(END)}) OR (max_time <= ${ms(END)} AND max_time >= ${ms(START)}) OR (min_time <= ${ms(START)} AND max_time >= ${ms(END)}))
    )`;

const q = {
  // DBTraceWaterfallChart, the trace source and its correlated log source.
  waterfall: () => join(' ', [
    sql`SELECT SpanName AS "Body",Timestamp AS "Timestamp",SpanId AS "SpanId",ServiceName AS "ServiceName",(Duration)/1e9 AS "Duration",ParentSpanId AS "ParentSpanId",StatusCode AS "StatusCode",SpanAttributes AS "SpanAttributes",Events AS "SpanEvents"`,
    sql`FROM ${tableExpr(DATABASE, 'otel_traces')}`,
    sql`WHERE ${timeFilter(['Timestamp'], [START, END])} AND (TraceId = '${TRACE_ID}')`,
    sql`LIMIT ${{ Int32: 50000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
  waterfallLogs: () => join(' ', [
    sql`SELECT Body AS "Body",Timestamp AS "Timestamp",SpanId AS "SpanId",ServiceName AS "ServiceName",SeverityText AS "SeverityText"`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])} AND (TraceId = '${TRACE_ID}')`,
    sql`LIMIT ${{ Int32: 50000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
  // DBSearchPage: the histogram and the row table's pages.
  histogram: () => join(' ', [
    sql`WITH (ServiceName) AS ${{ Identifier: 'service' }},(SeverityText) AS ${{ Identifier: 'level' }}`,
    sql`SELECT count(),SeverityText,${BUCKET}`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])}`,
    sql`GROUP BY SeverityText,${BUCKET}`,
    sql`ORDER BY ${BUCKET}`,
  ]),
  rows: (limit, offset) => join(' ', [
    sql`SELECT ${ROW_SELECT}`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])}`,
    sql`ORDER BY ${ROW_ORDER}`,
    sql`LIMIT ${{ Int32: limit }} OFFSET ${{ Int32: offset }}`,
  ]),
  // Metadata.getMapKeys: the key text index first, the scan otherwise.
  mapKeysTextIndex: (table, index) => sql`
        SELECT token AS key
        FROM mergeTreeTextIndex(${{ String: DATABASE }}, ${{ String: table }}, ${{ String: index }})
        WHERE ${partsOverlap(table)}
        GROUP BY key HAVING key != ''
        LIMIT ${{ Int32: 1000 }}`,
  mapKeysLowCardinality: (table, column, ts) => sql`
        WITH sampledKeys as (
          SELECT getSubcolumn(${{ Identifier: column }}, 'keys') AS keysArr
          FROM ${tableExpr(DATABASE, table)} WHERE ${timeFilter(ts, [START, END])}
          LIMIT ${{ Int32: 3e6 }}
        )
        SELECT DISTINCT lowCardinalityKeys(arrayJoin(keysArr)) as key
        FROM sampledKeys
        LIMIT ${{ Int32: 1000 }}
      `,
  // Metadata.getAllKeyValues' three strategies.
  textIndexValues: (table, column, index) => sql`
        SELECT * FROM (
          SELECT ${{ String: column }} AS key,
            groupUniqArray(${{ Int32: 20 }})(token) AS value
          FROM mergeTreeTextIndex(${{ String: DATABASE }}, ${{ String: table }}, ${{ String: index }})
          WHERE ${partsOverlap(table)}
            AND token != ''
          GROUP BY key
        )`,
  rollupValues: (rollup, keys) => sql`
          SELECT * FROM (
            SELECT ColumnIdentifier, Key, groupUniqArray(${{ Int32: 20 }})(Value) as Values
            FROM ${tableExpr(DATABASE, rollup)}
            WHERE ((ColumnIdentifier = ${{ String: 'NativeColumn' }} AND Key IN (${keys.map(k => `'${k}'`).join(',')})))
              AND Timestamp >= toStartOfFifteenMinutes(${ms(START)}) AND Timestamp <= toStartOfFifteenMinutes(${ms(END)})
              AND notEmpty(Value)
            GROUP BY ColumnIdentifier, Key
            ORDER BY ColumnIdentifier, Key
          )`,
  rawValues: (table, exprs, ts) => join(' ', [
    sql`WITH sampledData AS (SELECT ${exprs.map((e, i) => `${e} as param${i}`).join(', ')} FROM ${tableExpr(DATABASE, table)} WHERE ${timeFilter(ts, [START, END])} LIMIT ${{ Int32: 3e6 }})`,
    sql`SELECT ${exprs.map((_, i) => `groupUniqArray(20)(param${i}) AS param${i}`).join(', ')}`,
    sql`FROM sampledData`,
  ]),
  // SessionSubpanel: the session's events, "Highlighted" or "All Events",
  // the Lucene filters as queryParser writes them for a Map column.
  sessionEvents: highlighted => join(' ', [
    sql`SELECT SpanAttributes['message'] AS "body",SpanAttributes['component'] AS "component",toFloat64OrZero(toString(Duration)) * pow(10, 3) / pow(10, toInt8OrZero(toString(9))) AS "durationInMs",SpanAttributes['error.message'] AS "error.message",SpanAttributes['http.method'] AS "http.method",SpanAttributes['http.status_code'] AS "http.status_code",SpanAttributes['http.url'] AS "http.url",toString(cityHash64(TraceId, ParentSpanId, SpanId)) AS "id",SpanAttributes['location.href'] AS "location.href",ScopeName AS "otel.library.name",ParentSpanId AS "parent_span_id",StatusCode AS "severity_text",SpanId AS "span_id",SpanName AS "span_name",Timestamp AS "timestamp",TraceId AS "trace_id",CAST('span', 'String') AS "type"`,
    sql`FROM ${tableExpr(DATABASE, 'otel_traces')}`,
    sql`WHERE ${timeFilter(['Timestamp'], [START, END])} AND ((ResourceAttributes['rum.sessionId'] = '${SESSION_ID}' AND indexHint(mapContains(ResourceAttributes, 'rum.sessionId'))) AND (${highlighted
      ? "(SpanAttributes['http.status_code'] > '299' AND indexHint(mapContains(SpanAttributes, 'http.status_code'))) OR (SpanAttributes['component'] = 'error' AND indexHint(mapContains(SpanAttributes, 'component')))"
      : "(notEmpty(SpanAttributes['http.status_code']) = 1 AND indexHint(mapContains(SpanAttributes, 'http.status_code'))) OR (SpanAttributes['component'] = 'console' AND indexHint(mapContains(SpanAttributes, 'component'))) OR (SpanAttributes['component'] = 'error' AND indexHint(mapContains(SpanAttributes, 'component')))"
    } OR (SpanName = 'routeChange') OR (SpanName = 'documentLoad') OR (SpanName = 'intercom.onShow') OR (ScopeName = 'custom-action')))`,
    sql`ORDER BY Timestamp ASC`,
    sql`LIMIT ${{ Int32: 4000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
};

/** useOffsetPaginatedQuery: the stream's first two rows are names and types. */
async function rowsWithNamesAndTypes(rs) {
  const all = [];
  const stream = rs.stream();
  if (typeof stream.getReader === 'function') {
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      all.push(...value);
    }
  } else {
    for await (const batch of stream) all.push(...batch);
  }
  const [names, types, ...data] = all.map(r => r.json());
  assert.ok(Array.isArray(names) && Array.isArray(types), 'names and types come first');
  assert.equal(names.length, types.length);
  for (const row of data) {
    assert.ok(!row.every((v, i) => v === names[i]), 'the names row appears once, not again among the data');
  }
  return data.map(r => Object.fromEntries(r.map((v, i) => [names[i], v])));
}

const sorted = xs => [...xs].sort();
const uniq = xs => sorted([...new Set(xs)]);

// ---------------------------------------------------------------------------

// Background merges would fold the parts into one within seconds: they
// stay off for the tables read here while the tests run.
const MERGED = ['otel_traces', 'otel_logs'];

before(async () => {
  const client = createNodeClient({ ...QUIET, url: CLICKHOUSE_URL, database: DATABASE, ...ALICE });
  try {
    for (const table of MERGED) await client.command({ query: `SYSTEM STOP MERGES ${DATABASE}.${table}` });
    // Each insert is a part of its own.
    for (const part of chunks(SPANS, PARTS)) await client.insert({ table: 'otel_traces', format: 'JSONEachRow', values: part });
    for (const part of chunks(SESSION, 4)) await client.insert({ table: 'otel_traces', format: 'JSONEachRow', values: part });
    for (const part of chunks(LOGS, PARTS)) await client.insert({ table: 'otel_logs', format: 'JSONEachRow', values: part });
    // The data really is in several parts.
    for (const table of ['otel_traces', 'otel_logs']) {
      const rs = await client.query({
        query: `SELECT count() AS n FROM system.parts WHERE database = {db:String} AND table = {t:String} AND active
          AND min_time >= fromUnixTimestamp64Milli({s:Int64}) AND max_time <= fromUnixTimestamp64Milli({e:Int64})`,
        query_params: { db: DATABASE, t: table, s: T0, e: END.getTime() },
        format: 'JSONEachRow',
      });
      const [{ n }] = await rs.json();
      assert.ok(Number(n) >= PARTS, `${table}: ${n} parts in the window`);
    }
  } finally {
    await client.close();
  }
});

after(async () => {
  const client = createNodeClient({ ...QUIET, url: CLICKHOUSE_URL, database: DATABASE, ...ALICE });
  try {
    for (const table of MERGED) await client.command({ query: `SYSTEM START MERGES ${DATABASE}.${table}` });
  } finally {
    await client.close();
  }
});

for (const kind of ['browser', 'api']) {
  describe(`HyperDX ${kind === 'browser' ? 'UI' : 'API'} on data of many blocks and parts`, () => {
    let hdx;
    before(() => { hdx = new HyperDXClient({ kind, ...VIEWER }); });
    after(() => hdx.close());

    // Each query runs twice: as HyperDX sends it, and with its result cut
    // into blocks of 97 rows (max_block_size, as a source's query settings
    // may set it): the ordered and aggregated answers come in one block of
    // the engine's default size otherwise. The two answers are the same.
    const smallBlocks = opts => ({ ...opts, clickhouse_settings: { ...opts.clickhouse_settings, max_block_size: '97' } });
    // canon puts an answer of a query without ORDER BY in an order of its own.
    const rowsOf = async (opts, canon = rows => rows) => {
      const rows = await rowsWithNamesAndTypes(await hdx.query(opts));
      assert.deepEqual(canon(await rowsWithNamesAndTypes(await hdx.query(smallBlocks(opts)))), canon(rows), 'the same rows in blocks of 97');
      return rows;
    };
    const jsonOf = async (opts, canon = data => data) => {
      const res = await (await hdx.query(opts)).json();
      assert.equal(res.rows, res.data.length);
      const small = await (await hdx.query(smallBlocks(opts))).json();
      assert.deepEqual({ meta: small.meta, data: canon(small.data), rows: small.rows }, { meta: res.meta, data: canon(res.data), rows: res.rows },
        'the same document in blocks of 97');
      return res;
    };
    const unordered = rows => rows.map(r => JSON.stringify(r)).sort();
    const valueSets = rows => rows.map(r => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Array.isArray(v) ? sorted(v) : v])))).sort();

    test('trace waterfall: 2,400 spans and the trace\'s logs, row for row', async () => {
      const w = q.waterfall();
      const rows = await rowsOf({ query: w.sql, query_params: w.params, format: 'JSONCompactEachRowWithNamesAndTypes' }, unordered);
      assert.equal(rows.length, SPANS.length);
      const got = new Map(rows.map(r => [r.SpanId, r]));
      assert.equal(got.size, SPANS.length, 'every span once');
      for (const s of SPANS) {
        const r = got.get(s.SpanId);
        assert.ok(r, `span ${s.SpanId}`);
        assert.deepEqual(r, {
          Body: s.SpanName,
          Timestamp: s.Timestamp.replace(' ', 'T') + 'Z',
          SpanId: s.SpanId,
          ServiceName: s.ServiceName,
          Duration: Number(s.Duration) / 1e9,
          ParentSpanId: s.ParentSpanId,
          StatusCode: s.StatusCode,
          SpanAttributes: s.SpanAttributes,
          SpanEvents: s['Events.Name'].map((name, i) => ({
            Timestamp: s['Events.Timestamp'][i].replace(' ', 'T') + 'Z', Name: name, Attributes: s['Events.Attributes'][i],
          })),
        });
      }

      const wl = q.waterfallLogs();
      const logs = await rowsOf({ query: wl.sql, query_params: wl.params, format: 'JSONCompactEachRowWithNamesAndTypes' }, unordered);
      const want = LOGS.filter(l => l.TraceId === TRACE_ID);
      assert.equal(logs.length, want.length);
      assert.deepEqual(sorted(logs.map(l => `${l.Timestamp} ${l.SpanId} ${l.SeverityText} ${l.ServiceName} ${l.Body}`)),
        sorted(want.map(l => `${l.Timestamp.replace(' ', 'T')}Z ${l.SpanId} ${l.SeverityText} ${l.ServiceName} ${l.Body}`)));
    });

    test('search page: the histogram bucket by bucket, and the row table page by page', async () => {
      const h = q.histogram();
      // Ordered by bucket only: the severities of a bucket come in any order.
      const res = await jsonOf({ query: h.sql, query_params: h.params, format: 'JSON' }, unordered);
      assert.equal(res.rows, res.data.length);
      const want = new Map();
      for (const l of LOGS) {
        const at = Date.parse(l.Timestamp.replace(' ', 'T') + 'Z');
        const key = `${new Date(Math.floor(at / 15000) * 15000).toISOString().replace('.000Z', 'Z')}|${l.SeverityText}`;
        want.set(key, (want.get(key) ?? 0) + 1);
      }
      assert.deepEqual(new Map(res.data.map(r => [`${r.__hdx_time_bucket}|${r.SeverityText}`, Number(r['count()'])])), want);
      const buckets = res.data.map(r => r.__hdx_time_bucket);
      assert.deepEqual(buckets, [...buckets].sort(), 'ordered by bucket');

      const order = [...LOGS].sort((a, b) => (a.Timestamp < b.Timestamp ? 1 : -1));
      for (const [limit, offset] of [[200, 0], [200, 200], [500, 11600]]) {
        const r = q.rows(limit, offset);
        const page = await rowsOf({ query: r.sql, query_params: r.params, format: 'JSONCompactEachRowWithNamesAndTypes' });
        assert.deepEqual(page.map(row => row.Body), order.slice(offset, offset + limit).map(l => l.Body), `page at ${offset}`);
        assert.deepEqual(page.map(row => row.Timestamp), order.slice(offset, offset + limit).map(l => l.Timestamp.replace(' ', 'T') + 'Z'));
      }
    });

    test('filter sidebar: attribute keys, from the key text index and from a scan', async () => {
      const keys = uniq(LOGS.flatMap(l => Object.keys(l.LogAttributes)));
      assert.equal(keys.length, PARTS * 10);
      const ti = q.mapKeysTextIndex('otel_logs', 'idx_log_attr_key');
      const tres = await jsonOf({ query: ti.sql, query_params: ti.params, format: 'JSON' }, unordered);
      assert.equal(tres.rows, tres.data.length);
      assert.deepEqual(uniq(tres.data.map(r => r.key)), keys);
      assert.equal(tres.data.length, keys.length, 'each key once');

      const lc = q.mapKeysLowCardinality('otel_logs', 'LogAttributes', LOGS_TS);
      const lres = await jsonOf({
        query: lc.sql, query_params: lc.params, format: 'JSON',
        clickhouse_settings: { timeout_overflow_mode: 'break', max_execution_time: 15, max_rows_to_read: '0' },
      }, unordered);
      assert.equal(lres.rows, lres.data.length);
      assert.deepEqual(uniq(lres.data.map(r => r.key).filter(Boolean)), keys, 'HyperDX drops the empty key');

      const rk = q.mapKeysTextIndex('otel_logs', 'idx_res_attr_key');
      const rres = await jsonOf({ query: rk.sql, query_params: rk.params, format: 'JSON' }, unordered);
      assert.deepEqual(uniq(rres.data.map(r => r.key)), ['k8s.namespace.name', 'service.name']);
    });

    test('filter sidebar: values from the rollups, a text index and a scan', async () => {
      // The stock sources' kvRollupTable: the native columns the view rolls up.
      const mv = q.rollupValues('otel_logs_kv_rollup_15m', ['ServiceName', 'SeverityText', '__otel_materialized_k8s.namespace.name']);
      const mres = await jsonOf({
        query: mv.sql, query_params: mv.params, format: 'JSON',
        clickhouse_settings: { timeout_overflow_mode: 'break', max_execution_time: 15, max_rows_to_read: '0' },
      }, valueSets);
      assert.deepEqual(mres.data.map(r => [r.ColumnIdentifier, r.Key, sorted(r.Values)]), [
        ['NativeColumn', 'ServiceName', sorted(SERVICES)],
        ['NativeColumn', 'SeverityText', sorted(SEVERITIES.map(s => s[0]))],
        ['NativeColumn', '__otel_materialized_k8s.namespace.name', ['ns-0', 'ns-1', 'ns-2']],
      ]);
      const tv = q.rollupValues('otel_traces_kv_rollup_15m', ['SpanName', 'StatusCode']);
      const tres = await jsonOf({ query: tv.sql, query_params: tv.params, format: 'JSON' }, valueSets);
      assert.deepEqual(tres.data.map(r => [r.Key, sorted(r.Values)]), [
        ['SpanName', uniq([...SPANS, ...SESSION].map(s => s.SpanName))],
        ['StatusCode', ['Error', 'Unset']],
      ]);

      // TraceId has a text(array) index: its tokens are the values.
      const ti = q.textIndexValues('otel_logs', 'TraceId', 'idx_trace_id');
      const ires = await jsonOf({ query: ti.sql, query_params: ti.params, format: 'JSON' }, data => data.map(r => [r.key, r.value.length]));
      assert.equal(ires.data.length, 1);
      assert.equal(ires.data[0].key, 'TraceId');
      assert.equal(ires.data[0].value.length, 20);
      const traceIds = new Set(LOGS.map(l => l.TraceId));
      for (const v of ires.data[0].value) assert.ok(traceIds.has(v), v);

      // Map attributes without a key-value index: a scan of the window.
      const exprs = ["LogAttributes['key.1']", "LogAttributes['key.49']", "ResourceAttributes['k8s.namespace.name']"];
      const rv = q.rawValues('otel_logs', exprs, LOGS_TS);
      const rres = await jsonOf({
        query: rv.sql, query_params: rv.params, format: 'JSON',
        clickhouse_settings: { timeout_overflow_mode: 'break', max_execution_time: 15, max_rows_to_read: '0' },
      }, valueSets);
      assert.equal(rres.data.length, 1);
      const valuesOf = key => uniq(LOGS.map(l => l.LogAttributes[key] ?? ''));
      assert.deepEqual(sorted(rres.data[0].param0), valuesOf('key.1'));
      assert.deepEqual(sorted(rres.data[0].param1), valuesOf('key.49'));
      assert.deepEqual(sorted(rres.data[0].param2), ['ns-0', 'ns-1', 'ns-2']);
    });

    test('session event list: "Highlighted" and "All Events", row for row', async () => {
      const event = s => ({
        body: s.SpanAttributes.message ?? '',
        component: s.SpanAttributes.component ?? '',
        'error.message': s.SpanAttributes['error.message'] ?? '',
        'http.status_code': s.SpanAttributes['http.status_code'] ?? '',
        'location.href': s.SpanAttributes['location.href'],
        span_id: s.SpanId,
        span_name: s.SpanName,
        timestamp: s.Timestamp.replace(' ', 'T') + 'Z',
      });
      const highlighted = s => Number(s.SpanAttributes['http.status_code'] ?? 0) > 299 || s.SpanAttributes.component === 'error'
        || s.SpanName === 'routeChange' || s.SpanName === 'documentLoad';
      const all = s => s.SpanAttributes['http.status_code'] !== undefined || ['console', 'error'].includes(s.SpanAttributes.component)
        || s.SpanName === 'routeChange' || s.SpanName === 'documentLoad';
      for (const [tab, keep] of [['Highlighted', highlighted], ['All Events', all]]) {
        const e = q.sessionEvents(tab === 'Highlighted');
        const rows = await rowsOf({ query: e.sql, query_params: e.params, format: 'JSONCompactEachRowWithNamesAndTypes' });
        const want = SESSION.filter(keep);
        assert.ok(want.length > 100, `${tab}: ${want.length} events`);
        assert.deepEqual(rows.map(r => Object.fromEntries(Object.keys(event(SESSION[0])).map(k => [k, r[k]]))), want.map(event), tab);
        for (const r of rows) {
          assert.equal(r.type, 'span');
          assert.equal(r.severity_text, 'Unset');
          assert.match(r.id, /^\d+$/, 'cityHash64 as a string');
        }
        const loads = rows.filter(r => r.span_name === 'documentLoad');
        assert.ok(loads.every(r => r.durationInMs >= 250), 'durationInMs from Duration (ns)');
      }
    });
  });
}
