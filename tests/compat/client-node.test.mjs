// @clickhouse/client (what HyperDX's API runs under Node) against the
// embedded engine's HTTP interface: the essentials, HTTP compression both
// ways, and streaming.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { createClient, ClickHouseError } from '@clickhouse/client';
import {
  ALICE, CLICKHOUSE_URL, DATABASE, QUIET, HYPERDX_DEFAULT_SETTINGS, ISO_NANOS, RUN, assertJSONShape,
} from './helpers.mjs';

const table = `compat_node_${RUN}`;

async function collect(stream) {
  const rows = [];
  for await (const batch of stream) rows.push(...batch);
  return rows;
}

describe('@clickhouse/client', () => {
  let client;
  before(() => {
    client = createClient({ ...QUIET, url: CLICKHOUSE_URL, database: DATABASE, max_open_connections: 4 });
  });
  after(async () => {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` });
    await client.close();
  });

  test('ping()', async () => {
    const r = await client.ping();
    assert.equal(r.success, true, r.error?.message);
    // ClickHouse's /ping answer, which the client reads.
    const res = await fetch(`${CLICKHOUSE_URL}/ping`);
    assert.equal(await res.text(), 'Ok.\n');
  });

  test('query FORMAT JSON and JSONEachRow', async () => {
    const res = await (await client.query({
      query: 'SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 2',
      format: 'JSON',
      clickhouse_settings: { ...HYPERDX_DEFAULT_SETTINGS },
    })).json();
    assertJSONShape(res, { columns: ['n', 's'] });
    assert.deepEqual(res.data, [{ n: '0', s: '0' }, { n: '1', s: '1' }]);

    const rows = await (await client.query({
      query: "SELECT toDateTime64('2026-02-03 04:05:06.7', 9, 'UTC') AS ts, toUInt64(9007199254740993) AS big",
      format: 'JSONEachRow',
      clickhouse_settings: { ...HYPERDX_DEFAULT_SETTINGS },
    })).json();
    assert.match(rows[0].ts, ISO_NANOS);
    assert.deepEqual(rows, [{ ts: '2026-02-03T04:05:06.700000000Z', big: '9007199254740993' }]);
  });

  test('query FORMAT JSONCompactEachRowWithNamesAndTypes', async () => {
    const rows = await collect((await client.query({
      query: 'SELECT 1 AS a, \'b\' AS b',
      format: 'JSONCompactEachRowWithNamesAndTypes',
    })).stream());
    assert.deepEqual(rows.map(r => r.json()), [['a', 'b'], ['UInt8', 'String'], [1, 'b']]);
  });

  test('query_params including Identifier, in the URL and as multipart', async () => {
    const params = { db: DATABASE, tbl: 'otel_logs', s: "o'k\\", n: 7 };
    const q = 'SELECT count() >= 0 AS ok, {s:String} AS s, {n:Int32} * 2 AS n FROM {db:Identifier}.{tbl:Identifier}';
    const [a] = await (await client.query({ query: q, format: 'JSONEachRow', query_params: params })).json();
    assert.deepEqual(a, { ok: 1, s: "o'k\\", n: 14 });
    const [b] = await (await client.query({ query: q, format: 'JSONEachRow', query_params: params, use_multipart_params: true })).json();
    assert.deepEqual(b, a);
    const long = 'y'.repeat(10000);
    const [c] = await (await client.query({
      query: 'SELECT length({p:String}) AS len', format: 'JSONEachRow', query_params: { p: long }, use_multipart_params_auto: true,
    })).json();
    assert.equal(Number(c.len), 10000);
  });

  test('exec DDL, insert JSONEachRow (array and stream), command', async () => {
    const { stream } = await client.exec({
      query: `CREATE TABLE ${table} (id UInt64, name String, v Float64) ENGINE = MergeTree ORDER BY id`,
    });
    stream.resume();
    await new Promise((res, rej) => stream.on('end', res).on('error', rej));

    const r = await client.insert({ table, format: 'JSONEachRow', values: [{ id: 1, name: 'a', v: 1.5 }, { id: 2, name: 'b', v: -2 }] });
    assert.equal(r.executed, true);
    assert.equal(r.summary?.written_rows, '2', `X-ClickHouse-Summary written_rows: ${JSON.stringify(r.summary)}`);

    const values = Readable.from((function* () {
      for (let i = 10; i < 3010; i++) yield { id: i, name: `n${i}`, v: i / 2 };
    })(), { objectMode: true });
    await client.insert({ table, format: 'JSONEachRow', values });

    const [{ c, s }] = await (await client.query({ query: `SELECT count() AS c, sum(id) AS s FROM ${table}`, format: 'JSONEachRow' })).json();
    assert.equal(Number(c), 3002);
    assert.equal(Number(s), 3 + (10 + 3009) * 3000 / 2);

    await client.command({ query: `ALTER TABLE ${table} DELETE WHERE id >= 10 SETTINGS mutations_sync = 1` });
    const [{ c: left }] = await (await client.query({ query: `SELECT count() AS c FROM ${table}`, format: 'JSONEachRow' })).json();
    assert.equal(Number(left), 2);
  });

  for (const codec of ['gzip', 'br']) {
    test(`compression (${codec}): compressed answers and compressed insert bodies`, async () => {
      const c = createClient({
        ...QUIET, url: CLICKHOUSE_URL, database: DATABASE,
        compression: { request: { codec }, response: { codec } },
      });
      try {
        const rs = await c.query({ query: 'SELECT number, toString(number) AS s FROM numbers(4000)', format: 'JSONEachRow' });
        assert.equal(rs.response_headers['content-encoding'], codec, 'the answer is compressed');
        const rows = await rs.json();
        assert.equal(rows.length, 4000);
        assert.deepEqual(rows[3999], { number: 3999, s: '3999' });

        const ctable = `${table}_${codec}`;
        await c.command({ query: `CREATE TABLE ${ctable} (id UInt64, s String) ENGINE = MergeTree ORDER BY id` });
        try {
          await c.insert({
            table: ctable, format: 'JSONEachRow',
            values: Array.from({ length: 2500 }, (_, i) => ({ id: i, s: 'z'.repeat(i % 50) })),
          });
          const [row] = await (await c.query({ query: `SELECT count() AS n, sum(length(s)) AS l FROM ${ctable}`, format: 'JSONEachRow' })).json();
          assert.equal(Number(row.n), 2500);
          assert.equal(Number(row.l), Array.from({ length: 2500 }, (_, i) => i % 50).reduce((a, b) => a + b, 0));
        } finally {
          await c.command({ query: `DROP TABLE IF EXISTS ${ctable}` });
        }

        // Errors still arrive readable through a compressed exchange.
        await assert.rejects(c.query({ query: 'SELECT * FROM no_such_table_compat', format: 'JSON' }),
          err => err instanceof ClickHouseError && err.code === '60');
      } finally {
        await c.close();
      }
    });
  }

  test('streaming a few thousand rows: JSONEachRow rows and raw TabSeparated', async () => {
    const rs = await client.query({
      query: 'SELECT number AS n, toString(number * 3) AS t FROM numbers(5000)',
      format: 'JSONEachRow',
    });
    let count = 0;
    let sum = 0;
    let batches = 0;
    for await (const batch of rs.stream()) {
      batches++;
      for (const row of batch) {
        const { n, t } = row.json();
        assert.equal(Number(t), n * 3);
        count++;
        sum += n;
      }
    }
    assert.equal(count, 5000);
    assert.equal(sum, 4999 * 5000 / 2);
    assert.ok(batches >= 1);

    const tsv = await (await client.query({ query: 'SELECT number FROM numbers(3000)', format: 'TabSeparated' })).text();
    assert.equal(tsv.split('\n').length, 3001);
  });

  test('errors reject with a ClickHouseError carrying code and type', async () => {
    await assert.rejects(client.query({ query: 'SELECT * FROM agentic_otel.no_such_table_compat', format: 'JSON' }), err => {
      assert.ok(err instanceof ClickHouseError, String(err));
      assert.equal(err.code, '60');
      assert.equal(err.type, 'UNKNOWN_TABLE');
      return true;
    });
    await assert.rejects(client.command({ query: 'CREATE TABLE x (' }), err => err instanceof ClickHouseError && err.code === '62');
    await assert.rejects(client.insert({ table: 'no_such_table_compat', format: 'JSONEachRow', values: [{ a: 1 }] }),
      err => err instanceof ClickHouseError && err.code === '60');
  });

  test('an error in the middle of a streamed answer rejects with the ClickHouseError', async () => {
    const rs = await client.query({
      query: "SELECT number, repeat('x', 200) AS pad, throwIf(number = 10000, 'compat node mid-stream boom') AS x FROM numbers(12000)",
      format: 'JSONEachRow',
      clickhouse_settings: { max_block_size: '1000' },
    });
    await assert.rejects(collect(rs.stream()), err => {
      assert.ok(err instanceof ClickHouseError, `want a ClickHouseError, got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.code, '395');
      assert.match(err.message, /compat node mid-stream boom/);
      return true;
    });
  });

  test('authentication: Basic, X-ClickHouse-User/Key headers, wrong password', async () => {
    // set_basic_auth_header: false sends no Authorization; the credentials go
    // in ClickHouse's own headers instead.
    const viaHeaders = ({ username, password }) => ({
      set_basic_auth_header: false, http_headers: { 'X-ClickHouse-User': username, 'X-ClickHouse-Key': password },
    });
    for (const mode of ['basic', 'headers']) {
      const opts = creds => (mode === 'basic' ? creds : viaHeaders(creds));
      const alice = createClient({ ...QUIET, url: CLICKHOUSE_URL, ...opts(ALICE) });
      try {
        const [row] = await (await alice.query({ query: 'SELECT 1 AS x', format: 'JSONEachRow' })).json();
        assert.equal(row.x, 1);
      } finally {
        await alice.close();
      }
      const bad = createClient({ ...QUIET, url: CLICKHOUSE_URL, ...opts({ username: 'alice', password: 'nope' }) });
      try {
        await assert.rejects(bad.query({ query: 'SELECT 1', format: 'JSON' }),
          err => err instanceof ClickHouseError && err.code === '516' && err.type === 'AUTHENTICATION_FAILED', mode);
      } finally {
        await bad.close();
      }
    }
  });

  test('abort via AbortController stops the statement on the server', async () => {
    const marker = `compat-node-abort-${RUN}`;
    const running = async () => {
      const [r] = await (await client.query({
        query: "SELECT count() AS c FROM system.processes WHERE query LIKE {m:String} AND query NOT LIKE '%system.processes%'",
        format: 'JSONEachRow', query_params: { m: `%${marker}%` },
      })).json();
      return Number(r.c);
    };
    const ctrl = new AbortController();
    const pending = client.query({
      query: `SELECT sleepEachRow(0.25), number, '${marker}' FROM numbers(40)`,
      format: 'JSONEachRow',
      abort_signal: ctrl.signal,
      clickhouse_settings: { max_block_size: '1' },
    }).then(rs => rs.json());
    pending.catch(() => {});
    let seen = 0;
    for (let i = 0; i < 30 && seen === 0; i++) {
      await new Promise(res => setTimeout(res, 50));
      seen = await running();
    }
    assert.equal(seen, 1, 'the statement shows in system.processes while it runs');
    ctrl.abort();
    await assert.rejects(pending, err => /abort/i.test(err.message) || err.name === 'AbortError');
    const [row] = await (await client.query({ query: 'SELECT 2 AS two', format: 'JSONEachRow' })).json();
    assert.equal(row.two, 2);
    let left = -1;
    for (let i = 0; i < 40; i++) {
      left = await running();
      if (left === 0) break;
      await new Promise(res => setTimeout(res, 100));
    }
    assert.equal(left, 0, 'the aborted statement is still running on the server 4 s later');
  });
});
