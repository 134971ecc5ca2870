// The product and its checkout: create the order, start a page payment whose return
// URL is the thank-you page, and send the buyer to the (simulated) Alipay cashier.
import { apiClient, describeError } from '../api/client';
import { busy, h, messageBox, say, yuan } from '../ui';
import { demoToken, tokenField } from './token';

const PRODUCT = { subject: 'Longjing tea 龙井茶, 250 g', price: '88.00' };

export async function shopView(): Promise<HTMLElement> {
  const token = await tokenField();
  const buy = h('button', { type: 'submit', id: 'buy' }, `Pay ${yuan(PRODUCT.price)} with Alipay`);
  const message = messageBox();
  const form = h('form', { class: 'card', 'aria-labelledby': 'view-title' },
    h('h2', { id: 'view-title', tabindex: '-1' }, PRODUCT.subject),
    h('p', { class: 'muted' }, 'Spring-picked green tea from Hangzhou, pan-fired by hand.'),
    h('p', { class: 'price', id: 'price' }, yuan(PRODUCT.price)),
    token.field, buy, message);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(buy, async () => {
      const failed = await checkout(token.value());
      if (failed) say(message, failed, 'error');
    });
  });
  return form;
}

/** Sends the browser to the cashier, or answers why it could not. */
async function checkout(token: string): Promise<string | undefined> {
  const api = apiClient(() => token);
  const unreachable = (err: unknown) => ({ data: undefined, error: err, response: undefined });
  const order = await api.POST('/v1/orders', { body: { subject: PRODUCT.subject, total_amount: PRODUCT.price } })
    .catch(unreachable);
  if (!order.data) return explain(order.error, order.response);
  demoToken.set(token);
  const payment = await api.POST('/v1/orders/{out_trade_no}/payments', {
    params: { path: { out_trade_no: order.data.out_trade_no } },
    body: { method: 'page', return_url: new URL('/demo/thanks', location.origin).href },
  }).catch(unreachable);
  if (!payment.data?.pay_url) return explain(payment.error, payment.response);
  location.assign(payment.data.pay_url);
  return undefined;
}

function explain(error: unknown, response?: Response): string {
  return response?.status === 401 ? 'payport does not know that token.' : describeError(error, response);
}
