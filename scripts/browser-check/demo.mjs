// The demo shop (/demo) in a real browser, against payport run as `cargo run` runs it:
// the built-in simulator and the DEV tokens. A buyer buys the product, pays at the
// simulator's cashier and sees the order paid on the thank-you page; a refund asked
// for there goes through, the button goes and the order shows refunded. All of it at
// 375 px wide and with the keyboard; each step is also checked through the API, and
// a screenshot of each lands in the directory given. A second buyer pays by QR code,
// on the phone's page in a new tab, and the shop's thank-you page shows the order paid.
//
// Usage: node demo.mjs <payport binary> <screenshot dir>
// Needs Chromium (Debian: apt-get install chromium); PAYPORT_CHROMIUM overrides the path.
import { chromiumPath, checks, launch, screenshots, startPayport } from './harness.mjs';

const [payport, shotsDir = '/tmp/payport-demo'] = process.argv.slice(2);
const executablePath = chromiumPath('demo shop journeys');
if (!executablePath) process.exit(0);
const shot = screenshots(shotsDir);
const { expect, fail, summary } = checks();

// No tokens configured: payport makes up the DEV tokens, as a newcomer's `cargo run` does.
const DEV_MERCHANT = 'dev-merchant-token';
const { base, stop } = await startPayport(payport, {
  PAYPORT_AUTH__MERCHANT_TOKENS: '', PAYPORT_AUTH__OPERATOR_TOKENS: '',
});

async function order(id) {
  const response = await fetch(`${base}/v1/orders/${id}`, { headers: { Authorization: `Bearer ${DEV_MERCHANT}` } });
  return response.json();
}
const fitsWidth = (page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
const focused = (locator) => locator.evaluate((el) => el === document.activeElement);
/** Tab until `locator` has the focus, then Enter, as a keyboard user would. */
async function tabAndEnter(page, locator) {
  for (let i = 0; i < 20 && !(await focused(locator)); i++) await page.keyboard.press('Tab');
  expect(await focused(locator) && await locator.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none'),
    'Tab reaches the button, which shows a focus ring');
  await page.keyboard.press('Enter');
}

const browser = await launch(executablePath);
let page;
try {
  const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
  page = await context.newPage();

  console.log('journey: a buyer buys and pays, and sees the order paid');
  await page.goto(`${base}/demo/`);
  await page.getByRole('heading', { name: 'Longjing tea 龙井茶, 250 g' }).waitFor();
  expect((await page.textContent('#price')) === '¥88.00', 'the product shows its price in yuan');
  const token = page.getByLabel('Merchant token');
  expect((await token.inputValue()) === DEV_MERCHANT, 'the token field holds the DEV merchant token');
  expect(await fitsWidth(page), 'at 375 px the product page fits without scrolling sideways');
  await shot(page, 'demo-1-product.png');

  // An error from the API is shown in place, and nothing is bought.
  await token.fill('not-a-token');
  const buy = page.getByRole('button', { name: 'Pay ¥88.00 with Alipay' });
  await buy.click();
  await page.getByRole('alert').getByText('payport does not know that token.').waitFor();
  expect(page.url() === `${base}/demo/`, 'a wrong token is refused in place');
  await shot(page, 'demo-2-wrong-token.png');
  await token.fill(DEV_MERCHANT);

  await tabAndEnter(page, buy);
  await page.waitForURL(/\/sim\/cashier\//);
  const id = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  expect((await page.textContent('#amount')) === '¥88.00', "the simulator's cashier asks for ¥88.00");
  expect((await order(id)).status === 'pending', 'payport holds the order, unpaid');
  await shot(page, 'demo-3-cashier.png');

  await page.click('#pay');
  await page.waitForURL((url) => url.pathname === '/demo/thanks' && url.searchParams.get('out_trade_no') === id);
  await page.locator('#order-status[data-status="paid"]').waitFor();
  expect((await page.textContent('#order-status')) === 'Paid', 'the thank-you page shows the order paid, in words');
  const paid = await order(id);
  expect(paid.status === 'paid' && paid.total_amount === '88.00', 'payport has the order paid');
  expect(await fitsWidth(page), 'at 375 px the thank-you page fits without scrolling sideways');
  await shot(page, 'demo-4-paid.png');

  console.log('journey: a refund requested from the thank-you page');
  const refund = page.getByRole('button', { name: 'Request refund of ¥88.00' });
  await refund.waitFor();
  await tabAndEnter(page, refund);
  await page.locator('#order-status[data-status="refunded"]').waitFor();
  await page.locator('.refund[data-status="succeeded"]').waitFor();
  expect(await refund.isHidden(), 'the Request refund button is gone once the order is fully refunded');
  expect((await page.textContent('#order-status')) === 'Refunded', 'the page shows the order refunded');
  expect((await page.textContent('.refund')).startsWith('¥88.00: Refunded'), 'and the refund, succeeded');
  const refunded = await order(id);
  expect(refunded.status === 'refunded' && refunded.refunded_amount === '88.00'
    && refunded.refundable_amount === '0.00' && refunded.refunds?.length === 1
    && refunded.refunds[0].status === 'succeeded', 'payport has one refund of ¥88.00, succeeded');
  await shot(page, 'demo-5-refunded.png');

  // Shown again (a reload, say), a fully refunded order offers no refund.
  await page.reload();
  await page.locator('#order-status[data-status="refunded"]').waitFor();
  expect(await page.getByRole('button', { name: /Request refund/ }).isHidden(), 'nor after a reload');

  console.log('journey: a buyer pays by QR code');
  await page.goto(`${base}/demo/`);
  await page.getByRole('button', { name: 'Pay by QR code' }).click();
  const code = page.getByRole('img', { name: 'QR code: scan it with Alipay to pay ¥88.00' });
  await code.waitFor();
  expect(await code.evaluate((img) => img.complete && img.naturalWidth > 0), 'the page shows the QR code');
  const phoneLink = page.getByRole('link', { name: 'Open what a phone that scanned it shows' });
  expect(await focused(phoneLink), "the focus moves to the phone's link, the next step");
  await shot(page, 'demo-6-qr.png');
  const thanksLink = page.getByRole('link', { name: 'Show my order' });
  const qrId = new URL(await thanksLink.getAttribute('href'), base).searchParams.get('out_trade_no');
  expect((await order(qrId)).status === 'pending', 'payport holds the QR order, unpaid');
  const [phone] = await Promise.all([page.context().waitForEvent('page'), phoneLink.click()]);
  await phone.locator('#pay').waitFor();
  expect((await phone.textContent('#amount')) === '¥88.00', "the phone's cashier asks for ¥88.00");
  await Promise.all([phone.waitForNavigation(), phone.click('#pay')]);
  await phone.close();
  await thanksLink.click();
  await page.locator('#order-status[data-status="paid"]').waitFor();
  expect((await order(qrId)).status === 'paid', 'the thank-you page and payport show the QR order paid');
  await shot(page, 'demo-7-qr-paid.png');
} catch (e) {
  fail(e);
  if (page) await shot(page, 'demo-failed.png').catch(() => {});
} finally {
  await browser.close();
  stop();
}
summary('demo shop journeys');
