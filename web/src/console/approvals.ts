// Refunds waiting for an operator's yes or no (the approval policy held them).
import { showError, type Api, type Refund } from '../api/client';
import { age, busy, h, messageBox, say, section, status, yuan, settled } from '../ui';

export async function approvalsView(api: Api): Promise<HTMLElement> {
  const list = h('ul', { class: 'cards' });
  const message = messageBox();
  const view = section('Approval queue', message, list);

  async function load(): Promise<void> {
    const { data, error, response } = await api.GET('/v1/refunds', {
      params: { query: { status: 'pending_approval', limit: 100 } },
    });
    if (!data) {
      showError(message, error, response);
      return;
    }
    list.replaceChildren(...data.items.map(item));
    if (data.items.length === 0) list.append(h('li', { class: 'empty' }, 'Nothing waits for approval.'));
  }

  function item(refund: Refund): HTMLLIElement {
    const li = h('li', { class: 'card' });
    const outcome = messageBox();
    const approve = h('button', { type: 'button', 'aria-label': `Approve refund ${refund.refund_id}` }, 'Approve');
    const reject = h('button', { type: 'button', class: 'danger', 'aria-label': `Reject refund ${refund.refund_id}` }, 'Reject');
    const actions = h('div', { class: 'actions' }, approve, reject);

    approve.addEventListener('click', () => busy(approve, async () => {
      const { data, error, response } = await settled(api.POST('/v1/refunds/{refund_id}/approve', {
        params: { path: { refund_id: refund.refund_id } },
      }));
      if (data) {
        await load();
        say(message, `Approved refund ${refund.refund_id} (${yuan(refund.amount)}): now ${data.status.replaceAll('_', ' ')}.`);
      } else showError(outcome, error, response);
    }));

    reject.addEventListener('click', () => {
      const reason = h('input', { id: `reason-${refund.refund_id}`, required: true, maxlength: '256' });
      const confirm = h('button', { type: 'submit', class: 'danger' }, 'Reject refund');
      const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const form = h('form', { class: 'inline-form' },
        h('label', { for: reason.id }, `Why reject refund ${refund.refund_id}?`), reason,
        h('div', { class: 'actions' }, confirm, cancel));
      cancel.addEventListener('click', () => {
        form.replaceWith(actions);
        reject.focus();
      });
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        void busy(confirm, async () => {
          const { data, error, response } = await settled(api.POST('/v1/refunds/{refund_id}/reject', {
            params: { path: { refund_id: refund.refund_id } },
            body: { reason: reason.value.trim() },
          }));
          if (data) {
            await load();
            say(message, `Rejected refund ${refund.refund_id} (${yuan(refund.amount)}).`);
          } else showError(outcome, error, response, { reason });
        });
      });
      actions.replaceWith(form);
      reason.focus();
    });

    li.append(
      h('div', { class: 'card-head' }, h('strong', {}, yuan(refund.amount)), status(refund.status)),
      h('p', {}, 'Order ', h('a', { href: `#orders?order=${encodeURIComponent(refund.out_trade_no)}` }, refund.out_trade_no),
        ` · ${refund.refund_id} · waiting ${age(refund.created_at)}`),
      h('p', {}, refund.reason ? `Reason: ${refund.reason}` : 'No reason given.'),
      refund.gateway === 'mapi_pwd'
        ? h('p', {}, 'Legacy operator-password refund: it can also go into one batch with others under ',
          h('a', { href: '#attention' }, 'Refunds needing a person'), '.')
        : '',
      actions,
      outcome,
    );
    return li;
  }

  await load();
  return view;
}
