// The product and its checkout: create the order, then either start a page payment
// whose return URL is the thank-you page and send the buyer to the (simulated) Alipay
// cashier, or start a QR payment and show its code, next to a link to what a phone
// that scanned it would show, and one to the thank-you page.
import { apiClient, showError, type Failure } from '../api/client';
import { busy, h, messageBox, say, yuan, settled } from '../ui';
import { demoToken, tokenField } from './token';

const PRODUCT = { subject: 'Longjing tea 龙井茶, 250 g', price: '88.00' };

export async function shopView(): Promise<HTMLElement> {
  const token = await tokenField();
  const buy = h('button', { type: 'submit', id: 'buy' }, `Pay ${yuan(PRODUCT.price)} with Alipay`);
  const qr = h('button', { type: 'button', id: 'buy-qr', class: 'secondary' }, 'Pay by QR code');
  const message = messageBox();
  const shown = h('div', { id: 'qr' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'view-title' },
    h('h2', { id: 'view-title', tabindex: '-1' }, PRODUCT.subject),
    h('p', { class: 'muted' }, 'Spring-picked green tea from Hangzhou, pan-fired by hand.'),
    h('p', { class: 'price', id: 'price' }, yuan(PRODUCT.price)),
    token.field, buy, qr, message, shown);
  const pay = (button: HTMLButtonElement, method: 'page' | 'qr') => void busy(button, async () => {
    say(message, '');
    const failed = await checkout(token.value(), method, shown);
    if (failed) explain(message, failed);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    pay(buy, 'page');
  });
  qr.addEventListener('click', () => pay(qr, 'qr'));
  return form;
}

/**
 * Sends the browser to the cashier (page) or shows the QR code in `shown` (qr); or
 * answers why it could not.
 */
async function checkout(token: string, method: 'page' | 'qr', shown: HTMLElement): Promise<Failure | undefined> {
  const api = apiClient(() => token);
  const order = await settled(api.POST('/v1/orders', { body: { subject: PRODUCT.subject, total_amount: PRODUCT.price } }));
  if (!order.data) return order;
  demoToken.set(token);
  const id = order.data.out_trade_no;
  const payment = await settled(api.POST('/v1/orders/{out_trade_no}/payments', {
    params: { path: { out_trade_no: id } },
    body: method === 'page' ? { method, return_url: new URL('/demo/thanks', location.origin).href } : { method },
  }));
  const { pay_url: payUrl, qr_code: code, qr_svg: svg } = payment.data ?? {};
  if (method === 'page' && payUrl) location.assign(payUrl);
  else if (method === 'qr' && code && svg) shown.replaceChildren(...qrPanel(id, code, svg));
  else return payment;
  return undefined;
}

function qrPanel(id: string, code: string, svg: string): Node[] {
  // The SVG as an image, never parsed into the page.
  const image = h('img', { src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, width: '200',
    height: '200', alt: `QR code: scan it with Alipay to pay ${yuan(PRODUCT.price)}` });
  const thanks = h('a', { href: `/demo/thanks?out_trade_no=${encodeURIComponent(id)}`, id: 'qr-thanks' },
    'Show my order');
  const phone = h('a', { href: code, target: '_blank', rel: 'noopener', id: 'qr-phone' },
    'Open what a phone that scanned it shows');
  // The next step for a keyboard user.
  queueMicrotask(() => phone.focus());
  return [image,
    h('p', {}, 'No phone at hand? ', phone, ' (the simulator\'s cashier, in a new tab), pay there, then:'),
    thanks];
}

function explain(message: HTMLElement, { error, response }: Failure): void {
  if (response?.status === 401) say(message, 'payport does not know that token.', 'error');
  else showError(message, error, response);
}
