// A small rrweb sender, as a web application would ship it: rrweb's
// record({emit}) with every input masked, events posted as JSON batches to
// the collector's rrweb receiver every second, on demand (window.rrwebFlush)
// and with sendBeacon when the page goes away. The session id lives in
// sessionStorage so it spans the pages of one tab.
//
// RRWEB_CONFIG.mask = false records typed text in clear (a careless
// application: the receiver must mask it), and RRWEB_CONFIG.transport =
// 'otlp' sends the events as HyperDX's session recorder does: OTLP/JSON logs
// on /v1/logs, one record per event, events over 950 KiB in chunks.
// window.rrwebSent keeps what was sent, for the test to compare.
(function () {
  const cfg = window.RRWEB_CONFIG;
  let sessionId = sessionStorage.getItem('rrweb-session-id');
  if (!sessionId) {
    sessionId = (crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2) + Date.now());
    sessionStorage.setItem('rrweb-session-id', sessionId);
  }
  let buffer = [];
  const mask = cfg.mask !== false;
  rrweb.record({
    emit(event) { buffer.push(event); },
    maskAllInputs: mask,
    maskInputOptions: mask ? undefined : { password: false },
  });
  window.rrwebSent = [];
  function batch(events) {
    return JSON.stringify({ session_id: sessionId, service_name: cfg.service, user_agent: navigator.userAgent, events });
  }
  let eventNo = 0, offset = 0;
  function otlp(events) {
    const CHUNK = 950 * 1024;
    const records = [];
    for (const e of events) {
      const body = JSON.stringify(e);
      const total = Math.max(1, Math.ceil(body.length / CHUNK));
      eventNo++;
      for (let c = 0; c < total; c++) {
        offset++;
        records.push({
          timeUnixNano: String(e.timestamp * 1e6),
          body: { stringValue: body.slice(c * CHUNK, (c + 1) * CHUNK) },
          attributes: [
            { key: 'rr-web.offset', value: { doubleValue: offset } },
            { key: 'rr-web.event', value: { doubleValue: eventNo } },
            { key: 'rr-web.chunk', value: { doubleValue: c + 1 } },
            { key: 'rr-web.total-chunks', value: { doubleValue: total } },
          ],
        });
      }
    }
    return JSON.stringify({ resourceLogs: [{
      resource: { attributes: [
        { key: 'service.name', value: { stringValue: cfg.service } },
        { key: 'rum.sessionId', value: { stringValue: sessionId } },
      ] },
      scopeLogs: [{ scope: { name: 'rum.rr-web' }, logRecords: records }],
    }] });
  }
  async function flush() {
    if (buffer.length === 0) return 0;
    const events = buffer;
    buffer = [];
    window.rrwebSent.push(...events.map((e) => JSON.stringify(e)));
    const viaOTLP = cfg.transport === 'otlp';
    const resp = await fetch(cfg.endpoint + (viaOTLP ? '/v1/logs' : '/rrweb'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: viaOTLP ? otlp(events) : batch(events),
    });
    const text = await resp.text();
    if (!resp.ok) throw new Error('rrweb receiver answered ' + resp.status + ': ' + text);
    if (viaOTLP && /rejected/i.test(text)) throw new Error('rrweb receiver rejected records: ' + text);
    return events.length;
  }
  setInterval(() => { flush().catch((e) => console.error(e)); }, 1000);
  addEventListener('pagehide', () => {
    if (buffer.length > 0) navigator.sendBeacon(cfg.endpoint + '/rrweb', batch(buffer));
    buffer = [];
  });
  window.rrwebFlush = flush;
  window.rrwebSessionId = sessionId;
})();
