// The HyperDX connection and sources hyperdx/README.md tells users to use
// (hyperdx/local-mode.env, which hyperdx/docker-compose.yml hands to HyperDX's
// local mode): what they name exists in the collector's schema, their links
// resolve by id as local mode resolves them, and the README shows exactly
// what the env file holds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createClient } from '@clickhouse/client';
import { ALICE, CLICKHOUSE_URL, DATABASE, QUIET } from './helpers.mjs';

const root = new URL('../../hyperdx/', import.meta.url);

async function localModeEnv() {
  const vars = {};
  for (const line of (await readFile(new URL('local-mode.env', root), 'utf8')).split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const i = line.indexOf('=');
    vars[line.slice(0, i)] = JSON.parse(line.slice(i + 1));
  }
  return vars;
}

test('README shows the connection and sources local-mode.env holds', async () => {
  const env = await localModeEnv();
  assert.deepEqual(Object.keys(env).sort(), ['NEXT_PUBLIC_HDX_LOCAL_DEFAULT_CONNECTIONS', 'NEXT_PUBLIC_HDX_LOCAL_DEFAULT_SOURCES']);
  const readme = await readFile(new URL('README.md', root), 'utf8');
  const blocks = [...readme.matchAll(/```json\n([\s\S]*?)\n```/g)].map(m => JSON.parse(m[1]));
  assert.deepEqual(blocks, [env.NEXT_PUBLIC_HDX_LOCAL_DEFAULT_CONNECTIONS, env.NEXT_PUBLIC_HDX_LOCAL_DEFAULT_SOURCES]);
  const compose = await readFile(new URL('docker-compose.yml', root), 'utf8');
  assert.match(compose, /env_file: local-mode\.env/);
  assert.match(compose, /IS_LOCAL_MODE: "true"/);
  for (const port of ['8080', '8081', '8082', '8083', '8084', '8085', '8123', '4317', '4318', '4319', '8888', '13133']) {
    assert.doesNotMatch(compose, new RegExp(`"(127\\.0\\.0\\.1:)?${port}:`), `the UI must not take port ${port}`);
  }
  // The page's origin must be one the collector lets call ClickHouse.
  const published = compose.match(/"127\.0\.0\.1:(\d+):\d+"/);
  assert.ok(published, 'the UI is published on loopback');
  const config = await readFile(new URL('../otelcol-config.yaml', root), 'utf8');
  const origins = config.match(/allowed_origins: \[([^\]]*)\]/)[1];
  for (const host of ['localhost', '127.0.0.1']) {
    assert.ok(origins.includes(`"http://${host}:${published[1]}"`), `otelcol-config.yaml's chdb CORS allows http://${host}:${published[1]}`);
  }
});

test('the sources name tables and columns of the schema, and link to each other by id', async () => {
  const env = await localModeEnv();
  const [conn] = env.NEXT_PUBLIC_HDX_LOCAL_DEFAULT_CONNECTIONS;
  assert.equal(conn.host, 'http://127.0.0.1:8123', 'the collector\'s ClickHouse HTTP interface');
  assert.equal(conn.username, 'viewer', 'HyperDX reads as the read-only viewer');
  const sources = env.NEXT_PUBLIC_HDX_LOCAL_DEFAULT_SOURCES;
  const byId = new Map(sources.map(s => [s.id, s]));
  assert.equal(byId.size, sources.length, 'ids are unique');
  assert.deepEqual(sources.map(s => s.kind).sort(), ['log', 'metric', 'session', 'trace']);
  const client = createClient({ ...QUIET, url: CLICKHOUSE_URL, ...ALICE });
  try {
    for (const s of sources) {
      assert.equal(s.connection, conn.id, `${s.id}: its connection`);
      assert.equal(s.from.databaseName, DATABASE, `${s.id}: the collector's database`);
      for (const [link, kind] of [['logSourceId', 'log'], ['traceSourceId', 'trace'], ['sessionSourceId', 'session'], ['metricSourceId', 'metric']]) {
        if (s[link] === undefined) continue;
        assert.equal(byId.get(s[link])?.kind, kind, `${s.id}.${link} = ${s[link]} names a ${kind} source`);
      }
      if (s.kind === 'session') assert.ok(byId.has(s.traceSourceId), 'a session source is linked to a trace source');
      if (s.kind === 'metric') {
        for (const t of Object.values(s.metricTables)) assert.match(t, /^otel_metrics_\w+$/);
        continue;
      }
      const columns = new Set((await (await client.query({
        query: 'DESCRIBE TABLE {db:Identifier}.{t:Identifier}', query_params: { db: DATABASE, t: s.from.tableName }, format: 'JSONEachRow',
      })).json()).map(c => c.name));
      for (const [k, v] of Object.entries(s)) {
        if (k.endsWith('Expression') && k !== 'defaultTableSelectExpression') {
          assert.ok(columns.has(v), `${s.id}.${k}: ${s.from.tableName} has a column ${v}`);
        }
      }
      // The row table's columns, as HyperDX selects them.
      await client.query({ query: `SELECT ${s.defaultTableSelectExpression} FROM ${DATABASE}.${s.from.tableName} LIMIT 0` }).then(r => r.text());
      const mvs = s.metadataMaterializedViews;
      if (mvs) {
        assert.equal(mvs.granularity, '15 minute');
        for (const table of [mvs.kvRollupTable, mvs.keyRollupTable]) {
          const cols = (await (await client.query({
            query: 'DESCRIBE TABLE {db:Identifier}.{t:Identifier}', query_params: { db: DATABASE, t: table }, format: 'JSONEachRow',
          })).json()).map(c => c.name);
          for (const c of ['Timestamp', 'ColumnIdentifier', 'Key', 'count']) assert.ok(cols.includes(c), `${table}.${c}`);
        }
        // HyperDX finds the view that keeps a rollup as its doMetadataMVsAggregateColumn
        // does (CREATE MATERIALIZED VIEW <db>.<view> TO <db>.<rollup>), and its
        // source form infers the granularity from the view's SELECT.
        const views = (await (await client.query({
          query: `SELECT name, create_table_query, as_select FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView'`,
          query_params: { db: DATABASE }, format: 'JSONEachRow',
        })).json()).filter(v => v.create_table_query.startsWith(`CREATE MATERIALIZED VIEW ${DATABASE}.${v.name} TO ${DATABASE}.${mvs.kvRollupTable}`));
        assert.equal(views.length, 1, `one view keeps ${mvs.kvRollupTable}`);
        assert.match(views[0].as_select, /toStartOfFifteenMinutes\(Timestamp\)/);
        assert.match(views[0].as_select, new RegExp(`FROM ${DATABASE}\\.${s.from.tableName}\\b`), `${mvs.kvRollupTable} rolls up ${s.from.tableName}`);
        for (const col of [s.serviceNameExpression, s.severityTextExpression, s.spanNameExpression, s.statusCodeExpression].filter(Boolean)) {
          assert.match(views[0].as_select, new RegExp(`'${col}' AS Key`), `the filter sidebar reads ${col}'s values from ${mvs.kvRollupTable}`);
        }
      }
    }
  } finally {
    await client.close();
  }
});
