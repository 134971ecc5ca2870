// Refunds that need a person: `processing` ones (the outcome is not known yet; Sync
// asks Alipay); legacy operator-password (`mapi_pwd`) ones still pending approval or
// approved, which an operator puts into one batch; and `awaiting_operator` ones, whose
// batch waits for the operator to confirm it on Alipay's page.
import { showError, idempotencyKey, type Api, type Refund } from '../api/client';
import { age, busy, h, messageBox, say, section, status, yuan, settled } from '../ui';

export async function attentionView(api: Api): Promise<HTMLElement> {
  const message = messageBox();
  const processing = h('div', {});
  const toBatch = h('div', {});
  const awaiting = h('div', {});
  const view = section('Refunds needing a person', message,
    h('h3', {}, 'Processing: outcome not known yet'), processing,
    h('h3', {}, 'Legacy refunds to batch for Alipay'), toBatch,
    h('h3', {}, 'Awaiting an operator on Alipay (legacy)'), awaiting);

  async function fetchAll(wanted: Refund['status']): Promise<Refund[] | undefined> {
    const items: Refund[] = [];
    let cursor: string | undefined;
    do {
      const { data, error, response } = await api.GET('/v1/refunds', {
        params: { query: { status: wanted, limit: 100, cursor } },
      });
      if (!data) {
        showError(message, error, response);
        return undefined;
      }
      items.push(...data.items);
      cursor = data.next_cursor;
    } while (cursor && items.length < 1000);
    return items;
  }

  async function load(): Promise<void> {
    const [inFlight, pending, approved, waiting] = await Promise.all([fetchAll('processing'),
      fetchAll('pending_approval'), fetchAll('approved'), fetchAll('awaiting_operator')]);
    if (inFlight) showProcessing(inFlight);
    if (pending && approved) showToBatch([...pending, ...approved].filter((r) => r.gateway === 'mapi_pwd'));
    if (waiting) showAwaiting(waiting);
  }

  function showProcessing(refunds: Refund[]): void {
    processing.replaceChildren(refunds.length === 0 ? h('p', { class: 'empty' }, 'None.')
      : h('ul', { class: 'cards' }, ...refunds.map((r) => {
        const outcome = messageBox();
        const sync = h('button', { type: 'button', 'aria-label': `Sync refund ${r.refund_id}` }, 'Sync');
        sync.addEventListener('click', () => busy(sync, async () => {
          const { data, error, response } = await settled(api.POST('/v1/refunds/{refund_id}/sync', {
            params: { path: { refund_id: r.refund_id } },
          }));
          if (data) {
            await load();
            say(message, `Refund ${r.refund_id}: ${data.status.replaceAll('_', ' ')}.`);
          } else showError(outcome, error, response);
        }));
        return h('li', { class: 'card' },
          h('div', { class: 'card-head' }, h('strong', {}, yuan(r.amount)), status(r.status)),
          h('p', {}, 'Order ', orderLink(r.out_trade_no), ` · ${r.refund_id} · ${r.attempts} attempts · since ${age(r.created_at)}`),
          h('p', { class: r.last_error ? 'error-text' : '' }, r.last_error ? `Last error: ${r.last_error}` : 'No error recorded.'),
          h('div', { class: 'actions' }, sync), outcome);
      })));
  }

  function showToBatch(unbatched: Refund[]): void {
    if (unbatched.length === 0) {
      toBatch.replaceChildren(h('p', { class: 'empty' }, 'None.'));
      return;
    }
    const boxes = unbatched.map((r) => h('input', { type: 'checkbox', id: `batch-${r.refund_id}`, value: r.refund_id, checked: true }));
    const create = h('button', { type: 'submit' }, 'Create operator batch');
    const outcome = messageBox();
    const form = h('form', { class: 'card' },
      h('fieldset', {}, h('legend', {}, `Operator-password refunds not in a batch (${unbatched.length})`),
        ...unbatched.map((r, i) => h('div', { class: 'check' }, boxes[i]!,
          h('label', { for: `batch-${r.refund_id}` },
            `${yuan(r.amount)} · order ${r.out_trade_no} · ${r.status.replaceAll('_', ' ')} · ${r.refund_id}`)))),
      h('p', {}, 'Batching approves them; nothing is refunded until the operator confirms on Alipay.'),
      h('div', { class: 'actions' }, create), outcome);
    let key = idempotencyKey();
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const ids = boxes.filter((b) => b.checked).map((b) => b.value);
      if (ids.length === 0) {
        say(outcome, 'Choose at least one refund.', 'error');
        return;
      }
      void busy(create, async () => {
        const { data, error, response } = await settled(api.POST('/v1/refunds/operator-batches', {
          params: { header: { 'Idempotency-Key': key } },
          body: { refund_ids: ids },
        }));
        // Kept across a failed network call, like the refund form's.
        if (response) key = idempotencyKey();
        if (!data) {
          showError(outcome, error, response);
          return;
        }
        openOperatorForm(data.operator_form_html);
        await load();
        say(message, `Batch ${data.batch_no} with ${data.refunds.length} refunds: Alipay's confirmation page opened in a new tab.`);
      });
    });
    toBatch.replaceChildren(form);
  }

  function showAwaiting(refunds: Refund[]): void {
    // One card per batch: its refunds share one form. A refund without a batch
    // number (none is expected) gets a card of its own.
    const batches = new Map<string, Refund[]>();
    for (const r of refunds) {
      const key = r.batch_no ? `batch ${r.batch_no}` : `refund ${r.refund_id}`;
      batches.set(key, [...(batches.get(key) ?? []), r]);
    }
    const parts: HTMLElement[] = [];

    for (const [key, members] of batches) {
      const form = members[0]?.operator_form_html;
      const open = h('button', { type: 'button', 'aria-label': `Open Alipay's page for ${key}` }, 'Open Alipay\'s page');
      open.addEventListener('click', () => form && openOperatorForm(form));
      parts.push(h('div', { class: 'card' },
        h('div', { class: 'card-head' }, h('strong', {}, key[0]!.toUpperCase() + key.slice(1)), status('awaiting_operator')),
        h('ul', {}, ...members.map((r) => h('li', {}, `${yuan(r.amount)} · order `, orderLink(r.out_trade_no), ` · ${r.refund_id}`))),
        h('p', {}, 'Opening the page again shows the same batch; Alipay refuses one it has already carried out.'),
        form ? h('div', { class: 'actions' }, open) : h('p', { class: 'error-text' }, 'payport did not send this batch\'s form.')));
    }
    awaiting.replaceChildren(...(parts.length ? parts : [h('p', { class: 'empty' }, 'None.')]));
  }

  await load();
  return view;
}

function orderLink(outTradeNo: string): HTMLAnchorElement {
  return h('a', { href: `#orders?order=${encodeURIComponent(outTradeNo)}` }, outTradeNo);
}

/**
 * Posts Alipay's operator form in a new tab. The form is parsed, never run: its own
 * auto-submit script would need inline scripts, which the console's policy forbids.
 */
export function openOperatorForm(html: string): void {
  const parsed = new DOMParser().parseFromString(html, 'text/html').querySelector('form');
  if (!parsed) throw new Error('payport sent no form');
  const form = document.createElement('form');
  form.method = 'post';
  form.action = parsed.getAttribute('action') ?? '';
  form.acceptCharset = parsed.getAttribute('accept-charset') ?? 'utf-8';
  form.target = '_blank';
  // The new tab gets no handle on the console (and so none on its token).
  form.setAttribute('rel', 'noopener noreferrer');
  form.hidden = true;
  for (const input of parsed.querySelectorAll('input')) {
    if (!input.name || input.type === 'submit') continue;
    const copy = document.createElement('input');
    copy.type = 'hidden';
    copy.name = input.name;
    copy.value = input.value;
    form.append(copy);
  }
  document.body.append(form);
  form.submit();
  form.remove();
}
