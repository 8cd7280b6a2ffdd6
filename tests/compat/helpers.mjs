// Shared helpers for the compatibility tests: the server under test, a small
// re-implementation of how HyperDX builds parameterized SQL (same placeholder
// names, so the requests on the wire are the ones HyperDX sends), and
// clients configured exactly as HyperDX configures them.
//
// Sources read (hyperdxio/hyperdx, app 2.36): packages/common-utils/src/
// clickhouse/{index,browser,node}.ts, core/{metadata,renderChartConfig,utils}.ts,
// packages/app/src/{DBSearchPage.tsx,sessions.ts,DOMPlayer.tsx},
// components/{DBRowTable,DBTraceWaterfallChart}.tsx, hooks/useOffsetPaginatedQuery.tsx.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as web from '@clickhouse/client-web';
import * as node from '@clickhouse/client';

export const CLICKHOUSE_URL = (process.env.CLICKHOUSE_URL ?? '').replace(/\/+$/, '');
if (!CLICKHOUSE_URL) {
  throw new Error('set CLICKHOUSE_URL to the server under test, e.g. CLICKHOUSE_URL=http://127.0.0.1:8123 (go test ./tests/compat does it for you)');
}
export const DATABASE = process.env.CLICKHOUSE_DATABASE || 'agentic_otel';

/** A suffix unique to this run, so re-runs against one server do not collide. */
export const RUN = randomUUID().replaceAll('-', '').slice(0, 12);

/** The test server's users (internal/chdbtest). */
export const ALICE = { username: 'alice', password: 'secret' };

/** The read-only user HyperDX reads as (readonly=2), and the origin of its page. */
const [viewerName, viewerPassword] = (process.env.CLICKHOUSE_VIEWER ?? 'viewer:viewer-secret').split(':');
export const VIEWER = { username: viewerName, password: viewerPassword };
export const HYPERDX_ORIGIN = process.env.HYPERDX_ORIGIN ?? 'http://localhost:8080';

// ---------------------------------------------------------------------------
// HyperDX's parameterized SQL (common-utils clickhouse/index.ts chSql):
// {Identifier: x} becomes {HYPERDX_PARAM_<|hash(x)|>:Identifier} and the value
// goes to query_params under that name; likewise String, Int32, Int64,
// Float64. Plain strings are spliced in as SQL; {raw: x} too.

/** Java-style string hash, as HyperDX's hashCode. */
export function hashCode(str) {
  let hash = 0;
  for (let i = 0; i < str.length; i++) {
    hash = (hash << 5) - hash + str.charCodeAt(i);
    hash |= 0;
  }
  return hash;
}

export const paramName = value => `HYPERDX_PARAM_${Math.abs(hashCode(`${value}`))}`;

const PARAM_TYPES = ['Identifier', 'String', 'Int32', 'Int64', 'Float64'];

/** Tagged template building {sql, params} the way HyperDX's chSql does. */
export function sql(strings, ...values) {
  let text = '';
  const params = {};
  strings.forEach((s, i) => {
    text += s;
    if (i >= values.length) return;
    const v = values[i];
    if (v == null) return;
    if (typeof v === 'string') {
      text += v;
    } else if (Array.isArray(v)) {
      for (const part of v) {
        text += part.sql;
        Object.assign(params, part.params);
      }
    } else if ('sql' in v) {
      text += v.sql;
      Object.assign(params, v.params);
    } else if ('raw' in v) {
      text += v.raw;
    } else {
      const type = PARAM_TYPES.find(t => t in v);
      assert.ok(type, `unknown SQL value ${JSON.stringify(v)}`);
      const name = paramName(v[type]);
      text += `{${name}:${type}}`;
      params[name] = v[type];
    }
  });
  return { sql: text, params };
}

/** HyperDX's concatChSql: joins non-empty parts with a separator. */
export function join(sep, ...parts) {
  const out = { sql: '', params: {} };
  for (const p of parts.flat()) {
    if (!p || p.sql.length === 0) continue;
    out.sql += (out.sql.length > 0 ? sep : '') + p.sql;
    Object.assign(out.params, p.params);
  }
  return out;
}

/** HyperDX's tableExpr: `{db:Identifier}.{table:Identifier}`. */
export const tableExpr = (database, table) => sql`${{ Identifier: database }}.${{ Identifier: table }}`;

/**
 * HyperDX's timeFilterExpr for a timestamp expression list, e.g.
 * ['Timestamp', 'toStartOfFiveMinutes(Timestamp)'] for otel_logs (its primary
 * key starts with toStartOfFiveMinutes(Timestamp)).
 */
export function timeFilter(exprs, [start, end], { startInclusive = true, endInclusive = true } = {}) {
  const parts = exprs.map(col => {
    const m = /^(toStartOf\w+)\((.*)\)$/.exec(col);
    const s = sql`fromUnixTimestamp64Milli(${{ Int64: start.getTime() }})`;
    const e = sql`fromUnixTimestamp64Milli(${{ Int64: end.getTime() }})`;
    if (m) {
      return sql`(${col} >= ${m[1]}(${s}) AND ${col} <= ${m[1]}(${e}))`;
    }
    return sql`(${col} ${startInclusive ? '>=' : '>'} ${s} AND ${col} ${endInclusive ? '<=' : '<'} ${e})`;
  });
  return join('AND', parts);
}

// ---------------------------------------------------------------------------
// Settings HyperDX sends (BaseClickhouseClient.processClickhouseSettings).

export const HYPERDX_DEFAULT_SETTINGS = Object.freeze({
  allow_experimental_analyzer: 1,
  date_time_output_format: 'iso',
  wait_end_of_query: 0,
  cancel_http_readonly_queries_on_client_close: 1,
  output_format_json_quote_64bit_integers: 1,
});

/** Sent only when system.settings lists them. */
export const HYPERDX_OPTIONAL_SETTINGS = Object.freeze({
  query_plan_optimize_lazy_materialization: '1',
  query_plan_max_limit_for_lazy_materialization: '100000',
  use_skip_indexes_for_top_k: '1',
  query_plan_max_limit_for_top_k_optimization: '100000',
  use_skip_indexes_on_data_read: '1',
  use_skip_indexes_for_disjunctions: '1',
  enable_full_text_index: '1',
});

/**
 * A client as HyperDX builds it.
 *
 * kind 'browser': HyperDX's UI in local mode (common-utils clickhouse/browser.ts):
 * @clickhouse/client-web with a fetch that moves the Basic credentials into
 * `user`/`password` URL parameters and drops the Authorization header,
 * add_http_cors_header=1, multipart parameters when long, no keep-alive, and
 * the Origin header of HyperDX's page, as the browser sends it.
 * Every request and response is recorded in `requests`.
 *
 * kind 'api': HyperDX's API (clickhouse/node.ts): @clickhouse/client with
 * use_multipart_params_auto.
 */
export class HyperDXClient {
  constructor({ kind, username = 'default', password = '', queryTimeout = 60 }) {
    this.kind = kind;
    this.queryTimeout = queryTimeout;
    this.requests = [];
    this.serverSettings = undefined;
    if (kind === 'browser') {
      this.client = web.createClient({
        url: CLICKHOUSE_URL,
        pathname: '/',
        clickhouse_settings: { add_http_cors_header: 1 },
        username,
        password,
        use_multipart_params_auto: true,
        keep_alive: { enabled: false },
        fetch: this.#localModeFetch.bind(this),
        request_timeout: 3600000,
        application: 'hyperdx',
        // Keep the output readable: the high request_timeout makes the client
        // warn, and the tests provoke errors on purpose.
        log: { level: web.ClickHouseLogLevel.OFF },
      });
    } else {
      this.client = node.createClient({
        url: CLICKHOUSE_URL,
        username,
        password,
        request_timeout: 3600000,
        application: 'hyperdx',
        use_multipart_params_auto: true,
        log: { level: node.ClickHouseLogLevel.OFF },
      });
    }
  }

  async #localModeFetch(input, init = {}) {
    const url = new URL(input instanceof URL ? input : input instanceof Request ? input.url : input);
    const auth = init.headers?.['Authorization'];
    const [username, password] = atob(auth.substring('Bearer'.length)).split(':');
    delete init.headers?.['Authorization'];
    delete init.headers?.['authorization'];
    if (username) url.searchParams.set('user', username);
    if (password) url.searchParams.set('password', password);
    init.credentials = 'omit';
    // What the browser adds to a cross-origin request from HyperDX's page.
    init.headers = { ...init.headers, Origin: HYPERDX_ORIGIN };
    const res = await fetch(url.toString(), init);
    this.requests.push({
      url,
      method: init.method,
      headers: { ...init.headers },
      body: typeof init.body === 'string' ? init.body : null,
      status: res.status,
      responseHeaders: Object.fromEntries(res.headers.entries()),
    });
    return res;
  }

  /** HyperDX's processClickhouseSettings. */
  settingsFor(external = {}) {
    const s = { ...HYPERDX_DEFAULT_SETTINGS };
    if (external.max_execution_time === undefined && this.queryTimeout > 0) {
      s.max_execution_time = this.queryTimeout;
    }
    if (this.serverSettings) {
      for (const [name, value] of Object.entries(HYPERDX_OPTIONAL_SETTINGS)) {
        if (this.serverSettings.has(name)) s[name] = value;
      }
    }
    return { ...s, ...external };
  }

  /** HyperDX's BaseClickhouseClient.query (__query). */
  query({ query, query_params = {}, format = 'JSON', clickhouse_settings, abort_signal, shouldSkipApplySettings = false, query_id }) {
    return this.client.query({
      query,
      query_params,
      format,
      abort_signal,
      clickhouse_settings: shouldSkipApplySettings ? undefined : this.settingsFor(clickhouse_settings),
      query_id,
    });
  }

  close() {
    return this.client.close();
  }
}

// ---------------------------------------------------------------------------
// Assertions shared by the tests.

/** A FORMAT JSON answer: meta, data, rows, statistics, as ClickHouse writes it. */
export function assertJSONShape(res, { columns } = {}) {
  assert.ok(Array.isArray(res.meta), 'JSON answer has meta[]');
  assert.ok(Array.isArray(res.data), 'JSON answer has data[]');
  assert.equal(res.rows, res.data.length, 'JSON answer rows == data.length');
  assert.equal(typeof res.statistics, 'object', 'JSON answer has statistics');
  for (const k of ['elapsed', 'rows_read', 'bytes_read']) {
    assert.equal(typeof res.statistics[k], 'number', `statistics.${k} is a number`);
  }
  for (const m of res.meta) {
    assert.equal(typeof m.name, 'string');
    assert.equal(typeof m.type, 'string');
  }
  if (columns) {
    assert.deepEqual(res.meta.map(m => m.name), columns);
  }
}

/** DateTime64 with date_time_output_format=iso: 2026-01-02T03:04:05.123456789Z */
export const ISO_NANOS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;
export const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** A DateTime64(9) literal for inserts (server time zone is UTC in the tests' expectations). */
export function ch64(ms, nanosExtra = 0) {
  const d = new Date(ms);
  const frac = String(d.getUTCMilliseconds()).padStart(3, '0') + String(nanosExtra).padStart(6, '0');
  return d.toISOString().slice(0, 19).replace('T', ' ') + '.' + frac;
}

/** The same instant as date_time_output_format=iso writes a DateTime64(9). */
export function iso64(ms, nanosExtra = 0) {
  return ch64(ms, nanosExtra).replace(' ', 'T') + 'Z';
}

/**
 * A 15-minute window at a random quarter hour of a random past day (01:00 to
 * 22:00 UTC, so it never crosses midnight), unique enough that runs against
 * a long-lived server do not see each other's rows.
 */
export function randomWindow() {
  const day = 86400000;
  const today = Math.floor(Date.now() / day) * day;
  const daysAgo = 2 + Math.floor(Math.random() * 300);
  const quarter = 4 + Math.floor(Math.random() * 84); // 01:00 .. 21:45
  const start = today - daysAgo * day + quarter * 900000;
  return [new Date(start), new Date(start + 900000)];
}

/** Reads a web ReadableStream of row batches into an array of rows. */
export async function readWebRows(stream) {
  const out = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(...value);
  }
}

/** Client option silencing the clients' own logging of (expected) errors. */
export const QUIET = Object.freeze({ log: { level: 127 /* ClickHouseLogLevel.OFF */ } });
