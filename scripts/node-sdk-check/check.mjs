// Alipay's official Node SDK (npm alipay-sdk, pinned) against payport's simulator:
// precreate, query, refund and refund query, with the SDK verifying every response
// signature (validateSign), plus a forged answer that the SDK must refuse.
//
// Usage: node check.mjs <path to the payport binary> <repo root>
import { readFileSync } from 'node:fs';
import { AlipaySdk } from 'alipay-sdk';
import { checker, sdkVersion, startSim } from './sim.mjs';

const [payport, root] = process.argv.slice(2);
if (!payport || !root) {
  console.error('usage: node check.mjs <payport binary> <repo root>');
  process.exit(2);
}

const { expect } = checker('node-sdk-check');
const { sim, base } = await startSim(payport, ['--keys', `${root}/keys`]);

const sdk = new AlipaySdk({
  appId: '2021000000000001',
  privateKey: readFileSync(`${root}/keys/dev_app_private_pkcs8.pem`, 'ascii'),
  alipayPublicKey: readFileSync(`${root}/keys/dev_alipay_public_spki.pem`, 'ascii'),
  keyType: 'PKCS8',
  signType: 'RSA2',
  gateway: `${base}/gateway.do`,
  timeout: 10_000,
});
const verified = { validateSign: true };
const outTradeNo = `node_sdk_${Date.now()}`;

try {
  console.log(`official Node SDK (alipay-sdk ${sdkVersion()}) against ${base}`);
  const pre = await sdk.exec('alipay.trade.precreate', {
    bizContent: { out_trade_no: outTradeNo, total_amount: '9.99', subject: 'Node SDK check 测试' },
  }, verified);
  expect(pre.code === '10000' && pre.qrCode.startsWith(base), 'precreate: 10000 with a qr_code, signature verified');

  // The buyer scans and pays (the simulator's control API stands in for the app).
  await fetch(pre.qrCode);
  const paid = await fetch(`${base}/control/trades/${outTradeNo}/pay`, { method: 'POST' });
  expect(paid.status === 200, 'the buyer paid through the simulator');

  const query = await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: outTradeNo } }, verified);
  expect(query.tradeStatus === 'TRADE_SUCCESS' && query.totalAmount === '9.99', 'query: TRADE_SUCCESS 9.99, signature verified');

  const refund = await sdk.exec('alipay.trade.refund', {
    bizContent: { out_trade_no: outTradeNo, refund_amount: '1.50', out_request_no: 'node_r1', refund_reason: '部分退款' },
  }, verified);
  expect(refund.fundChange === 'Y' && refund.refundFee === '1.50', 'refund: fund_change=Y, refund_fee 1.50, signature verified');

  const again = await sdk.exec('alipay.trade.refund', {
    bizContent: { out_trade_no: outTradeNo, refund_amount: '1.50', out_request_no: 'node_r1' },
  }, verified);
  expect(again.fundChange === 'N' && again.refundFee === '1.50', 'repeated out_request_no: fund_change=N, nothing refunded twice');

  const refundQuery = await sdk.exec('alipay.trade.fastpay.refund.query', {
    bizContent: { out_trade_no: outTradeNo, out_request_no: 'node_r1' },
  }, verified);
  expect(refundQuery.refundStatus === 'REFUND_SUCCESS' && refundQuery.refundAmount === '1.50', 'refund query: REFUND_SUCCESS 1.50, signature verified');

  // A wrongly signed answer must make the SDK throw: its verification is real.
  await fetch(`${base}/control/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ methods: { 'alipay.trade.query': { kind: 'bad_signature', times: 1 } } }),
  });
  let refused = false;
  try {
    await sdk.exec('alipay.trade.query', { bizContent: { out_trade_no: outTradeNo } }, verified);
  } catch (e) {
    refused = /验签失败/.test(String(e.message));
  }
  expect(refused, 'a badly signed answer is refused by the SDK');
  console.log('node-sdk-check: 7 passed, 0 failed');
} catch (e) {
  if (!process.exitCode) {
    console.error(`node-sdk-check: FAILED: ${e.stack ?? e}`);
    process.exitCode = 1;
  }
} finally {
  sim.kill();
}
