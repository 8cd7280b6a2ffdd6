// Drives Debian's Chromium with playwright-core for the session replay test.
//   node browser.mjs record <page base URL>
//     opens the product page, clicks, types into the card field, goes to the
//     cart; prints {"sessionId": …} once every event reached the receiver.
//   node browser.mjs type <page URL> <secret>
//     opens a page recording typed text in clear, types the secret into
//     every kind of field, prints {"sessionId", "sentWithSecret"}.
//   node browser.mjs replay <page base URL> <events.json> <output dir> <t1,t2,…>
//     replays the events with rrweb's Replayer and, at each time (ms since
//     the epoch), prints what the replayed page shows and saves a screenshot.
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
    const problems = [];
    page.on('pageerror', (e) => problems.push('page error: ' + e.message));
    page.on('console', (m) => { if (m.type() === 'error') problems.push('console error: ' + m.text()); });
    const out = await fn(page);
    if (problems.length > 0) out.problems = problems;
    return out;
  } finally {
    await browser.close();
  }
}

async function record(base) {
  return withPage(async (page) => {
    await page.goto(base + '/product');
    await page.waitForFunction(() => window.rrwebSessionId);
    const sessionId = await page.evaluate(() => window.rrwebSessionId);
    await page.mouse.move(200, 150);
    await page.click('#qty-plus');
    await page.click('#card');
    await page.keyboard.type('secret-card-4242', { delay: 15 });
    await page.mouse.wheel(0, 400);
    await page.waitForTimeout(300);
    await page.evaluate(() => window.rrwebFlush());
    await page.click('#to-cart');
    await page.waitForURL('**/cart');
    await page.waitForFunction(() => window.rrwebSessionId);
    await page.click('#checkout');
    await page.waitForTimeout(300);
    await page.evaluate(() => window.rrwebFlush());
    const sameSession = await page.evaluate(() => window.rrwebSessionId);
    return { sessionId, sameSession: sameSession === sessionId };
  });
}

async function typeEverywhere(url, secret) {
  return withPage(async (page) => {
    await page.goto(url);
    await page.waitForFunction(() => window.rrwebSessionId);
    const sessionId = await page.evaluate(() => window.rrwebSessionId);
    for (const sel of ['#text', '#pw', '#ta', '#ce']) {
      await page.click(sel);
      await page.keyboard.press('End');
      await page.keyboard.type(' ' + secret, { delay: 5 });
    }
    // An element that becomes editable after the page was snapshotted.
    await page.evaluate(() => document.getElementById('later').setAttribute('contenteditable', 'true'));
    await page.click('#later');
    await page.keyboard.press('End');
    await page.keyboard.type(' ' + secret, { delay: 5 });
    await page.waitForTimeout(300);
    await page.evaluate(() => window.rrwebFlush());
    const sentWithSecret = await page.evaluate((s) => window.rrwebSent.filter((e) => e.includes(s)).length, secret);
    return { sessionId, sentWithSecret };
  });
}

async function replay(base, eventsFile, outDir, times) {
  const events = JSON.parse(await readFile(eventsFile, 'utf8'));
  return withPage(async (page) => {
    await page.goto(base + '/replay');
    const states = [];
    for (const [i, at] of times.entries()) {
      const state = await page.evaluate(async ({ events, at }) => {
        const root = document.getElementById('player');
        root.innerHTML = '';
        const replayer = new rrweb.Replayer(events, { root, showWarning: false, mouseTail: false, skipInactive: false });
        // Offsets count from the earliest event: rows come ordered by the
        // second (HyperDX's TimestampTime), so events[0] need not be it.
        replayer.pause(at - Math.min(...events.map((e) => e.timestamp)));
        // The replayed page renders asynchronously, the full snapshot first
        // and the changes after it; on a loaded machine that can take a
        // while, so wait until what it shows has content and has stopped
        // changing (half a second unchanged) rather than a fixed time.
        let seen = '', stableFor = 0;
        for (let waited = 0; waited < 20000; waited += 100) {
          await new Promise((r) => setTimeout(r, 100));
          const d = replayer.iframe.contentDocument;
          const now = d && d.body ? d.body.innerText + '\u0000' + [...d.querySelectorAll('input')].map((el) => el.value).join('\u0000') : '';
          stableFor = now === seen ? stableFor + 100 : 0;
          seen = now;
          if (waited >= 400 && now.trim() !== '' && stableFor >= 500) break;
        }
        const doc = replayer.iframe.contentDocument;
        return {
          at,
          text: doc.body ? doc.body.innerText : '',
          html: doc.documentElement ? doc.documentElement.outerHTML : '',
          inputs: [...doc.querySelectorAll('input')].map((el) => el.value),
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
  if (cmd === 'record') out = await record(rest[0]);
  else if (cmd === 'type') out = await typeEverywhere(rest[0], rest[1]);
  else if (cmd === 'replay') out = await replay(rest[0], rest[1], rest[2], rest[3].split(',').map(Number));
  else throw new Error('usage: node browser.mjs record|replay …');
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (e) {
  process.stderr.write(String(e && e.stack || e) + '\n');
  process.exit(1);
}
