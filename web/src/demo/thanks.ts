// The thank-you page the cashier returns to (`?out_trade_no=…`, added by payport):
// the order's status, followed live until nothing is in flight, and a "Request
// refund" button for what is left to refund, gone once nothing is.
import { apiClient, showError, type Failure, idempotencyKey, type Api, type Order, type Refund } from '../api/client';
import { busy, fields, h, messageBox, say, status, yuan, settled } from '../ui';
import { demoToken } from './token';

const ORDER_WORDS: Record<Order['status'], string> = {
  pending: 'Waiting for payment',
  paid: 'Paid',
  partially_refunded: 'Partly refunded',
  refunded: 'Refunded',
  closed: 'Closed, not paid',
  finished: 'Finished, no more refunds',
};
const REFUND_WORDS: Record<Refund['status'], string> = {
  pending_approval: 'Waiting for the shop to approve',
  approved: 'Approved, being sent',
  processing: 'Being refunded',
  awaiting_operator: 'Waiting for the shop to confirm at Alipay',
  succeeded: 'Refunded',
  failed: 'Failed',
  rejected: 'Rejected by the shop',
};
const SETTLED_REFUNDS: Refund['status'][] = ['succeeded', 'failed', 'rejected'];
/** How often the page asks again while something is in flight. */
const POLL_MS = 1000;

export async function thanksView(query: URLSearchParams): Promise<HTMLElement> {
  const id = query.get('out_trade_no');
  const token = demoToken.get();
  const title = h('h2', { id: 'view-title', tabindex: '-1' }, 'Thank you for your order');
  if (!id || !token) {
    return h('section', { class: 'card' }, title,
      h('p', {}, id ? 'This tab has no merchant token to look the order up with.' : 'No order is named here.'),
      h('a', { href: '/demo/' }, 'Back to the shop'));
  }
  const api = apiClient(() => token);
  const order = h('div', { id: 'order', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading the order…'));
  const refund = h('button', { type: 'button', id: 'refund', hidden: true }, 'Request refund');
  const message = messageBox();
  const view = h('section', { class: 'card', 'aria-labelledby': 'view-title' },
    title, order, refund, message, h('a', { href: '/demo/' }, 'Back to the shop'));

  let timer: number | undefined;
  const follow = async (): Promise<void> => {
    clearTimeout(timer);
    const { data, error, response } = await settled(api.GET('/v1/orders/{out_trade_no}', {
      params: { path: { out_trade_no: id } },
    }));
    if (!data) {
      showError(message, error, response);
      // A network blip is retried; payport's own "no" is not.
      if (!response) timer = window.setTimeout(() => void follow(), POLL_MS);
      return;
    }
    order.replaceChildren(...orderDetails(data));
    // Nothing (more) to refund: the button goes, and with it the focus would be lost.
    const canRefund = (data.status === 'paid' || data.status === 'partially_refunded') && !isZero(data.refundable_amount);
    if (!canRefund && document.activeElement === refund) title.focus();
    refund.hidden = !canRefund;
    refund.textContent = `Request refund of ${yuan(data.refundable_amount)}`;
    const inFlight = data.status === 'pending' || (data.refunds ?? []).some((r) => !SETTLED_REFUNDS.includes(r.status));
    if (inFlight) timer = window.setTimeout(() => void follow(), POLL_MS);
  };

  refund.addEventListener('click', () => void busy(refund, async () => {
    const failed = await requestRefund(api, id);
    if (failed) showError(message, failed.error, failed.response);
    else say(message, 'Refund requested.');
    await follow();
  }));
  await follow();
  return view;
}

function orderDetails(order: Order): Node[] {
  const refunds = order.refunds ?? [];
  return [
    fields([
      ['Order', order.out_trade_no],
      ['Item', order.subject],
      ['Amount', yuan(order.total_amount)],
      ['Status', h('span', { id: 'order-status', 'data-status': order.status }, status(order.status, ORDER_WORDS[order.status]))],
      ['Refunded', yuan(order.refunded_amount)],
    ]),
    ...(refunds.length === 0 ? [] : [
      h('h3', {}, 'Refunds'),
      h('ul', { class: 'refunds' }, ...refunds.map((r) => h('li', { class: 'refund', 'data-status': r.status },
        `${yuan(r.amount)}: `, status(r.status, REFUND_WORDS[r.status]),
        r.rejection_reason ? ` (${r.rejection_reason})` : ''))),
    ]),
  ];
}

/** Requests a refund of all that is left; answers why not, if payport refused. */
async function requestRefund(api: Api, id: string): Promise<Failure | undefined> {
  // The amount is payport's own refundable_amount, read fresh, so that a refund made
  // elsewhere meanwhile is not asked for twice.
  const current = await settled(api.GET('/v1/orders/{out_trade_no}', { params: { path: { out_trade_no: id } } }));
  if (!current.data) return current;
  const made = await settled(api.POST('/v1/orders/{out_trade_no}/refunds', {
    params: { path: { out_trade_no: id }, header: { 'Idempotency-Key': idempotencyKey('demo') } },
    body: { amount: current.data.refundable_amount, reason: 'Requested on the demo shop\'s thank-you page' },
  }));
  return made.data ? undefined : made;
}

/** "0.00" and the like; amounts stay strings, never floats. */
function isZero(amount: string): boolean {
  return /^0*(\.0*)?$/.test(amount);
}
