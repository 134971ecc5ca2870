// A Beijing day's books checked against Alipay's trade bill: read the report, or run
// it now.
import { clearFieldErrors, showError, type Api, type Schemas } from '../api/client';
import { busy, fields, h, messageBox, say, section, status, when, yuan, settled } from '../ui';

/** Yesterday in Beijing (UTC+8, no daylight saving), the day the daily run checks. */
function yesterdayInBeijing(): string {
  return new Date(Date.now() + 8 * 3_600_000 - 86_400_000).toISOString().slice(0, 10);
}

export async function reconciliationsView(api: Api, args: URLSearchParams): Promise<HTMLElement> {
  const date = h('input', { id: 'recon-date', type: 'date', required: true, value: args.get('date') ?? yesterdayInBeijing() });
  const show = h('button', { type: 'submit' }, 'Show report');
  const run = h('button', { type: 'button', class: 'secondary' }, 'Reconcile now');
  const form = h('form', { class: 'inline-form' }, h('label', { for: 'recon-date' }, 'Beijing date'), date, show, run);
  const message = messageBox();
  const report = h('div', {});
  const view = section('Reconciliation', form, message, report);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#reconciliations?date=${date.value}`;
  });
  run.addEventListener('click', () => busy(run, async () => {
    const { data, error, response } = await settled(api.POST('/v1/reconciliations', { body: { date: date.value } }));
    if (data) {
      clearFieldErrors({ date });
      say(message, `Reconciled ${data.date}: ${data.status}.`);
      report.replaceChildren(render(data));
    } else showError(message, error, response, { date });
  }));

  const { data, error, response } = await api.GET('/v1/reconciliations/{date}', { params: { path: { date: date.value } } });
  if (data) report.append(render(data));
  else if (response.status === 404) say(message, `No report for ${date.value} yet.`);
  else showError(message, error, response);
  return view;
}

function render(r: Schemas['Reconciliation']): HTMLElement {
  const c = r.counts;
  return h('article', { class: 'card detail' },
    h('div', { class: 'card-head' }, h('h3', {}, `Report for ${r.date}`), status(r.status)),
    fields([
      ['Attempts', String(r.attempts)],
      ['Updated', when(r.updated_at)],
      ['Matched', c ? String(c.matched) : '—'],
      ['Mismatches', c ? String(c.mismatches) : '—'],
      ['Unresolved', c ? String(c.unresolved) : '—'],
      ['Alipay payments / refunds', c ? `${c.alipay_payments} / ${c.alipay_refunds}` : '—'],
      ['payport payments / refunds', c ? `${c.payport_payments} / ${c.payport_refunds}` : '—'],
    ]),
    r.last_error ? h('p', { class: 'error-text' }, `Last error: ${r.last_error}`) : null,
    r.items.length === 0 ? h('p', {}, 'Nothing to look at.') : h('div', { class: 'table' }, h('table', {},
      h('thead', {}, h('tr', {}, ...['Kind', 'Order', 'Refund', 'Alipay', 'payport', 'Action', 'Note']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...r.items.map((i) => h('tr', {},
        h('td', {}, status(i.kind)), h('td', {}, i.out_trade_no), h('td', {}, i.out_request_no ?? '—'),
        h('td', {}, yuan(i.alipay_amount)), h('td', {}, yuan(i.payport_amount)),
        h('td', {}, i.action.replaceAll('_', ' ')), h('td', {}, i.note ?? '')))))));
}
