// Orders: find one by its number, list them by status, and an order's detail with
// its refunds and a refund form that shows payport's answer where it was asked.
import { clearFieldErrors, showError, idempotencyKey, type Api, type Order, type Schemas } from '../api/client';
import { busy, fields, h, messageBox, say, section, status, when, yuan, settled } from '../ui';

const ORDER_STATUSES: Schemas['OrderStatus'][] = ['pending', 'paid', 'partially_refunded', 'refunded', 'closed', 'finished'];
const GATEWAYS: Schemas['RefundGateway'][] = ['openapi', 'mapi_nopwd', 'mapi_pwd'];

export async function ordersView(api: Api, args: URLSearchParams): Promise<HTMLElement> {
  const number = h('input', { id: 'order-no', name: 'order', autocomplete: 'off', required: true, value: args.get('order') ?? '' });
  const find = h('form', { class: 'inline-form', role: 'search' },
    h('label', { for: 'order-no' }, 'Order number (out_trade_no)'), number,
    h('button', { type: 'submit' }, 'Find order'));
  const filter = h('select', { id: 'order-status' },
    h('option', { value: '' }, 'any status'),
    ...ORDER_STATUSES.map((s) => h('option', { value: s, selected: args.get('status') === s }, s.replaceAll('_', ' '))));
  const list = h('form', { class: 'inline-form' },
    h('label', { for: 'order-status' }, 'Status'), filter, h('button', { type: 'submit' }, 'List orders'));
  const message = messageBox();
  const results = h('div', {});
  const view = section('Orders', h('div', { class: 'toolbar' }, find, list), message, results);

  find.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#orders?order=${encodeURIComponent(number.value.trim())}`;
  });
  list.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = filter.value ? `#orders?status=${filter.value}` : '#orders?list';
  });

  const wanted = args.get('order');
  if (wanted) {
    const { data, error, response } = await api.GET('/v1/orders/{out_trade_no}', {
      params: { path: { out_trade_no: wanted } },
    });
    if (data) results.append(orderDetail(api, data));
    else showError(message, error, response);
  } else {
    const chosen = ORDER_STATUSES.find((s) => s === args.get('status'));
    await listOrders(api, chosen, results, message);
  }
  return view;
}

async function listOrders(api: Api, chosen: Schemas['OrderStatus'] | undefined, into: HTMLElement,
  message: HTMLElement, cursor?: string): Promise<void> {
  const { data, error, response } = await api.GET('/v1/orders', {
    params: { query: { status: chosen, limit: 50, cursor } },
  });
  if (!data) {
    showError(message, error, response);
    return;
  }
  const rows = data.items.map((o) => h('li', { class: 'card' },
    h('div', { class: 'card-head' },
      h('a', { href: `#orders?order=${encodeURIComponent(o.out_trade_no)}` }, o.out_trade_no), status(o.status)),
    h('p', {}, `${yuan(o.total_amount)} · ${o.subject} · ${when(o.created_at)}`)));
  if (rows.length === 0 && !cursor) rows.push(h('li', { class: 'empty' }, 'No orders.'));
  into.append(h('ul', { class: 'cards' }, ...rows));
  if (data.next_cursor) {
    const more = h('button', { type: 'button', class: 'secondary' }, 'More orders');
    more.addEventListener('click', () => {
      more.remove();
      void listOrders(api, chosen, into, message, data.next_cursor);
    });
    into.append(more);
  }
}

function orderDetail(api: Api, order: Order): HTMLElement {
  const refunds = order.refunds ?? [];
  return h('article', { class: 'card detail' },
    h('div', { class: 'card-head' }, h('h3', {}, `Order ${order.out_trade_no}`), status(order.status)),
    fields([
      ['Subject', order.subject],
      ['Total', yuan(order.total_amount)],
      ['Refunded', yuan(order.refunded_amount)],
      ['Refundable', yuan(order.refundable_amount)],
      ['Alipay trade', order.trade_no ?? '—'],
      ['Created', when(order.created_at)],
      ['Paid', when(order.paid_at)],
      order.paid_after_close ? ['Warning', 'Alipay took a payment after the order was closed.'] : ['Closed', when(order.closed_at)],
    ]),
    h('h4', {}, `Refunds (${refunds.length})`),
    refunds.length === 0 ? h('p', {}, 'None yet.') : h('ul', { class: 'cards' }, ...refunds.map((r) => h('li', { class: 'card' },
      h('div', { class: 'card-head' }, h('strong', {}, yuan(r.amount)), status(r.status)),
      h('p', {}, `${r.refund_id} · ${r.gateway}${r.external ? ' · made outside payport' : ''} · ${when(r.created_at)}`),
      r.reason ? h('p', {}, `Reason: ${r.reason}`) : null,
      r.rejection_reason ? h('p', {}, `Rejected: ${r.rejection_reason}`) : null,
      r.last_error ? h('p', { class: 'error-text' }, `Last error: ${r.last_error}`) : null,
      r.failure ? h('p', { class: 'error-text' }, `Failed: ${r.failure.message} (${r.failure.code})`) : null))),
    refundForm(api, order));
}

function refundForm(api: Api, order: Order): HTMLElement {
  const amount = h('input', { id: 'refund-amount', inputmode: 'decimal', required: true, placeholder: order.refundable_amount, autocomplete: 'off' });
  const reason = h('input', { id: 'refund-reason', maxlength: '256', autocomplete: 'off' });
  // First and chosen: no gateway sent, so that payport's configured default applies.
  const gateway = h('select', { id: 'refund-gateway' }, h('option', { value: '' }, 'Configured default'),
    ...GATEWAYS.map((g) => h('option', { value: g }, g)));
  const submit = h('button', { type: 'submit' }, 'Refund');
  const message = messageBox();
  const form = h('form', { class: 'card refund-form' },
    h('h4', {}, 'New refund'),
    h('label', { for: 'refund-amount' }, 'Amount (yuan)'), amount,
    h('label', { for: 'refund-reason' }, 'Reason'), reason,
    h('label', { for: 'refund-gateway' }, 'Gateway'), gateway,
    submit, message);
  // Kept across a failed network call, so that retrying cannot refund twice; a new
  // one once payport has answered.
  let key = idempotencyKey();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(submit, async () => {
      const result = await settled(api.POST('/v1/orders/{out_trade_no}/refunds', {
        params: { path: { out_trade_no: order.out_trade_no }, header: { 'Idempotency-Key': key } },
        body: {
          amount: amount.value.trim(),
          reason: reason.value.trim() || undefined,
          gateway: GATEWAYS.find((g) => g === gateway.value),
        },
      }));
      if (result.response) key = idempotencyKey();
      if (result.data) {
        clearFieldErrors({ amount, reason, gateway });
        say(message, `Refund ${result.data.refund_id} for ${yuan(result.data.amount)}: ${result.data.status.replaceAll('_', ' ')}.`);
        const back = h('a', { href: `#orders?order=${encodeURIComponent(order.out_trade_no)}` }, 'Show the order again');
        message.append(' ', back);
        back.addEventListener('click', (ev) => {
          ev.preventDefault();
          window.dispatchEvent(new HashChangeEvent('hashchange'));
        });
      } else showError(message, result.error, result.response, { amount, reason, gateway });
    });
  });
  return form;
}
