// Drives Debian's Chromium with playwright-core for the shop test.
//   node shop.mjs walk <shop base URL> <output dir> <card number> <name>
//     opens the shop, views a product, adds it to the cart, fills in the
//     checkout form (typing the name and the card number) and checks out;
//     prints {"sessionId": …, "productName": …, "orderId": …, "requests": […]}
//     once the page has sent what it recorded.
//   node shop.mjs lost <shop base URL>
//     opens the page of a product that does not exist (the API answers 4xx
//     and the page shows, and logs, an error), then an uncaught error;
//     prints {"sessionId": …, "status": …} once the page has sent its spans.
//   node shop.mjs replay <events.json> <rrweb dir> <output dir> <t1,t2,…>
//     replays the events with rrweb's Replayer (rrweb's browser build and
//     stylesheet from <rrweb dir>) and, at each time (ms since the epoch),
//     prints what the replayed page shows and saves a screenshot.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

async function withPage(fn) {
  const browser = await chromium.launch({ executablePath, args, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 } });
    page.setDefaultTimeout(30000);
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('requestfailed', (r) => {
      const err = r.failure() && r.failure().errorText;
      // What the page hands to sendBeacon / keepalive fetch as it goes away
      // is delivered by the browser after the page is gone, but reported
      // as aborted here; the test counts the events stored instead.
      if (err === 'net::ERR_ABORTED' && /\/(rrweb|v1\/traces)$/.test(new URL(r.url()).pathname)) return;
      problems.push(`request failed: ${r.method()} ${r.url()}: ${err}`);
    });
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`); });
    const out = await fn(page);
    if (problems.length > 0) out.problems = problems;
    return out;
  } finally {
    await browser.close();
  }
}

async function ready(page) {
  await page.waitForSelector('body[data-ready="true"]');
}

async function walk(base, outDir, card, name) {
  return withPage(async (page) => {
    // Every call the page makes to the shop's API, with its traceparent.
    const requests = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (u.origin !== new URL(base).origin || u.pathname.startsWith('/static/') || u.pathname.endsWith('.html') || u.pathname === '/') return;
      requests.push({ method: r.method(), path: u.pathname, traceparent: r.headers().traceparent || '' });
    });
    const statuses = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.origin === new URL(base).origin && !u.pathname.startsWith('/static/')) statuses.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
    });

    // The product list.
    await page.goto(base + '/');
    await ready(page);
    const session = await page.evaluate(() => ({ id: window.shopRum.sessionId, recording: window.shopRum.recording, tracing: window.shopRum.tracing }));
    await page.mouse.move(300, 200);
    await page.mouse.wheel(0, 300);
    await page.waitForTimeout(200);
    // Sorting by name changes the list page's URL in place (?sort=name).
    await page.selectOption('select[name=sort]', 'name');
    await page.waitForURL((u) => u.searchParams.get('sort') === 'name');
    await page.waitForFunction(() => document.querySelector('#status').textContent === '');
    const link = page.locator('#products .product-link:not([data-available="0"])').first();
    const listed = (await link.textContent()).trim();

    // The product page.
    await link.click();
    await page.waitForURL('**/product.html?id=*');
    await ready(page);
    const productName = (await page.textContent('#product-name')).trim();
    const productId = new URL(page.url()).searchParams.get('id');
    await page.fill('#qty', '2');
    await page.click('#note');
    await page.keyboard.type('gift for a friend', { delay: 10 });
    await page.waitForTimeout(300);
    await page.click('#add-to-cart');

    // The cart.
    await page.waitForURL('**/cart.html');
    await ready(page);
    const cartText = await page.textContent('#cart');
    await page.click('#to-checkout');

    // Checkout: type the name and the card number.
    await page.waitForURL('**/checkout.html');
    await ready(page);
    await page.click('#name');
    await page.keyboard.type(name, { delay: 15 });
    await page.fill('#email', 'shopper@example.com');
    await page.fill('#line1', '1 Main Street');
    await page.fill('#city', 'Springfield');
    await page.selectOption('#country', 'GB');
    await page.click('#card-number');
    await page.keyboard.type(card, { delay: 15 });
    await page.waitForTimeout(300);
    const typedAt = Date.now();
    await page.click('#place-order');

    // The order.
    await page.waitForURL('**/order.html?id=*');
    await ready(page);
    const orderId = (await page.textContent('#order-id')).trim();
    const orderStatus = (await page.textContent('#order-status')).trim();
    const orderTitle = (await page.textContent('#order-title')).trim();
    await page.mouse.move(400, 300);
    await page.waitForTimeout(300);
    const last = await page.evaluate(async () => { await window.shopRum.flush(); return window.shopRum.sessionId; });
    const recordedEvents = await page.evaluate(() => window.shopRum.recordedEvents());
    const screenshot = join(outDir, 'shop-order.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    return {
      sessionId: session.id, sameSession: last === session.id, recording: session.recording, tracing: session.tracing,
      recordedEvents, listed, productName, productId, cartText, typedAt, orderId, orderStatus, orderTitle, requests, statuses, screenshot,
    };
  });
}

async function lost(base) {
  return withPage(async (page) => {
    await page.goto(base + '/product.html?id=99999999');
    await ready(page);
    const status = (await page.textContent('#status')).trim();
    // An error nothing catches, as a bug in the page would throw.
    await page.evaluate(() => { setTimeout(() => { throw new TypeError('shop test: an uncaught error'); }, 0); });
    await page.waitForTimeout(200);
    const sessionId = await page.evaluate(async () => { await window.shopRum.flush(); return window.shopRum.sessionId; });
    return { sessionId, status };
  });
}

async function replay(eventsFile, rrwebDir, outDir, times) {
  const events = JSON.parse(await readFile(eventsFile, 'utf8'));
  return withPage(async (page) => {
    await page.setContent('<!doctype html><html><head><meta charset="utf-8"><title>replay</title></head><body><div id="player"></div></body></html>');
    await page.addStyleTag({ path: join(rrwebDir, 'style.css') });
    await page.addScriptTag({ path: join(rrwebDir, 'rrweb.umd.min.cjs') });
    const states = [];
    for (const [i, at] of times.entries()) {
      const state = await page.evaluate(async ({ events, at }) => {
        const root = document.getElementById('player');
        root.innerHTML = '';
        const first = Math.min(...events.map((e) => e.timestamp));
        const replayer = new rrweb.Replayer(events, { root, showWarning: false, mouseTail: false, skipInactive: false });
        // The replayed page renders asynchronously (one full snapshot after
        // another on the way to the time asked for); on a loaded machine
        // that can take a while, so wait until the last event before that
        // time has been applied and the page's text has settled.
        const target = Math.max(...events.filter((e) => e.timestamp <= at).map((e) => e.timestamp));
        let cast = 0;
        replayer.on('event-cast', (e) => { cast = Math.max(cast, e.timestamp); });
        replayer.pause(at - first);
        let previous = null;
        let stable = 0;
        for (let waited = 0; waited < 20000; waited += 100) {
          await new Promise((r) => setTimeout(r, 100));
          const d = replayer.iframe.contentDocument;
          const text = d && d.body ? d.body.innerText : '';
          stable = text !== '' && text === previous ? stable + 1 : 0;
          previous = text;
          if (waited >= 400 && cast >= target && stable >= 2) break;
        }
        const doc = replayer.iframe.contentDocument;
        return {
          at,
          text: doc.body ? doc.body.innerText : '',
          html: doc.documentElement ? doc.documentElement.outerHTML : '',
          inputs: Object.fromEntries([...doc.querySelectorAll('input')].map((el, n) => [el.id || el.name || String(n), el.value])),
        };
      }, { events, at });
      const shot = join(outDir, `replay-${i + 1}.png`);
      await page.screenshot({ path: shot, fullPage: false });
      state.screenshot = shot;
      states.push(state);
    }
    return { states };
  });
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  let out;
  if (cmd === 'walk') out = await walk(rest[0], rest[1], rest[2], rest[3]);
  else if (cmd === 'lost') out = await lost(rest[0]);
  else if (cmd === 'replay') out = await replay(rest[0], rest[1], rest[2], rest[3].split(',').map(Number));
  else throw new Error('usage: node shop.mjs walk|lost|replay …');
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
}
