// The simulator's cashier in a real browser: Alipay's official Node SDK builds a signed
// page-pay URL, headless Chromium opens it, the cashier shows subject, amount and QR
// code, a click on Pay pays, and the browser returns to return_url with the trade paid.
//
// Usage: node check.mjs <payport binary> <repo root> [screenshot.png]
// Needs Chromium (Debian: apt-get install chromium); PAYPORT_CHROMIUM overrides the path.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { AlipaySdk } from 'alipay-sdk';
import { chromiumPath } from './harness.mjs';
import { chromium } from 'playwright-core';

const [payport, root, screenshot = '/tmp/payport-cashier.png'] = process.argv.slice(2);
// In CI (`CI` set) a missing Chromium fails the check instead of skipping it.
const executablePath = chromiumPath('browser-check');
if (!executablePath) process.exit(0);

const sim = spawn(payport, ['sim', '--listen', '127.0.0.1:0', '--keys', `${root}/keys`], {
  env: { ...process.env, NO_COLOR: '1', RUST_LOG: 'info' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = await new Promise((resolve, reject) => {
  createInterface({ input: sim.stdout }).on('line', (line) => {
    const match = line.match(/simulator listening on (http:\/\/[^\s]+)/);
    if (match) resolve(match[1]);
  });
  sim.on('exit', (code) => reject(new Error(`the simulator exited (${code})`)));
});

let failed = 0;
let passed = 0;
const expect = (condition, message) => {
  console.log(`  ${condition ? 'ok  ' : 'FAIL'} ${message}`);
  condition ? passed++ : failed++;
};

// A loaded CI machine can kill a starting Chromium; one more try before failing.
async function openPage() {
  for (let attempt = 1; ; attempt++) {
    const browser = await chromium.launch({
      executablePath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic',
        '--no-first-run', '--disable-background-networking', '--disable-component-update',
        '--disable-sync'],
    });
    try {
      return { browser, page: await browser.newPage() };
    } catch (e) {
      await browser.close().catch(() => {});
      if (attempt >= 2) throw e;
      console.log(`  (Chromium did not open a page: ${e.message}; retrying once)`);
    }
  }
}

const { browser, page } = await openPage();
try {
  const sdk = new AlipaySdk({
    appId: '2021000000000001',
    privateKey: readFileSync(`${root}/keys/dev_app_private_pkcs8.pem`, 'ascii'),
    alipayPublicKey: readFileSync(`${root}/keys/dev_alipay_public_spki.pem`, 'ascii'),
    keyType: 'PKCS8',
    gateway: `${base}/gateway.do`,
  });
  const outTradeNo = `browser_${Date.now()}`;
  const payUrl = sdk.pageExecute('alipay.trade.page.pay', 'GET', {
    bizContent: {
      out_trade_no: outTradeNo,
      total_amount: '66.60',
      subject: '龙井茶 Longjing tea',
      product_code: 'FAST_INSTANT_TRADE_PAY',
    },
    returnUrl: `${base}/control/trades/${outTradeNo}`,
  });
  await page.goto(payUrl);
  expect(page.url().endsWith(`/cashier/${outTradeNo}`), 'the signed pay URL leads to the cashier');
  expect((await page.textContent('#subject')) === '龙井茶 Longjing tea', 'the cashier shows the subject');
  expect((await page.textContent('#amount')) === '¥66.60', 'the cashier shows the amount');
  expect(await page.isVisible('svg'), 'the cashier shows a QR code');
  expect(await page.isVisible('#cancel'), 'the cashier has a Cancel button');
  await page.screenshot({ path: screenshot });
  await Promise.all([page.waitForNavigation(), page.click('#pay')]);
  const landed = new URL(page.url());
  expect(landed.pathname.endsWith(`/control/trades/${outTradeNo}`), 'after paying the browser returns to return_url');
  expect(landed.searchParams.get('method') === 'alipay.trade.page.pay.return' && landed.searchParams.get('sign'),
    'with signed return parameters');
  const trade = JSON.parse(await page.textContent('body'));
  expect(trade.status === 'TRADE_SUCCESS', 'the trade is paid');
  console.log(`screenshot of the cashier: ${screenshot}`);
} finally {
  await browser.close();
  sim.kill();
}
console.log(`browser-check: ${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
