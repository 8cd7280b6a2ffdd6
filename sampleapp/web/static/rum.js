// The shop's browser telemetry ("real user monitoring"), no framework:
//
//  * Session recording: rrweb's record({emit}) with every input value
//    masked; the events go in JSON batches to the collector's rrweb receiver
//    (<rrwebEndpoint>/rrweb) every few seconds, before the shop navigates,
//    and with sendBeacon when the page goes away. The session id lives in
//    sessionStorage, so one tab's pages are one session.
//  * Browser spans: every call to the shop's API carries a W3C traceparent
//    made here (random trace and span id, sampled), so the backend's trace
//    continues the browser's. Each call becomes a CLIENT span, sent as
//    OTLP/HTTP JSON to <rrwebEndpoint>/v1/traces with the resource
//    attributes service.name and rum.sessionId (HyperDX lists sessions from
//    such spans), and its trace id rides along in the next rrweb batch
//    (trace_ids), so a failing backend trace leads to its session; the
//    session id goes with each call as W3C baggage (session.id). Each
//    recorded page also sends a "record init" span, as HyperDX's recorder
//    does: HyperDX's session list shows only sessions that have one.
//  * The page's story, as HyperDX's browser SDK (@hyperdx/otel-web) tells it
//    and HyperDX's session event list reads it (SpanName and SpanAttributes
//    component, http.status_code, message, error.message, location.href): a
//    "documentLoad" span per page load (component document-load, with the
//    navigation timings as events), a "routeChange" span when the page
//    changes its URL in place (history.pushState/replaceState, hash; prev.href),
//    the API calls' fetch spans with the attributes of both HTTP semantic
//    conventions (http.method, http.url, http.status_code and their newer
//    names), console.log/info/warn/debug as "console.<level>" spans
//    (component console, level, message) and console.error, uncaught errors
//    and unhandled rejections as error spans (component error, error.object,
//    error.message, error.stack, and an "exception" event). Every span
//    carries location.href.
//
// window.SHOP_CONFIG comes from the server (/static/config.js). Without an
// rrweb endpoint nothing is sent; without rrweb (not installed) the spans
// are still sent. The API: window.shopRum.{fetch, flush, navigate,
// recordedEvents, sessionId, userId, recording, tracing}.
(function () {
  'use strict';
  const cfg = window.SHOP_CONFIG || {};
  const service = cfg.service || 'shop-web';
  const endpoint = String(cfg.rrwebEndpoint || '').replace(/\/+$/, '');
  const tracing = endpoint !== '';
  const recording = Boolean(cfg.recording && tracing && window.rrweb && typeof window.rrweb.record === 'function');
  const interval = cfg.flushIntervalMs > 0 ? cfg.flushIntervalMs : 3000;
  const MAX_EVENTS = 20000;
  const MAX_SPANS = 2000;
  const MAX_TRACE_IDS = 1000;
  const BEACON_BYTES = 60000; // keepalive requests share a 64 KiB budget

  function randomHex(bytes) {
    const b = new Uint8Array(bytes);
    do { crypto.getRandomValues(b); } while (b.every((x) => x === 0));
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }
  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const h = randomHex(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  function stored(storage, key, make) {
    try {
      let v = storage.getItem(key);
      if (!v) { v = make(); storage.setItem(key, v); }
      return v;
    } catch (e) { // storage disabled: one id per page
      return make();
    }
  }
  const sessionId = stored(window.sessionStorage, 'shop.sessionId', uuid);
  // An anonymous visitor id, kept across sessions (no account, no PII).
  const userId = stored(window.localStorage, 'shop.visitorId', () => 'visitor-' + randomHex(8));

  let warned = false;
  function warn(what, err) {
    if (warned) return; // once per page: a collector that is down is not the shop's problem
    warned = true;
    console.warn(`shop telemetry: ${what}:`, err && err.message ? err.message : err);
  }

  // --- browser spans -------------------------------------------------------
  let spans = []; // {scope, span}
  function addSpan(scope, span) {
    if (!tracing) return;
    if (!span.attributes.some((a) => a.key === 'location.href')) span.attributes.push(str('location.href', location.href));
    spans.push({ scope, span });
    if (spans.length > MAX_SPANS) spans.splice(0, spans.length - MAX_SPANS);
  }
  function nowNanos() {
    const ms = performance.timeOrigin + performance.now();
    const whole = Math.floor(ms);
    return BigInt(whole) * 1000000n + BigInt(Math.round((ms - whole) * 1e6));
  }
  const str = (key, value) => ({ key, value: { stringValue: String(value) } });
  const int = (key, value) => ({ key, value: { intValue: String(value) } });
  const bool = (key, value) => ({ key, value: { boolValue: Boolean(value) } });
  const msNanos = (ms) => {
    const whole = Math.floor(ms);
    return String(BigInt(whole) * 1000000n + BigInt(Math.round((ms - whole) * 1e6)));
  };
  function otlpTraces(batch) {
    return JSON.stringify({
      resourceSpans: [{
        resource: {
          attributes: [
            str('service.name', service),
            str('rum.sessionId', sessionId),
            str('user.id', userId),
            str('user_agent.original', navigator.userAgent),
            str('telemetry.sdk.name', 'shop-web-rum'),
            str('telemetry.sdk.language', 'webjs'),
          ],
        },
        scopeSpans: ['fetch', 'rr-web', 'document-load', 'user-interaction', 'console', 'errors'].map((scope) => ({
          scope: { name: `shop-web.${scope}`, version: '1.0.0' },
          spans: batch.filter((b) => b.scope === scope).map((b) => b.span),
        })).filter((ss) => ss.spans.length > 0),
      }],
    });
  }

  // --- session recording ---------------------------------------------------
  let events = [];
  let traceIds = []; // of API calls not yet sent with an rrweb batch
  let emitted = 0; // events recorded on this page
  if (recording) {
    try {
      window.rrweb.record({
        emit(event) {
          emitted++;
          events.push(event);
          if (events.length > MAX_EVENTS) {
            // The receiver has been unreachable for long: start over from a
            // fresh full snapshot rather than keep a stream nobody can replay.
            events = [];
            setTimeout(() => { try { window.rrweb.record.takeFullSnapshot(true); } catch (e) { /* recording stopped */ } }, 0);
          }
        },
        maskAllInputs: true,
      });
      // The span HyperDX's recorder sends when it starts recording a page:
      // HyperDX lists a session only if it has one (or user interactions).
      const now = String(nowNanos());
      addSpan('rr-web', {
        traceId: randomHex(16), spanId: randomHex(8), name: 'record init', kind: 1,
        startTimeUnixNano: now, endTimeUnixNano: now, attributes: [str('location.href', location.href)], status: {},
      });
    } catch (e) {
      warn('rrweb could not record', e);
    }
  }
  function rrwebBatch(evs, ids) {
    const b = { session_id: sessionId, service_name: service, user_id: userId, user_agent: navigator.userAgent, events: evs };
    if (ids.length > 0) b.trace_ids = ids;
    return JSON.stringify(b);
  }

  // fetch for the shop's own API: a traceparent on the request and a CLIENT
  // span for the call. route is the path template ("/products/{id}").
  async function tracedFetch(method, path, { body, route } = {}) {
    const traceId = randomHex(16);
    const spanId = randomHex(8);
    const url = new URL(path, location.href);
    route = route || url.pathname;
    // The session rides along as W3C baggage: the shop's edge records it on
    // its span, so the backend sees one visitor's requests together.
    const headers = { traceparent: `00-${traceId}-${spanId}-01`, baggage: `session.id=${encodeURIComponent(sessionId)}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const start = nowNanos();
    let status = 0;
    let failure = null;
    try {
      const res = await fetch(url.href, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      status = res.status;
      return res;
    } catch (e) {
      failure = e;
      throw e;
    } finally {
      const attributes = [
        str('http.request.method', method), str('url.full', url.href), str('url.path', url.pathname),
        str('http.method', method), str('http.url', url.href),
        str('http.route', route), str('component', 'fetch'), str('location.href', location.href),
      ];
      if (status) attributes.push(int('http.response.status_code', status), int('http.status_code', status));
      let spanStatus = {};
      if (failure) {
        attributes.push(str('error.type', failure.name || 'Error'));
        spanStatus = { code: 2, message: String(failure.message || failure) };
      } else if (status >= 500) {
        attributes.push(str('error.type', String(status)));
        spanStatus = { code: 2, message: `HTTP ${status}` };
      }
      if (tracing) {
        addSpan('fetch', {
          traceId, spanId, name: `HTTP ${method} ${route}`, kind: 3,
          startTimeUnixNano: String(start), endTimeUnixNano: String(nowNanos()),
          attributes, status: spanStatus,
        });
        traceIds.push(traceId);
        if (traceIds.length > MAX_TRACE_IDS) traceIds.splice(0, traceIds.length - MAX_TRACE_IDS);
      }
    }
  }

  // --- the page's story, as HyperDX's browser SDK tells it ------------------
  function pointSpan(scope, name, attributes, events) {
    const now = String(nowNanos());
    addSpan(scope, {
      traceId: randomHex(16), spanId: randomHex(8), name, kind: 1,
      startTimeUnixNano: now, endTimeUnixNano: now, attributes, events: events || [], status: {},
    });
  }
  const limit = (s, n) => (s.length > n ? s.slice(0, n) : s);
  function describe(arg) {
    if (typeof arg === 'string') return arg;
    if (arg instanceof Error) return String(arg.message || arg);
    try { return JSON.stringify(arg); } catch (e) { return String(arg); }
  }

  // documentLoad: from the navigation's fetch to the end of its load event.
  function documentLoad() {
    const nav = performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
    if (!nav || !(nav.loadEventEnd > 0)) return;
    const at = (ms) => msNanos(performance.timeOrigin + ms);
    const attributes = [
      str('component', 'document-load'), str('http.url', location.href), str('http.user_agent', navigator.userAgent),
    ];
    if (document.referrer) attributes.push(str('document.referrer', document.referrer));
    if (window.screen) attributes.push(str('screen.xy', `${screen.width}x${screen.height}`));
    const events = ['fetchStart', 'domInteractive', 'domContentLoadedEventStart', 'domContentLoadedEventEnd',
      'domComplete', 'loadEventStart', 'loadEventEnd'].filter((n) => nav[n] > 0).map((n) => ({ name: n, timeUnixNano: at(nav[n]) }));
    addSpan('document-load', {
      traceId: randomHex(16), spanId: randomHex(8), name: 'documentLoad', kind: 1,
      startTimeUnixNano: at(nav.fetchStart), endTimeUnixNano: at(nav.loadEventEnd), attributes, events, status: {},
    });
  }

  // routeChange: the page changed its URL without loading another.
  function routeChange(prev) {
    pointSpan('user-interaction', 'routeChange', [str('component', 'user-interaction'), str('prev.href', prev)]);
  }
  for (const m of ['pushState', 'replaceState']) {
    const original = history[m];
    history[m] = function (...args) {
      const prev = location.href;
      const result = original.apply(this, args);
      if (location.href !== prev) routeChange(prev);
      return result;
    };
  }
  addEventListener('hashchange', (ev) => routeChange(ev.oldURL));

  // Console output and errors.
  function consoleSpan(type, args) {
    const level = type === 'log' ? 'info' : type;
    pointSpan('console', `console.${type}`, [str('component', 'console'), str('level', level), str('message', args.map(describe).join(' '))]);
  }
  function errorSpan(source, err, message) {
    const isError = err instanceof Error;
    message = limit(message || (isError ? String(err.message || err) : describe(err)), 1024);
    if (!message) return;
    const type = isError ? (err.name || (err.constructor && err.constructor.name) || 'Error') : 'String';
    const attributes = [str('component', 'error'), bool('error', true), str('error.object', type), str('error.message', message)];
    const exception = [str('exception.type', type), str('exception.message', message)];
    if (isError && err.stack) {
      attributes.push(str('error.stack', limit(String(err.stack), 4096)));
      exception.push(str('exception.stacktrace', limit(String(err.stack), 4096)));
    }
    pointSpan('errors', source, attributes, [{ name: 'exception', timeUnixNano: String(nowNanos()), attributes: exception }]);
  }
  for (const type of ['log', 'info', 'warn', 'debug']) {
    const original = console[type];
    console[type] = function (...args) {
      try { consoleSpan(type, args); } catch (e) { /* never let telemetry break the page */ }
      return original.apply(this, args);
    };
  }
  const consoleError = console.error;
  console.error = function (...args) {
    try {
      const err = args.find((a) => a instanceof Error);
      errorSpan('console.error', err || args.map(describe).join(' '), err ? args.map(describe).join(' ') : undefined);
    } catch (e) { /* never let telemetry break the page */ }
    return consoleError.apply(this, args);
  };
  addEventListener('error', (ev) => errorSpan('onerror', ev.error || ev.message));
  addEventListener('unhandledrejection', (ev) => errorSpan('unhandledrejection', ev.reason));
  if (document.readyState === 'complete') {
    setTimeout(documentLoad, 0);
  } else {
    addEventListener('load', () => setTimeout(documentLoad, 0));
  }

  // --- sending -------------------------------------------------------------
  const retryable = (status) => status === 429 || status >= 500;
  // After a failed send, wait for the next interval before trying again
  // (what is buffered then goes with the page's beacon, if it leaves).
  let backoffUntil = 0;
  const backingOff = () => Date.now() < backoffUntil;

  async function sendRecording() {
    if (!recording || events.length === 0 || backingOff()) return;
    const evs = events;
    const ids = traceIds;
    events = [];
    traceIds = [];
    try {
      const res = await fetch(endpoint + '/rrweb', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: rrwebBatch(evs, ids),
      });
      if (!res.ok) {
        if (retryable(res.status)) throw new Error(`HTTP ${res.status}`);
        warn('the rrweb receiver refused a batch', new Error(`HTTP ${res.status}: ${await res.text()}`));
      }
    } catch (e) {
      events = evs.concat(events);
      traceIds = ids.concat(traceIds);
      backoffUntil = Date.now() + interval;
      warn('could not send the session recording', e);
    }
  }

  async function sendSpans() {
    if (!tracing || spans.length === 0 || backingOff()) return;
    const batch = spans;
    spans = [];
    try {
      const res = await fetch(endpoint + '/v1/traces', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: otlpTraces(batch),
      });
      if (!res.ok) {
        if (retryable(res.status)) throw new Error(`HTTP ${res.status}`);
        warn('the receiver refused browser spans', new Error(`HTTP ${res.status}: ${await res.text()}`));
      }
    } catch (e) {
      spans = batch.concat(spans).slice(-MAX_SPANS);
      backoffUntil = Date.now() + interval;
      warn('could not send browser spans', e);
    }
  }

  // flush sends what is buffered now; calls queue behind each other and
  // the promise never rejects.
  let chain = Promise.resolve();
  let sending = 0; // flushes queued or under way
  function flush() {
    sending++;
    chain = chain.then(() => Promise.all([sendSpans(), sendRecording()])).catch(() => {}).finally(() => { sending--; });
    return chain;
  }
  // pending: something is buffered or on its way (leaving the page now
  // would abort the request).
  const pending = () => sending > 0 || (!backingOff() && ((recording && events.length > 0) || (tracing && spans.length > 0)));

  // beacon hands what is buffered to the browser as the page goes away.
  function beacon() {
    if (recording && events.length > 0) {
      let part = [];
      let size = 0;
      const send = () => {
        if (part.length === 0) return true;
        const ok = navigator.sendBeacon(endpoint + '/rrweb', rrwebBatch(part, traceIds));
        if (ok) traceIds = [];
        part = [];
        size = 0;
        return ok;
      };
      for (const e of events) {
        const n = JSON.stringify(e).length;
        if (size + n > BEACON_BYTES && !send()) break;
        part.push(e);
        size += n;
      }
      send();
      events = [];
    }
    if (tracing && spans.length > 0) {
      try {
        fetch(endpoint + '/v1/traces', {
          method: 'POST', keepalive: true, headers: { 'Content-Type': 'application/json' }, body: otlpTraces(spans),
        }).catch(() => {});
      } catch (e) { /* over the keepalive budget */ }
      spans = [];
    }
  }

  // navigate leaves the page once what it recorded is sent (waiting at
  // most 1.5 s, so a collector that is down does not hold the shopper up).
  async function navigate(href) {
    const deadline = Date.now() + 1500;
    for (let round = 0; round < 3 && pending() && Date.now() < deadline; round++) {
      await Promise.race([flush(), new Promise((r) => setTimeout(r, deadline - Date.now()))]);
    }
    location.href = href;
  }

  if (tracing) {
    setInterval(() => { flush(); }, interval);
    setTimeout(() => { flush(); }, 500); // the first full snapshot, early
    addEventListener('pagehide', () => {
      beacon();
      try { // the session's event count, for recordedEvents()
        sessionStorage.setItem('shop.recordedEvents', String(Number(sessionStorage.getItem('shop.recordedEvents') || 0) + emitted));
        emitted = 0;
      } catch (e) { /* storage disabled */ }
    });
    document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') beacon(); });
    // Same-origin links go through navigate, so the page's last events are
    // delivered by an ordinary request rather than a size-limited beacon.
    document.addEventListener('click', (ev) => {
      if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
      const a = ev.target instanceof Element ? ev.target.closest('a[href]') : null;
      if (!a || (a.target && a.target !== '_self') || a.hasAttribute('download')) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || !pending()) return;
      if (url.pathname === location.pathname && url.search === location.search && url.hash !== '') return;
      ev.preventDefault();
      navigate(url.href);
    });
  }

  // recordedEvents counts the rrweb events this tab recorded in the session.
  function recordedEvents() {
    let before = 0;
    try { before = Number(sessionStorage.getItem('shop.recordedEvents') || 0); } catch (e) { /* storage disabled */ }
    return before + emitted;
  }

  window.shopRum = { fetch: tracedFetch, flush, navigate, recordedEvents, sessionId, userId, recording, tracing };
})();
