// Alipay's official Node SDK (npm alipay-sdk, pinned) in certificate mode against
// `payport sim --cert-mode`: the SDK reads the DEV certificates of keys/, computes the
// SNs itself, and pays by page (its signed form, posted to the simulator's gateway),
// precreates, refunds and queries the refund with its response verification on. The
// SNs it sends must be those `payport alipay cert-sn` computes; answers must name the
// certificate `payport` names; after the simulator rotates its certificate, the SDK
// must refuse the answers until it is given the new certificate.
//
// Usage: node cert-mode.mjs <path to the payport binary> <repo root>
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { AlipaySdk } from 'alipay-sdk';
import { checker, sdkVersion, startSim } from './sim.mjs';

const [payport, root] = process.argv.slice(2);
if (!payport || !root) {
  console.error('usage: node cert-mode.mjs <payport binary> <repo root>');
  process.exit(2);
}
const keys = `${root}/keys`;
const { expect } = checker('node-sdk-cert-mode');

/** `payport alipay <args>` with `stdin`: its exit code and JSON answer. */
function payportTool(args, stdin = '') {
  try {
    return { code: 0, json: JSON.parse(execFileSync(payport, ['alipay', ...args], { input: stdin })) };
  } catch (e) {
    if (typeof e.status !== 'number') throw e;
    return { code: e.status, json: e.stdout?.length ? JSON.parse(e.stdout) : null };
  }
}
const certSn = (file) => payportTool(['cert-sn', '--cert', `${keys}/${file}`]).json.sn;
const want = {
  app: certSn('dev_app_cert.pem'),
  root: payportTool(['cert-sn', '--root-cert', `${keys}/dev_alipay_root_bundle.pem`]).json.root_sn,
  alipay: certSn('dev_alipay_cert.pem'),
  rotated: certSn('dev_alipay_rotated_cert.pem'),
};

// Without --keys the simulator uses its built-in copies of the keys/ DEV certificates,
// and only then has the next certificate to rotate to.
const { sim, base } = await startSim(payport, ['--cert-mode']);

// The SDK talks to the simulator through this loopback relay, which keeps each
// request's URL and each raw answer: what the SDK sent and what it was answered.
const seen = [];
const relay = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const answer = await fetch(`${base}${req.url}`, {
    method: req.method,
    headers: { 'content-type': req.headers['content-type'] ?? 'application/x-www-form-urlencoded' },
    body: req.method === 'GET' ? undefined : Buffer.concat(chunks),
  });
  const body = await answer.text();
  seen.push({ url: new URL(req.url, base), body });
  res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
  res.end(body);
});
await new Promise((resolve) => relay.listen(0, '127.0.0.1', resolve));
const gateway = `http://127.0.0.1:${relay.address().port}/gateway.do`;

const sdkWith = (alipayCert) => new AlipaySdk({
  appId: '2021000000000001',
  privateKey: readFileSync(`${keys}/dev_app_private_pkcs8.pem`, 'ascii'),
  keyType: 'PKCS8',
  signType: 'RSA2',
  appCertPath: `${keys}/dev_app_cert.pem`,
  alipayPublicCertPath: `${keys}/${alipayCert}`,
  alipayRootCertPath: `${keys}/dev_alipay_root_bundle.pem`,
  gateway,
  timeout: 10_000,
});
const verified = { validateSign: true };
const last = () => seen[seen.length - 1];
const sentSns = (url) => [url.searchParams.get('app_cert_sn'), url.searchParams.get('alipay_root_cert_sn')];
const answeredSn = (body) => JSON.parse(body).alipay_cert_sn;
const stamp = Date.now();
let passed = 0;
const check = (condition, message) => {
  expect(condition, message);
  passed += 1;
};

try {
  console.log(`official Node SDK (alipay-sdk ${sdkVersion()}) in certificate mode against ${base}`);
  const sdk = sdkWith('dev_alipay_cert.pem');
  check(sdk.config.appCertSn === want.app && sdk.config.alipayRootCertSn === want.root
    && sdk.config.alipayCertSn === want.alipay,
    `the SDK's SNs of the DEV certificates are payport's: app ${want.app}, root ${want.root}, alipay ${want.alipay}`);

  // Page pay: the SDK builds a self-submitting form; the browser posts it.
  const pageNo = `node_cert_page_${stamp}`;
  const form = sdk.pageExec('alipay.trade.page.pay', {
    bizContent: { out_trade_no: pageNo, total_amount: '12.34', subject: '证书模式 page pay', product_code: 'FAST_INSTANT_TRADE_PAY' },
    returnUrl: 'http://127.0.0.1:9/return',
  });
  const action = new URL(form.match(/action="([^"]+)"/)[1].replace(/&amp;/g, '&'));
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/name="([^"]+)" value="([^"]*)"/g)) {
    fields.set(name, value.replace(/&quot;/g, '"'));
  }
  check(sentSns(action).join() === [want.app, want.root].join(), 'page pay: the form sends app_cert_sn and alipay_root_cert_sn as payport computes them');
  const posted = await fetch(`${base}${action.pathname}${action.search}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
    redirect: 'manual',
  });
  const cashierUrl = posted.headers.get('location') ?? '';
  check(posted.status === 302 && cashierUrl === `${base}/cashier/${pageNo}`, `page pay: the simulator accepted the signed form and sent the browser to its cashier (${posted.status})`);
  const cashier = await fetch(cashierUrl);
  const cashierHtml = await cashier.text();
  check(cashier.status === 200 && cashierHtml.includes('12.34'), 'page pay: the cashier page loads, showing 12.34');
  const paid = await fetch(`${cashierUrl}/pay`, { method: 'POST', redirect: 'manual' });
  check(paid.status < 400, 'page pay: the buyer paid at the cashier');

  const preNo = `node_cert_pre_${stamp}`;
  const pre = await sdk.exec('alipay.trade.precreate', {
    bizContent: { out_trade_no: preNo, total_amount: '9.99', subject: '证书模式 precreate' },
  }, verified);
  check(pre.code === '10000' && pre.qrCode.startsWith(base), 'precreate: 10000 with a qr_code, signature verified');
  check(sentSns(last().url).join() === [want.app, want.root].join(), 'precreate: the SDK sent app_cert_sn and alipay_root_cert_sn as payport computes them');
  check(answeredSn(last().body) === want.alipay, `precreate: the answer names alipay_cert_sn ${want.alipay}, the DEV Alipay certificate`);

  const refund = await sdk.exec('alipay.trade.refund', {
    bizContent: { out_trade_no: pageNo, refund_amount: '2.34', out_request_no: 'node_cert_r1', refund_reason: '证书模式退款' },
  }, verified);
  check(refund.fundChange === 'Y' && refund.refundFee === '2.34', 'refund: fund_change=Y, refund_fee 2.34, signature verified');
  const rawRefund = last().body;

  const refundQuery = await sdk.exec('alipay.trade.fastpay.refund.query', {
    bizContent: { out_trade_no: pageNo, out_request_no: 'node_cert_r1' },
  }, verified);
  check(refundQuery.refundStatus === 'REFUND_SUCCESS' && refundQuery.refundAmount === '2.34', 'refund query: REFUND_SUCCESS 2.34, signature verified');

  // payport's own tool agrees with the SDK on the raw answer, key from the certificate.
  const tool = payportTool(['verify-response', '--alipay-cert', `${keys}/dev_alipay_cert.pem`], rawRefund);
  check(tool.code === 0 && tool.json.valid && tool.json.alipay_cert_sn === tool.json.cert_sn, '`payport alipay verify-response --alipay-cert` finds the refund answer valid under the certificate it names');

  // A request under another app certificate is refused, as Alipay refuses it.
  const stranger = new AlipaySdk({ ...sdk.config, appCertSn: undefined, appCertPath: `${keys}/dev_alipay_cert.pem` });
  const refused = await stranger.exec('alipay.trade.query', { bizContent: { out_trade_no: preNo } });
  check(refused.subCode === 'isv.app-cert-not-exist', `an SDK with another app certificate is refused: ${refused.subCode}`);

  // Alipay rotates its certificate. This SDK version does not read alipay_cert_sn in
  // these (v2) answers nor download certificates: it only verifies with the key it has.
  const rotated = await (await fetch(`${base}/control/alipay-cert/rotate`, { method: 'POST' })).json();
  check(rotated.alipay_cert_sn === want.rotated, `the simulator rotated to alipay_cert_sn ${want.rotated} (payport's SN of dev_alipay_rotated_cert.pem)`);
  let rejection = '';
  try {
    await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: pageNo } }, verified);
  } catch (e) {
    rejection = String(e.message);
  }
  check(/验签失败/.test(rejection) && answeredSn(last().body) === want.rotated,
    'after the rotation the SDK refuses the answer as badly signed (验签失败); it does not name the new alipay_cert_sn the answer carries');
  const diagnosis = payportTool(['verify-response', '--alipay-cert', `${keys}/dev_alipay_cert.pem`], last().body);
  check(diagnosis.code === 1 && diagnosis.json.alipay_cert_sn === want.rotated && diagnosis.json.cert_sn === want.alipay,
    '`payport alipay verify-response --alipay-cert` on that answer: invalid, naming the answer\'s SN and the certificate\'s');
  const renewed = sdkWith('dev_alipay_rotated_cert.pem');
  const query = await renewed.exec('alipay.trade.query', { bizContent: { out_trade_no: pageNo } }, verified);
  check(query.tradeStatus === 'TRADE_SUCCESS' && query.totalAmount === '12.34', 'given the rotated certificate, the SDK verifies answers again: query TRADE_SUCCESS 12.34');
  console.log(`node-sdk-cert-mode: ${passed} passed, 0 failed`);
} catch (e) {
  if (!process.exitCode) {
    console.error(`node-sdk-cert-mode: FAILED: ${e.stack ?? e}`);
    process.exitCode = 1;
  }
} finally {
  relay.close();
  sim.kill();
}
