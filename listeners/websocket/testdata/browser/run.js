// Opens each URL given on the command line in Debian's chromium (headless,
// a fresh profile), waits for the page's window.result and prints it as a
// line of JSON. Exits 1 if a page failed. Used by listeners/websocket's
// TestBrowserMQTTjs; never downloads a browser.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'tern-chromium-'));
  let code = 0;
  let context;
  try {
    // launchPersistentContext gives chromium --user-data-dir=<profile>.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      timeout: 60000,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
    for (const url of process.argv.slice(2)) {
      const page = await context.newPage();
      page.on('console', (m) => console.error('page console:', m.text()));
      page.on('pageerror', (e) => console.error('page error:', e));
      await page.goto(url);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 40000 });
      const result = await page.evaluate(() => window.result);
      console.log(JSON.stringify(result));
      if (!result.ok) code = 1;
      await page.close();
    }
  } catch (e) {
    console.error(e);
    code = 1;
  } finally {
    if (context) await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(code);
})();
