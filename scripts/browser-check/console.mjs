// The operator console (/console) in a real browser, against payport with its
// built-in simulator: an operator signs in, approves one refund and rejects another
// from the approval queue, then batches two legacy operator-password refunds, whose
// Alipay confirmation page opens in a new tab and settles them; a refund whose outcome
// is unknown is settled by Sync; events and a reconciliation are shown. A screenshot
// of each step lands in the directory given.
//
// Usage: node console.mjs <payport binary> <screenshot dir>
// Needs Chromium (Debian: apt-get install chromium); PAYPORT_CHROMIUM overrides the path.
import { chromiumPath, checks, launch, screenshots, startPayport } from './harness.mjs';

const [payport, shotsDir = '/tmp/payport-console'] = process.argv.slice(2);
const executablePath = chromiumPath('console journeys');
if (!executablePath) process.exit(0);
const shot = screenshots(shotsDir);
const { expect, fail, summary } = checks();

const MERCHANT = 'console-check-merchant';
const OPERATOR = 'console-check-operator';
const { base, stop } = await startPayport(payport, {
  PAYPORT_AUTH__MERCHANT_TOKENS: MERCHANT,
  PAYPORT_AUTH__OPERATOR_TOKENS: OPERATOR,
  // Refunds that take an order's refunds past 100.00 wait for an operator.
  PAYPORT_REFUNDS__APPROVAL: '100.00',
  // A processing refund stays so until the operator's Sync, not the worker's.
  PAYPORT_WORKER_INTERVAL_SECS: '3600',
});

async function call(token, method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Polls `path` as the operator until `done` holds (payport settles in the background). */
async function until(path, done) {
  for (let i = 0; ; i++) {
    const { body } = await call(OPERATOR, 'GET', path);
    if (done(body)) return body;
    if (i >= 300) throw new Error(`${path}: still ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An order paid by QR code through the simulator's control API. */
async function paidOrder(id, amount) {
  const created = await call(MERCHANT, 'POST', '/v1/orders', { subject: 'Longjing tea 龙井茶', total_amount: amount, out_trade_no: id });
  if (created.status !== 201) throw new Error(`order ${id}: ${JSON.stringify(created)}`);
  const payment = await call(MERCHANT, 'POST', `/v1/orders/${id}/payments`, { method: 'qr' });
  await fetch(payment.body.qr_code);
  const paid = await fetch(`${base}/sim/control/trades/${id}/pay`, { method: 'POST' });
  if (!paid.ok) throw new Error(`paying ${id}: ${paid.status}`);
  await until(`/v1/orders/${id}`, (o) => o.status === 'paid');
}

async function refund(token, id, body) {
  const made = await call(token, 'POST', `/v1/orders/${id}/refunds`, body);
  if (made.status >= 300) throw new Error(`refund of ${id}: ${JSON.stringify(made)}`);
  return made.body;
}

const browser = await launch(executablePath);

let page;
try {
  const run = Date.now();
  const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((x) => `console_${x}_${run}`);
  await Promise.all([paidOrder(a, '500.00'), paidOrder(b, '300.00'), paidOrder(c, '400.00'),
    paidOrder(d, '250.00'), paidOrder(e, '50.00')]);
  const toApprove = await refund(MERCHANT, a, { amount: '200.00', reason: 'two boxes arrived broken' });
  const toReject = await refund(MERCHANT, b, { amount: '150.00', reason: 'changed my mind' });
  expect(toApprove.status === 'pending_approval' && toReject.status === 'pending_approval',
    'refunds over the approval threshold wait for an operator');

  console.log('journey: sign in, approve one refund, reject another');
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  await page.goto(`${base}/console`);
  const token = page.getByLabel('Token');
  expect(await token.evaluate((el) => el === document.activeElement), 'the Token field has the focus');
  await token.fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('That token is not one payport knows.').waitFor();
  expect(true, 'a wrong token is refused in place');
  await shot(page, 'console-1-sign-in.png');
  // With the keyboard alone: type the token, Enter submits.
  await token.fill('');
  await token.focus();
  await page.keyboard.type(OPERATOR);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Approval queue' }).waitFor();
  const approve = page.getByRole('button', { name: `Approve refund ${toApprove.refund_id}` });
  const reject = page.getByRole('button', { name: `Reject refund ${toReject.refund_id}` });
  await approve.waitFor();
  expect(await reject.isVisible(), 'the queue lists both refunds, each with Approve and Reject');
  expect(await page.getByText('¥200.00').isVisible() && await page.getByText('Reason: two boxes arrived broken').isVisible(),
    'with amount in yuan and reason');
  await shot(page, 'console-2-approval-queue.png');

  // payport unreachable: the failed fetch is shown by the refund, and nothing changes.
  await page.route('**/approve', (route) => route.abort('internetdisconnected'));
  await approve.click();
  const unreached = page.getByRole('listitem').filter({ has: approve }).getByRole('alert');
  await unreached.waitFor();
  expect((await unreached.textContent()).trim() !== '' && await approve.isEnabled(),
    'a network failure on Approve is shown in place, and Approve can be pressed again');
  await page.unroute('**/approve');
  expect((await call(OPERATOR, 'GET', `/v1/refunds/${toApprove.refund_id}`)).body.status === 'pending_approval',
    'and the refund still waits for approval');
  // With the keyboard alone: Tab reaches Approve, with a visible focus ring; Enter presses it.
  const focused = (locator) => locator.evaluate((el) => el === document.activeElement);
  for (let i = 0; i < 30 && !(await focused(approve)); i++) await page.keyboard.press('Tab');
  expect(await focused(approve) && await approve.evaluate((el) => getComputedStyle(el).outlineStyle !== 'none'),
    'Tab reaches the Approve button, which shows a focus ring');
  await page.keyboard.press('Enter');
  await page.getByText(`Approved refund ${toApprove.refund_id}`).waitFor();
  const approved = await until(`/v1/refunds/${toApprove.refund_id}`, (r) => r.status === 'succeeded');
  expect(approved.status === 'succeeded', 'the approved refund is sent and succeeds');
  expect(!(await approve.isVisible()), 'and leaves the queue');
  await shot(page, 'console-3-approved.png');

  await reject.click();
  const why = page.getByLabel(`Why reject refund ${toReject.refund_id}?`);
  expect(await focused(why), 'Reject asks for a reason, with the focus in its field');
  await why.fill('outside the return window');
  await page.getByRole('button', { name: 'Reject refund', exact: true }).click();
  await page.getByText(`Rejected refund ${toReject.refund_id}`).waitFor();
  const rejected = (await call(OPERATOR, 'GET', `/v1/refunds/${toReject.refund_id}`)).body;
  expect(rejected.status === 'rejected' && rejected.rejection_reason === 'outside the return window',
    'the rejected refund is rejected with the reason given');
  expect(await page.getByText('Nothing waits for approval.').isVisible(), 'the queue is empty');
  await shot(page, 'console-4-rejected.png');

  // The order's page shows both refunds, each with its status.
  await page.goto(`${base}/console#orders?order=${a}`);
  await page.getByRole('heading', { name: `Order ${a}` }).waitFor();
  await page.getByLabel('Amount (yuan)').fill('400.00');
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  await page.getByText('REFUND_EXCEEDS_REFUNDABLE').waitFor();
  expect(true, "an over-refund shows payport's error by the form");
  expect(/^request \S+$/.test(await page.locator('.refund-form .request-id').textContent()),
    'with the request id, to quote');
  // An amount payport refuses as such is shown by the amount field itself.
  await page.getByLabel('Amount (yuan)').fill('1.234');
  await page.getByRole('button', { name: 'Refund', exact: true }).click();
  await page.locator('#refund-amount-error').getByText('VALIDATION_FAILED').waitFor();
  expect(await page.getByLabel('Amount (yuan)').getAttribute('aria-invalid') === 'true',
    'a refused amount is shown next to its field, which is marked invalid');
  await shot(page, 'console-5-order.png');
  // "Configured default" comes first and chosen: no gateway is sent, and payport's
  // configured default (openapi, as nothing here configures another) is used.
  expect(await page.getByLabel('Gateway').inputValue() === '', 'the gateway starts at the configured default');
  await page.getByLabel('Amount (yuan)').fill('1.00');
  const [sent] = await Promise.all([
    page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith(`/v1/orders/${a}/refunds`)),
    page.getByRole('button', { name: 'Refund', exact: true }).click(),
  ]);
  expect(!('gateway' in sent.postDataJSON()), 'a refund at the configured default sends no gateway');
  const byDefault = (await page.getByText(/^Refund \S+ for ¥1\.00: /).textContent()).split(' ')[1];
  expect((await call(OPERATOR, 'GET', `/v1/refunds/${byDefault}`)).body.gateway === 'openapi',
    "and is made on the server's configured default gateway");

  console.log('journey: an operator batch for legacy refunds, confirmed on Alipay in a new tab');
  // Over the threshold, so that they wait for approval: batching is what approves them.
  const legacy = [await refund(OPERATOR, c, { amount: '120.00', reason: 'legacy one', gateway: 'mapi_pwd' }),
    await refund(OPERATOR, d, { amount: '110.00', reason: 'legacy two', gateway: 'mapi_pwd' })];
  expect(legacy.every((r) => r.status === 'pending_approval'), 'operator-password refunds over the threshold wait');
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${base}/console#approvals`);
  await page.getByRole('button', { name: `Approve refund ${legacy[0].refund_id}` }).waitFor();
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= 375),
    'at 375 px wide the queue fits without scrolling sideways');
  await shot(page, 'console-6-narrow.png');
  await page.setViewportSize({ width: 1100, height: 800 });
  await page.goto(`${base}/console#attention`);
  await page.getByRole('heading', { name: 'Refunds needing a person' }).waitFor();
  for (const r of legacy) {
    expect(await page.getByRole('checkbox', { name: new RegExp(r.refund_id) }).isChecked(), `${r.refund_id} is offered for a batch`);
  }
  await shot(page, 'console-7-awaiting-operator.png');
  const [alipay] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('button', { name: 'Create operator batch' }).click(),
  ]);
  await alipay.waitForLoadState();
  const batchText = await alipay.textContent('body');
  expect(/Refund batch \S+: 2 refund\(s\), ¥230\.00 in all/.test(batchText), "Alipay's confirmation page opens in a new tab with both refunds");
  await shot(alipay, 'console-8-alipay-confirm.png');
  await page.getByText(/Batch \S+ with 2 refunds/).waitFor();
  expect(await page.getByRole('button', { name: /Open Alipay's page for batch/ }).count() === 1,
    'the console shows one batch awaiting the operator, to open its page again');
  await shot(page, 'console-9-batch-awaiting.png');
  // Opened again before it is confirmed: the same batch, in another new tab.
  const [again] = await Promise.all([
    context.waitForEvent('page'),
    page.getByRole('button', { name: /Open Alipay's page for batch/ }).click(),
  ]);
  await again.waitForLoadState();
  expect((await again.textContent('body')) === batchText, "opening the batch's page again shows the same batch");
  await again.close();
  await alipay.fill('#password', 'any');
  await alipay.click('#confirm');
  await alipay.getByText('2 of 2 refunded').waitFor();
  for (const r of legacy) {
    const settled = await until(`/v1/refunds/${r.refund_id}`, (x) => x.status === 'succeeded');
    expect(settled.status === 'succeeded', `${r.refund_id} succeeds after the confirmation`);
  }
  await shot(alipay, 'console-10-alipay-done.png');

  console.log('journey: a refund with an unknown outcome synced; events; reconciliation');
  // Not carried out at Alipay, so that no notification settles it before Sync does.
  const faults = await fetch(`${base}/sim/control/faults`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ methods: { 'alipay.trade.refund': { kind: 'system_error', performed: false, times: 1 } } }),
  });
  if (!faults.ok) throw new Error(`faults: ${faults.status}`);
  const unknown = await refund(MERCHANT, e, { amount: '1.00', reason: 'unknown outcome' });
  expect(unknown.status === 'processing', 'a refund Alipay answered with SYSTEM_ERROR is processing');
  await page.getByRole('link', { name: 'Refunds needing a person' }).click();
  const sync = page.getByRole('button', { name: `Sync refund ${unknown.refund_id}` });
  await sync.waitFor();
  expect(await page.getByText(/Last error: /).first().isVisible(), 'it is listed with its last error and a Sync button');
  await shot(page, 'console-11-processing.png');
  await sync.click();
  await page.getByText(`Refund ${unknown.refund_id}: succeeded.`).waitFor();
  expect((await call(OPERATOR, 'GET', `/v1/refunds/${unknown.refund_id}`)).body.status === 'succeeded',
    'Sync asks Alipay and the refund succeeds');

  await page.goto(`${base}/console#events?object=${a}`);
  await page.getByRole('heading', { name: 'Events and webhooks' }).waitFor();
  const paidEvent = page.getByRole('row', { name: /order\.paid/ });
  expect(await paidEvent.isVisible(), "the order's events are listed, order.paid among them");
  await paidEvent.getByRole('link').click();
  await page.getByRole('heading', { name: /^order\.paid · evt_/ }).waitFor();
  expect(await page.getByRole('heading', { name: 'Deliveries' }).isVisible(), 'an event shows its deliveries');
  await shot(page, 'console-12-event.png');

  await page.goto(`${base}/console#reconciliations`);
  await page.getByRole('button', { name: 'Reconcile now' }).click();
  await page.getByText(/^Reconciled \d{4}-\d\d-\d\d: (completed|pending)\.$/).waitFor();
  expect(await page.getByRole('heading', { name: /^Report for / }).isVisible(), 'a reconciliation run by hand shows its report');
  await shot(page, 'console-13-reconciliation.png');

  // A token payport stops accepting (rotated, say) signs the tab out with a notice.
  await page.evaluate(() => sessionStorage.setItem('payport.token', 'rotated-away'));
  await page.reload();
  await page.getByText('payport no longer accepts that token; sign in again.').waitFor();
  expect(await page.getByLabel('Token').isVisible(), 'a token payport no longer accepts brings back the sign-in form');
} catch (e) {
  fail(e);
  if (page) await shot(page, 'console-failed.png').catch(() => {});
} finally {
  await browser.close();
  stop();
}
summary('console journeys');
