// HyperDX's own queries, sent the way HyperDX sends them, against the
// embedded engine's HTTP interface.
//
// Seeds otel_logs, otel_traces and hyperdx_sessions with a few rows in a
// random past 15-minute window (unique per run), then replays what HyperDX's
// UI does when the search page opens (COMPAT.md §3), the trace waterfall and
// the session replay, once as the browser in local mode (@clickhouse/client-web,
// credentials as URL parameters, CORS) and once as HyperDX's API
// (@clickhouse/client), asserting on the answers' shapes and values.
//
// The SQL below is written to match, placeholder for placeholder, what
// HyperDX 2.36's renderChartConfig / Metadata produce for the default
// (auto-detected) OTel sources over the contrib exporter's tables.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient as createWebClient } from '@clickhouse/client-web';
import { createClient as createNodeClient } from '@clickhouse/client';
import {
  CLICKHOUSE_URL, DATABASE, HYPERDX_ORIGIN, VIEWER, HYPERDX_DEFAULT_SETTINGS, HyperDXClient, ISO_NANOS, ISO_SECONDS, QUIET, RUN,
  assertJSONShape, ch64, iso64, join, paramName, randomWindow, readWebRows, sql, tableExpr, timeFilter,
} from './helpers.mjs';

// ---------------------------------------------------------------------------
// Seed data.

const [START, END] = randomWindow();
const T0 = START.getTime();
const SVC = `compat-checkout-${RUN}`;
const TRACE_ID = `${RUN}${'0'.repeat(20)}`.slice(0, 20) + 'abcdef123456';
const SESSION_ID = `sess-${RUN}`;

// [offset ms, extra ns, severity, body, LogAttributes]; the last two fall outside the window.
const LOGS = [
  [2100, 0, 'INFO', 'GET /api/cart 200', { 'http.method': 'GET', 'http.status_code': '200' }],
  [7500, 123456, 'ERROR', 'payment declined: gateway timeout after 3000ms', { 'error.type': 'declined', 'order.id': 'o-123' }],
  [14999, 999999, 'INFO', 'cart updated', {}],
  [31000, 0, 'WARN', 'retrying payment', { 'retry.count': '1' }],
  [31500, 0, 'INFO', 'payment accepted', {}],
  [301000, 0, 'INFO', 'order placed', { 'order.id': 'o-123' }],
  [899999, 0, 'ERROR', 'email bounced', {}],
  [900000, 0, 'INFO', 'at the end of the range (inclusive)', {}],
  [-1, 0, 'INFO', 'just before the range', { 'outside.key': 'x' }],
  [900001, 0, 'INFO', 'just after the range', { 'outside.key': 'x' }],
];
const IN_WINDOW = LOGS.filter(([off]) => off >= 0 && off <= 900000);

function logRow([off, ns, sev, body, attrs], i) {
  return {
    Timestamp: ch64(T0 + off, ns),
    TraceId: i < 2 ? TRACE_ID : '',
    SpanId: i < 2 ? `span000${i}` : '',
    TraceFlags: 1,
    SeverityText: sev,
    SeverityNumber: { INFO: 9, WARN: 13, ERROR: 17 }[sev],
    ServiceName: SVC,
    Body: body,
    ResourceAttributes: { 'service.name': SVC, 'deployment.environment.name': 'compat' },
    ScopeName: 'compat',
    LogAttributes: attrs,
  };
}

const SPANS = [
  // SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, offset ms, Duration ns, SpanAttributes, Events
  ['span0000', '', 'POST /checkout', 'Server', 'Unset', 2000, 250000000, { 'http.route': '/checkout' }, []],
  ['span0001', 'span0000', 'charge card', 'Client', 'Error', 2050, 120000000, { 'peer.service': 'payments' },
    [{ offset: 7500, Name: 'exception', Attributes: { 'exception.message': 'declined' } }]],
  ['span0002', 'span0001', 'SELECT orders', 'Internal', 'Unset', 2060, 1500000, {}, []],
];

function spanRow([SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, off, Duration, SpanAttributes, events]) {
  return {
    Timestamp: ch64(T0 + off),
    TraceId: TRACE_ID,
    SpanId, ParentSpanId, SpanName, SpanKind, StatusCode, Duration: String(Duration), SpanAttributes,
    ServiceName: SVC,
    ResourceAttributes: { 'service.name': SVC, 'rum.sessionId': SESSION_ID },
    'Events.Timestamp': events.map(e => ch64(T0 + e.offset)),
    'Events.Name': events.map(e => e.Name),
    'Events.Attributes': events.map(e => e.Attributes),
  };
}

// rrweb events as HyperDX's recorder stores them: one row per event or chunk,
// body = the event's JSON text, chunk attributes as strings.
const RRWEB = [
  { type: 4, data: { href: 'http://shop.local/', width: 1280, height: 720 }, timestamp: T0 + 3000 },
  {
    type: 2,
    data: { node: { type: 0, childNodes: [{ type: 2, tagName: 'html', attributes: { lang: 'en' }, childNodes: [{ type: 3, textContent: 'x'.repeat(3000) }] }] }, initialOffset: { top: 0, left: 0 } },
    timestamp: T0 + 4000,
  },
  { type: 3, data: { source: 2, type: 2, id: 5, x: 10, y: 20 }, timestamp: T0 + 5500 },
];

function sessionRows(sessionId, events, chunkSize = 1200) {
  const rows = [];
  for (const ev of events) {
    const body = JSON.stringify(ev);
    const chunks = [];
    for (let i = 0; i < body.length; i += chunkSize) chunks.push(body.slice(i, i + chunkSize));
    chunks.forEach((chunk, i) => rows.push({
      Timestamp: ch64(ev.timestamp),
      ServiceName: SVC,
      Body: chunk,
      ResourceAttributes: { 'service.name': SVC, 'rum.sessionId': sessionId },
      ScopeName: 'rum.rr-web',
      LogAttributes: {
        'rr-web.offset': '0', 'rr-web.event': String(ev.type),
        'rr-web.chunk': String(i + 1), 'rr-web.total-chunks': String(chunks.length),
      },
    }));
  }
  return rows;
}

// ---------------------------------------------------------------------------
// The queries, as HyperDX renders them.

const LOG_KEYS = ['toStartOfFiveMinutes(Timestamp)', 'ServiceName', 'Timestamp'].join(', ');
// optimizeTimestampValueExpression('Timestamp', primary_key) for otel_logs:
const LOGS_TS = ['Timestamp', 'toStartOfFiveMinutes(Timestamp)'];
// Auto-detected log source (packages/app/src/source.ts).
const LOG_SELECT = 'Timestamp,ServiceName as service,SeverityText as level,Body';
// DBRowTable appends the primary and partition key columns it lacks.
const ROW_SELECT = `${LOG_SELECT},ServiceName,toDate(Timestamp),toStartOfFiveMinutes(Timestamp)`;
const ROW_ORDER = '(toStartOfFiveMinutes(Timestamp), Timestamp) DESC';
const BUCKET = 'toStartOfInterval(toDateTime(Timestamp), INTERVAL 15 second) AS `__hdx_time_bucket`';

const q = {
  settings: () => sql`SELECT name, value FROM system.settings`,
  describe: table => sql`DESCRIBE ${tableExpr(DATABASE, table)}`,
  tableMetadata: table =>
    sql`SELECT * FROM system.tables WHERE database = ${{ String: DATABASE }} AND name = ${{ String: table }} LIMIT 1`,
  version: () => sql`SELECT version() AS version`,
  isCloud: () => sql`SELECT count() > 0 AS is_cloud FROM system.table_engines WHERE name = 'SharedMergeTree'`,
  skipIndices: table => sql`
        SELECT
          name,
          type,
          type_full as typeFull,
          expr as expression,
          granularity
        FROM system.data_skipping_indices
        WHERE database = ${{ String: DATABASE }} AND table = ${{ String: table }}`,
  // The search page's histogram (DBSearchPage histogramTimeChartConfig): count()
  // by severity over 15 s buckets, with the row table's aliases as WITH clauses.
  histogram: () => join(' ', [
    sql`WITH (ServiceName) AS ${{ Identifier: 'service' }},(SeverityText) AS ${{ Identifier: 'level' }}`,
    sql`SELECT count(),SeverityText,${BUCKET}`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])}`,
    sql`GROUP BY SeverityText,${BUCKET}`,
    sql`ORDER BY ${BUCKET}`,
  ]),
  rows: (limit = 200, offset = 0) => join(' ', [
    sql`SELECT ${ROW_SELECT}`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])}`,
    sql`ORDER BY ${ROW_ORDER}`,
    sql`LIMIT ${{ Int32: limit }} OFFSET ${{ Int32: offset }}`,
  ]),
  // Metadata.getMapKeys on a Map(LowCardinality(String), String) column, scan path.
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
  // Same, for other map key types.
  mapKeysArray: (table, column, ts) => sql`
        WITH sampledKeys as (
          SELECT getSubcolumn(${{ Identifier: column }}, 'keys') AS keys
          FROM ${tableExpr(DATABASE, table)} WHERE ${timeFilter(ts, [START, END])}
          LIMIT ${{ Int32: 3e6 }}
        )
        SELECT groupUniqArrayArray(${{ raw: '1000' }})(keys) as keysArr
        FROM sampledKeys`,
  // Metadata.getMapKeys text-index path (ClickHouse >= 26.3, mapKeys(col) text index).
  mapKeysTextIndex: (table, index) => sql`
        SELECT token AS key
        FROM mergeTreeTextIndex(${{ String: DATABASE }}, ${{ String: table }}, ${{ String: index }})
        WHERE part_name IN (
      SELECT name
      FROM system.parts
      WHERE database = ${{ String: DATABASE }} AND table = ${{ String: table }}
        AND active=1
        AND ((min_time >= ${sql`fromUnixTimestamp64Milli(${{ Int64: T0 }})`} AND min_time <= ${sql`fromUnixTimestamp64Milli(${{ Int64: END.getTime() }})`}) OR (max_time <= ${sql`fromUnixTimestamp64Milli(${{ Int64: END.getTime() }})`} AND max_time >= ${sql`fromUnixTimestamp64Milli(${{ Int64: T0 }})`}) OR (min_time <= ${sql`fromUnixTimestamp64Milli(${{ Int64: T0 }})`} AND max_time >= ${sql`fromUnixTimestamp64Milli(${{ Int64: END.getTime() }})`}))
    )
        GROUP BY key HAVING key != ''
        LIMIT ${{ Int32: 1000 }}`,
  // DBTraceWaterfallChart getConfig for the trace source.
  waterfall: () => join(' ', [
    sql`SELECT SpanName AS "Body",Timestamp AS "Timestamp",SpanId AS "SpanId",ServiceName AS "ServiceName",(Duration)/1e9 AS "Duration",ParentSpanId AS "ParentSpanId",StatusCode AS "StatusCode",SpanAttributes AS "SpanAttributes",Events AS "SpanEvents"`,
    sql`FROM ${tableExpr(DATABASE, 'otel_traces')}`,
    sql`WHERE ${timeFilter(['Timestamp'], [START, END])} AND (TraceId = '${TRACE_ID}')`,
    sql`LIMIT ${{ Int32: 50000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
  // ... and for the correlated log source.
  waterfallLogs: () => join(' ', [
    sql`SELECT Body AS "Body",Timestamp AS "Timestamp",SpanId AS "SpanId",ServiceName AS "ServiceName",SeverityText AS "SeverityText"`,
    sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
    sql`WHERE ${timeFilter(LOGS_TS, [START, END])} AND (TraceId = '${TRACE_ID}')`,
    sql`LIMIT ${{ Int32: 50000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
  // sessions.ts useRRWebEventStream over the session source (timestamp TimestampTime).
  replay: sessionId => join(' ', [
    sql`SELECT Body AS "b",simpleJSONExtractInt(Body, 'type') AS "t",LogAttributes['rr-web.chunk'] AS "ck",LogAttributes['rr-web.total-chunks'] AS "tcks"`,
    sql`FROM ${tableExpr(DATABASE, 'hyperdx_sessions')}`,
    sql`WHERE ${timeFilter(['TimestampTime'], [START, END])} AND (((ServiceName = '${SVC}') AND (ResourceAttributes['rum.sessionId'] = '${sessionId}')))`,
    sql`ORDER BY TimestampTime ASC`,
    sql`LIMIT ${{ Int32: 1000000 }} OFFSET ${{ Int32: 0 }}`,
  ]),
};

async function rowsWithNamesAndTypes(rs) {
  // useOffsetPaginatedQuery: the stream's first two rows are names and types.
  const all = [];
  const stream = rs.stream();
  if (typeof stream.getReader === 'function') {
    all.push(...await readWebRows(stream));
  } else {
    for await (const batch of stream) all.push(...batch);
  }
  const [names, types, ...data] = all.map(r => r.json());
  assert.equal(names.length, types.length, 'names and types rows have the same length');
  return { meta: names.map((name, i) => ({ name, type: types[i] })), data: data.map(r => Object.fromEntries(r.map((v, i) => [names[i], v]))) };
}

async function eachRow(rs) {
  const stream = rs.stream();
  const out = [];
  if (typeof stream.getReader === 'function') {
    for (const r of await readWebRows(stream)) out.push(r.json());
  } else {
    for await (const batch of stream) for (const r of batch) out.push(r.json());
  }
  return out;
}

// ---------------------------------------------------------------------------

before(async () => {
  // Seed through the clients' insert (JSONEachRow), as an exporter would.
  const webClient = createWebClient({ ...QUIET, url: CLICKHOUSE_URL, database: DATABASE });
  const nodeClient = createNodeClient({ ...QUIET, url: CLICKHOUSE_URL, database: DATABASE });
  try {
    await webClient.insert({ table: 'otel_logs', format: 'JSONEachRow', values: LOGS.map(logRow) });
    await nodeClient.insert({ table: 'otel_traces', format: 'JSONEachRow', values: SPANS.map(spanRow) });
    await nodeClient.insert({
      table: 'hyperdx_sessions', format: 'JSONEachRow',
      // Another session of the same service, interleaved, must not leak into the replay.
      values: [...sessionRows(SESSION_ID, RRWEB), ...sessionRows(`${SESSION_ID}-other`, [{ type: 4, data: { href: 'x' }, timestamp: T0 + 3500 }])],
    });
  } finally {
    await webClient.close();
    await nodeClient.close();
  }
});

test('placeholder names match HyperDX (chSql hashes)', () => {
  // From HyperDX's own tests (common-utils/src/__tests__/clickhouse.test.ts).
  assert.equal(paramName('default'), 'HYPERDX_PARAM_1544803905');
  assert.equal(paramName('otel_logs'), 'HYPERDX_PARAM_129845054');
  assert.equal(paramName(200), 'HYPERDX_PARAM_49586');
  assert.equal(paramName(0), 'HYPERDX_PARAM_48');
  assert.match(q.rows().sql, /FROM \{HYPERDX_PARAM_\d+:Identifier\}\.\{HYPERDX_PARAM_129845054:Identifier\} WHERE \(Timestamp >= fromUnixTimestamp64Milli\(\{HYPERDX_PARAM_\d+:Int64\}\)/);
});

for (const kind of ['browser', 'api']) {
  describe(`HyperDX ${kind === 'browser' ? 'UI in local mode (@clickhouse/client-web)' : 'API (@clickhouse/client)'}`, () => {
    let hdx;
    before(() => {
      // HyperDX reads as the read-only viewer (readonly=2).
      hdx = new HyperDXClient({ kind, ...VIEWER });
    });
    after(() => hdx.close());

    test('connection check: SELECT 1 FORMAT TabSeparatedRaw (testLocalConnection)', async () => {
      const rs = await hdx.query({ query: 'SELECT 1', format: 'TabSeparatedRaw' });
      assert.equal((await rs.text()).trim(), '1');
    });

    test('SELECT name, value FROM system.settings', async () => {
      const res = await (await hdx.query({ query: q.settings().sql, shouldSkipApplySettings: true })).json();
      assertJSONShape(res, { columns: ['name', 'value'] });
      assert.deepEqual(res.meta.map(m => m.type), ['String', 'String']);
      assert.ok(res.rows > 500, `${res.rows} settings`);
      const settings = new Map(res.data.map(r => [r.name, r.value]));
      for (const name of ['max_execution_time', 'allow_experimental_analyzer', 'date_time_output_format', 'output_format_json_quote_64bit_integers', 'max_rows_to_read']) {
        assert.ok(settings.has(name), `system.settings lists ${name}`);
      }
      hdx.serverSettings = settings; // later queries carry the optional settings the server knows
    });

    test('source setup: SHOW DATABASES, SHOW TABLES FROM {db:Identifier}', async () => {
      const dbs = await (await hdx.query({ query: 'SHOW DATABASES' })).json();
      assertJSONShape(dbs, { columns: ['name'] });
      assert.ok(dbs.data.some(r => r.name === DATABASE), `databases: ${dbs.data.map(r => r.name)}`);
      const t = sql`SHOW TABLES FROM ${{ Identifier: DATABASE }}`;
      const tables = await (await hdx.query({ query: t.sql, query_params: t.params })).json();
      assertJSONShape(tables, { columns: ['name'] });
      const names = tables.data.map(r => r.name);
      for (const n of ['otel_logs', 'otel_traces', 'hyperdx_sessions']) assert.ok(names.includes(n), `SHOW TABLES lists ${n}`);
    });

    test('DESCRIBE the source tables', async () => {
      const want = {
        otel_logs: { Timestamp: 'DateTime64(9)', Body: 'String', SeverityText: 'LowCardinality(String)', TraceId: 'String', SpanId: 'String', ServiceName: 'LowCardinality(String)', LogAttributes: 'Map(LowCardinality(String), String)', ResourceAttributes: 'Map(LowCardinality(String), String)', TraceFlags: 'UInt8', SeverityNumber: 'UInt8', EventName: 'String' },
        otel_traces: { Timestamp: 'DateTime64(9)', TraceId: 'String', SpanId: 'String', ParentSpanId: 'String', SpanName: 'LowCardinality(String)', SpanKind: 'LowCardinality(String)', Duration: 'UInt64', StatusCode: 'LowCardinality(String)', SpanAttributes: 'Map(LowCardinality(String), String)', 'Events.Timestamp': 'Array(DateTime64(9))', 'Links.TraceId': 'Array(String)' },
        hyperdx_sessions: { Timestamp: 'DateTime64(9)', TimestampTime: 'DateTime', Body: 'String', LogAttributes: 'Map(LowCardinality(String), String)', ResourceAttributes: 'Map(LowCardinality(String), String)' },
      };
      for (const [table, cols] of Object.entries(want)) {
        const d = q.describe(table);
        assert.match(d.sql, /^DESCRIBE \{HYPERDX_PARAM_\d+:Identifier\}\.\{HYPERDX_PARAM_\d+:Identifier\}$/);
        const res = await (await hdx.query({ query: d.sql, query_params: d.params })).json();
        assertJSONShape(res, { columns: ['name', 'type', 'default_type', 'default_expression', 'comment', 'codec_expression', 'ttl_expression'] });
        const types = Object.fromEntries(res.data.map(c => [c.name, c.type]));
        for (const [name, type] of Object.entries(cols)) assert.equal(types[name], type, `${table}.${name}`);
        if (table === 'hyperdx_sessions') {
          const tt = res.data.find(c => c.name === 'TimestampTime');
          assert.equal(tt.default_type, 'DEFAULT');
          assert.equal(tt.default_expression, 'toDateTime(Timestamp)');
        }
        if (table === 'otel_logs') {
          const mat = res.data.find(c => c.name === '__otel_materialized_k8s.pod.name');
          assert.equal(mat?.default_type, 'MATERIALIZED');
        }
      }
    });

    test('SELECT * FROM system.tables WHERE database = … AND name = … LIMIT 1', async () => {
      const t = q.tableMetadata('otel_logs');
      assert.match(t.sql, /database = \{HYPERDX_PARAM_\d+:String\} AND name = \{HYPERDX_PARAM_129845054:String\} LIMIT 1$/);
      const res = await (await hdx.query({ query: t.sql, query_params: t.params })).json();
      assertJSONShape(res);
      assert.equal(res.rows, 1);
      const m = res.data[0];
      assert.equal(m.database, DATABASE);
      assert.equal(m.name, 'otel_logs');
      assert.equal(m.engine, 'MergeTree');
      assert.equal(m.partition_key, 'toDate(Timestamp)');
      assert.equal(m.sorting_key, LOG_KEYS);
      assert.equal(m.primary_key, LOG_KEYS);
      assert.match(m.engine_full, /^MergeTree PARTITION BY toDate\(Timestamp\) (PRIMARY KEY|ORDER BY)/);
      assert.match(m.create_table_query, /^CREATE TABLE agentic_otel\.otel_logs/);
      assert.equal(typeof m.total_rows, 'string', 'Nullable(UInt64) total_rows quoted');
      assert.ok(Number(m.total_rows) >= LOGS.length);
      assert.match(m.metadata_modification_time, ISO_SECONDS);
    });

    test('SELECT version()', async () => {
      const res = await (await hdx.query({ query: q.version().sql, shouldSkipApplySettings: true })).json();
      assertJSONShape(res, { columns: ['version'] });
      const [major, minor] = res.data[0].version.split('.').map(Number);
      assert.ok(major > 26 || (major === 26 && minor >= 3), `version ${res.data[0].version}: HyperDX enables its text-index paths from 26.3`);
    });

    test("SELECT count() > 0 AS is_cloud FROM system.table_engines WHERE name = 'SharedMergeTree'", async () => {
      const res = await (await hdx.query({ query: q.isCloud().sql, shouldSkipApplySettings: true })).json();
      assertJSONShape(res, { columns: ['is_cloud'] });
      assert.equal(res.meta[0].type, 'UInt8');
      assert.deepEqual(res.data, [{ is_cloud: 0 }]);
    });

    test('system.data_skipping_indices for the table', async () => {
      const s = q.skipIndices('otel_logs');
      const res = await (await hdx.query({ query: s.sql, query_params: s.params })).json();
      assertJSONShape(res, { columns: ['name', 'type', 'typeFull', 'expression', 'granularity'] });
      const byName = Object.fromEntries(res.data.map(r => [r.name, r]));
      assert.deepEqual(Object.keys(byName).sort(), ['idx_log_attr_key', 'idx_log_attr_value', 'idx_lower_body', 'idx_res_attr_key', 'idx_res_attr_value', 'idx_scope_attr_key', 'idx_scope_attr_value', 'idx_trace_id']);
      assert.deepEqual(byName.idx_lower_body, { name: 'idx_lower_body', type: 'text', typeFull: "text(tokenizer = 'splitByNonAlpha')", expression: 'lower(Body)', granularity: byName.idx_lower_body.granularity });
      assert.equal(byName.idx_log_attr_key.expression, 'mapKeys(LogAttributes)');
      assert.equal(typeof byName.idx_trace_id.granularity, 'string', 'UInt64 granularity quoted');
      assert.ok(Number(byName.idx_trace_id.granularity) >= 1);
    });

    test('EXPLAIN ESTIMATE SELECT … (useExplainQuery, JSONEachRow; testChartConfigValidity, JSON)', async () => {
      const r = q.rows();
      const each = await (await hdx.query({ query: `EXPLAIN ESTIMATE ${r.sql}`, query_params: r.params, format: 'JSONEachRow' })).json();
      assert.equal(each.length, 1);
      assert.deepEqual(Object.keys(each[0]), ['database', 'table', 'parts', 'rows', 'marks']);
      assert.equal(each[0].database, DATABASE);
      assert.equal(each[0].table, 'otel_logs');
      assert.equal(typeof each[0].rows, 'string', 'UInt64 rows quoted');
      assert.ok(Number(each[0].rows) >= IN_WINDOW.length, `estimate ${each[0].rows}`);
      assert.ok(Number(each[0].parts) >= 1);

      const e = sql`EXPLAIN ESTIMATE ${r}`;
      const json = await (await hdx.query({ query: e.sql, query_params: e.params, format: 'JSON' })).json();
      assertJSONShape(json, { columns: ['database', 'table', 'parts', 'rows', 'marks'] });
      assert.equal(json.data[0].rows, each[0].rows);
    });

    test('histogram over toStartOfInterval(toDateTime(Timestamp), INTERVAL 15 second)', async () => {
      const h = q.histogram();
      assert.match(h.sql, /^WITH \(ServiceName\) AS \{HYPERDX_PARAM_\d+:Identifier\},\(SeverityText\) AS \{HYPERDX_PARAM_\d+:Identifier\} SELECT count\(\),SeverityText,toStartOfInterval/);
      const res = await (await hdx.query({ query: h.sql, query_params: h.params, format: 'JSON' })).json();
      assertJSONShape(res, { columns: ['count()', 'SeverityText', '__hdx_time_bucket'] });
      assert.deepEqual(res.meta.map(m => m.type), ['UInt64', 'LowCardinality(String)', 'DateTime']);
      const got = res.data.map(r => [r.__hdx_time_bucket, r.SeverityText, r['count()']]);
      for (const [bucket, , count] of got) {
        assert.match(bucket, ISO_SECONDS, 'DateTime in ISO form');
        assert.equal(typeof count, 'string', 'count() (UInt64) quoted');
      }
      const want = new Map();
      for (const [off, , sev] of IN_WINDOW) {
        const b = new Date(T0 + Math.floor(off / 15000) * 15000).toISOString().replace('.000Z', 'Z');
        want.set(`${b}|${sev}`, (want.get(`${b}|${sev}`) ?? 0) + 1);
      }
      const gotMap = new Map(got.map(([b, s, c]) => [`${b}|${s}`, Number(c)]));
      assert.deepEqual(gotMap, want);
      const buckets = got.map(([b]) => b);
      assert.deepEqual(buckets, [...buckets].sort(), 'ordered by bucket');
      assert.equal([...gotMap.values()].reduce((a, b) => a + b, 0), IN_WINDOW.length);
    });

    test('row query ordered by (toStartOfFiveMinutes(Timestamp), Timestamp) DESC (JSONCompactEachRowWithNamesAndTypes)', async () => {
      const r = q.rows();
      const { meta, data } = await rowsWithNamesAndTypes(await hdx.query({ query: r.sql, query_params: r.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
      assert.deepEqual(meta, [
        { name: 'Timestamp', type: 'DateTime64(9)' },
        { name: 'service', type: 'LowCardinality(String)' },
        { name: 'level', type: 'LowCardinality(String)' },
        { name: 'Body', type: 'String' },
        { name: 'ServiceName', type: 'LowCardinality(String)' },
        { name: 'toDate(Timestamp)', type: 'Date' },
        { name: 'toStartOfFiveMinutes(Timestamp)', type: 'DateTime' },
      ]);
      const want = [...IN_WINDOW].sort((a, b) => b[0] - a[0] || b[1] - a[1]);
      assert.deepEqual(data.map(row => row.Body), want.map(l => l[3]));
      const first = data[data.length - 1];
      assert.match(first.Timestamp, ISO_NANOS);
      assert.equal(first.Timestamp, iso64(T0 + 2100));
      assert.equal(data.find(row => row.level === 'ERROR').Timestamp, iso64(T0 + 899999));
      assert.equal(data.find(row => row.Body.startsWith('payment declined')).Timestamp, iso64(T0 + 7500, 123456));
      assert.equal(first.service, SVC);
      assert.equal(first['toDate(Timestamp)'], START.toISOString().slice(0, 10));
      assert.equal(first['toStartOfFiveMinutes(Timestamp)'], START.toISOString().replace('.000Z', 'Z'));

      // The next page.
      const p2 = q.rows(3, 3);
      const page = await rowsWithNamesAndTypes(await hdx.query({ query: p2.sql, query_params: p2.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
      assert.deepEqual(page.data.map(row => row.Body), want.slice(3, 6).map(l => l[3]));
    });

    test('search: Lucene terms over Body use the text index (hasAllTokens), fields and map attributes', async () => {
      // CustomSchemaSQLSerializerV2 with a text(splitByNonAlpha) index on lower(Body)
      // and enable_full_text_index available.
      const searches = [
        ['declined', "(hasAllTokens(lower(Body), lower('declined')))", ['payment declined: gateway timeout after 3000ms']],
        ['"gateway timeout"', "(hasAllTokens(lower(Body), lower('gateway timeout')) AND (lower(Body) LIKE lower('%gateway timeout%')))", ['payment declined: gateway timeout after 3000ms']],
        ['SeverityText:ERROR', "(SeverityText ILIKE '%ERROR%')", ['email bounced', 'payment declined: gateway timeout after 3000ms']],
        ['LogAttributes.order.id:"o-123"', "(LogAttributes['order.id'] = 'o-123')", ['order placed', 'payment declined: gateway timeout after 3000ms']],
      ];
      for (const [lucene, where, bodies] of searches) {
        const r = join(' ', [
          sql`SELECT ${ROW_SELECT}`,
          sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
          sql`WHERE ${timeFilter(LOGS_TS, [START, END])} AND (${where})`,
          sql`ORDER BY ${ROW_ORDER}`,
          sql`LIMIT ${{ Int32: 200 }} OFFSET ${{ Int32: 0 }}`,
        ]);
        const { data } = await rowsWithNamesAndTypes(await hdx.query({ query: r.sql, query_params: r.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
        assert.deepEqual(data.map(row => row.Body), bodies, lucene);
      }
    });

    test('a failing query rejects with the ClickHouse error (shown to the user)', async () => {
      const r = join(' ', [
        sql`SELECT ${ROW_SELECT}`,
        sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
        sql`WHERE ${timeFilter(LOGS_TS, [START, END])} AND (NoSuchColumn = 'x')`,
        sql`LIMIT ${{ Int32: 200 }}`,
      ]);
      await assert.rejects(hdx.query({ query: r.sql, query_params: r.params, format: 'JSONCompactEachRowWithNamesAndTypes' }), err => {
        assert.equal(err.constructor.name, 'ClickHouseError', String(err));
        assert.equal(err.code, '47');
        assert.equal(err.type, 'UNKNOWN_IDENTIFIER');
        assert.match(err.message, /NoSuchColumn/);
        return true;
      });
      if (kind === 'browser') {
        const last = hdx.requests[hdx.requests.length - 1];
        assert.ok(last.status >= 400, `status ${last.status}`);
        assert.equal(last.responseHeaders['access-control-allow-origin'], HYPERDX_ORIGIN, 'error answers carry CORS too, or the browser sees a network error');
        assert.equal(last.responseHeaders['x-clickhouse-exception-code'], '47');
      }
    });

    test('a source with query settings: SETTINGS … before the client\'s FORMAT', async () => {
      const r = join(' ', [q.rows(2, 0), sql`SETTINGS optimize_read_in_order = 0, cast_keep_nullable = 1, count_distinct_implementation = 'uniqCombined64'`]);
      const { data } = await rowsWithNamesAndTypes(await hdx.query({ query: r.sql, query_params: r.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
      assert.equal(data.length, 2);
    });

    test('long parameters go in a multipart/form-data body (use_multipart_params_auto)', async () => {
      const needle = `needle-${'n'.repeat(5000)}`;
      const r = join(' ', [
        sql`SELECT count() AS c, ${{ String: needle }} = ${{ String: needle }} AS same`,
        sql`FROM ${tableExpr(DATABASE, 'otel_logs')}`,
        sql`WHERE ${timeFilter(LOGS_TS, [START, END])} AND (Body != ${{ String: needle }})`,
      ]);
      const res = await (await hdx.query({ query: r.sql, query_params: r.params })).json();
      assert.deepEqual(res.data, [{ c: String(IN_WINDOW.length), same: 1 }]);
      if (kind === 'browser') {
        const last = hdx.requests[hdx.requests.length - 1];
        assert.match(last.headers['Content-Type'] ?? '', /^multipart\/form-data; boundary=/);
        assert.equal(last.url.searchParams.get('user'), VIEWER.username);
      }
    });

    test("map-key sampling with getSubcolumn(<map>, 'keys')", async () => {
      const want = [...new Set(IN_WINDOW.flatMap(l => Object.keys(l[4])))].sort();

      // Text-index path first (our otel_logs has a text index on mapKeys(LogAttributes),
      // and the server is >= 26.3): the keys of the parts overlapping the range.
      const ti = q.mapKeysTextIndex('otel_logs', 'idx_log_attr_key');
      const tires = await (await hdx.query({ query: ti.sql, query_params: ti.params, format: 'JSON' })).json();
      assertJSONShape(tires, { columns: ['key'] });
      assert.deepEqual(tires.meta, [{ name: 'key', type: 'String' }]);
      const tikeys = tires.data.map(r => r.key);
      for (const k of want) assert.ok(tikeys.includes(k), `text index key ${k} (got ${tikeys})`);

      // The scan HyperDX falls back to when the text index yields nothing.

      const lc = q.mapKeysLowCardinality('otel_logs', 'LogAttributes', LOGS_TS);
      const lcres = await (await hdx.query({
        query: lc.sql, query_params: lc.params, format: 'JSON',
        clickhouse_settings: { timeout_overflow_mode: 'break', max_execution_time: 15, max_rows_to_read: '0' },
      })).json();
      assertJSONShape(lcres, { columns: ['key'] });
      const keys = lcres.data.map(r => r.key).filter(Boolean);
      for (const k of want) assert.ok(keys.includes(k), `key ${k} sampled (got ${keys})`);

      const ar = q.mapKeysArray('otel_logs', 'LogAttributes', LOGS_TS);
      const arres = await (await hdx.query({
        query: ar.sql, query_params: ar.params, format: 'JSON',
        clickhouse_settings: { timeout_overflow_mode: 'break', max_execution_time: 15, max_rows_to_read: '0' },
      })).json();
      assertJSONShape(arres, { columns: ['keysArr'] });
      assert.deepEqual([...arres.data[0].keysArr].sort(), want);

      // lowCardinalityKeys returns dictionary entries, which need not cover every
      // key (ClickHouse's semantics, the same in the engine): assert the answer
      // is well-formed and holds only keys of the window's spans.
      const spans = q.mapKeysLowCardinality('otel_traces', 'SpanAttributes', ['Timestamp']);
      const sres = await (await hdx.query({ query: spans.sql, query_params: spans.params, format: 'JSON' })).json();
      assertJSONShape(sres, { columns: ['key'] });
      const spanKeys = sres.data.map(r => r.key).filter(Boolean);
      assert.ok(spanKeys.length > 0, 'some span attribute key sampled');
      for (const k of spanKeys) assert.ok(['http.route', 'peer.service'].includes(k), `unexpected span key ${k}`);
    });

    test('trace waterfall over otel_traces by TraceId, and its logs', async () => {
      const w = q.waterfall();
      const { meta, data } = await rowsWithNamesAndTypes(await hdx.query({ query: w.sql, query_params: w.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
      assert.deepEqual(meta.map(m => m.name), ['Body', 'Timestamp', 'SpanId', 'ServiceName', 'Duration', 'ParentSpanId', 'StatusCode', 'SpanAttributes', 'SpanEvents']);
      assert.equal(meta.find(m => m.name === 'Duration').type, 'Float64');
      const bySpan = Object.fromEntries(data.map(s => [s.SpanId, s]));
      assert.deepEqual(Object.keys(bySpan).sort(), ['span0000', 'span0001', 'span0002']);
      assert.equal(bySpan.span0001.ParentSpanId, 'span0000');
      assert.equal(bySpan.span0002.ParentSpanId, 'span0001');
      assert.equal(bySpan.span0000.Body, 'POST /checkout');
      assert.equal(bySpan.span0000.Duration, 0.25);
      assert.equal(bySpan.span0002.Duration, 0.0015);
      assert.equal(bySpan.span0001.StatusCode, 'Error');
      assert.equal(bySpan.span0000.Timestamp, iso64(T0 + 2000));
      assert.deepEqual(bySpan.span0000.SpanAttributes, { 'http.route': '/checkout' });
      assert.deepEqual(bySpan.span0001.SpanEvents, [{ Timestamp: iso64(T0 + 7500), Name: 'exception', Attributes: { 'exception.message': 'declined' } }]);
      assert.deepEqual(bySpan.span0000.SpanEvents, []);

      const wl = q.waterfallLogs();
      const logs = await rowsWithNamesAndTypes(await hdx.query({ query: wl.sql, query_params: wl.params, format: 'JSONCompactEachRowWithNamesAndTypes' }));
      assert.deepEqual(logs.data.map(l => [l.SpanId, l.SeverityText]).sort(), [['span0000', 'INFO'], ['span0001', 'ERROR']]);
    });

    test('session replay over hyperdx_sessions (JSONEachRow stream, chunks reassembled)', async () => {
      const r = q.replay(SESSION_ID);
      const rows = await eachRow(await hdx.query({ query: r.sql, query_params: r.params, format: 'JSONEachRow' }));
      assert.ok(rows.length >= RRWEB.length);
      for (const row of rows) assert.deepEqual(Object.keys(row), ['b', 't', 'ck', 'tcks']);
      // DOMPlayer: concatenate bodies until chunk == total chunks, then parse.
      const events = [];
      let current = '';
      for (const { b, ck, tcks } of rows) {
        current += b;
        if (!ck || ck === tcks) {
          events.push(JSON.parse(current));
          current = '';
        }
      }
      assert.deepEqual(events, RRWEB);
      assert.equal(rows.filter(r => r.tcks === '1').map(r => r.t).join(','), '4,3', 'simpleJSONExtractInt type, Int64 quoted');
      assert.ok(rows.some(r => r.tcks !== '1'), 'the full snapshot came in several chunks');
    });

    if (kind === 'browser') {
      test('the browser requests look as HyperDX sends them and answer with CORS', () => {
        assert.ok(hdx.requests.length >= 15, `${hdx.requests.length} requests`);
        for (const r of hdx.requests) {
          assert.equal(r.method, 'POST');
          if (r.status !== 200) continue; // the deliberate failure
          assert.equal(r.url.searchParams.get('user'), VIEWER.username);
          assert.equal(r.url.searchParams.get('password'), VIEWER.password);
          assert.equal(r.url.searchParams.get('add_http_cors_header'), '1');
          assert.equal(r.headers.Authorization, undefined);
          assert.equal(r.responseHeaders['access-control-allow-origin'], HYPERDX_ORIGIN, 'the page\'s origin, never *');
          if (!/^multipart\//.test(r.headers['Content-Type'] ?? '')) {
            assert.match(r.body, /\nFORMAT (JSON|JSONEachRow|JSONCompactEachRowWithNamesAndTypes|TabSeparatedRaw)$/);
          }
        }
        const withSettings = hdx.requests.filter(r => r.url.searchParams.has('allow_experimental_analyzer'));
        assert.ok(withSettings.length >= 10);
        for (const r of withSettings) {
          for (const [k, v] of Object.entries(HYPERDX_DEFAULT_SETTINGS)) assert.equal(r.url.searchParams.get(k), String(v), k);
          assert.ok(r.url.searchParams.has('max_execution_time'));
        }
        assert.ok(hdx.requests.some(r => [...r.url.searchParams.keys()].some(k => /^param_HYPERDX_PARAM_\d+$/.test(k))));
      });
    }
  });
}
