// Events (oldest first, as the API lists them), an event's webhook deliveries with
// every attempt, and the webhook endpoints.
import { clearFieldErrors, showError, type Api, type Schemas } from '../api/client';
import { busy, fields, h, messageBox, say, section, status, when, settled } from '../ui';

const EVENT_TYPES: Schemas['EventType'][] = ['order.paid', 'order.partially_refunded', 'order.refunded',
  'order.closed', 'order.finished', 'refund.pending_approval', 'refund.approved', 'refund.rejected',
  'refund.processing', 'refund.awaiting_operator', 'refund.succeeded', 'refund.failed'];

export async function eventsView(api: Api, args: URLSearchParams): Promise<HTMLElement> {
  const message = messageBox();
  const type = h('select', { id: 'event-type' }, h('option', { value: '' }, 'any type'),
    ...EVENT_TYPES.map((t) => h('option', { value: t, selected: args.get('type') === t }, t)));
  const object = h('input', { id: 'event-object', autocomplete: 'off', value: args.get('object') ?? '' });
  const filter = h('form', { class: 'inline-form', role: 'search' },
    h('label', { for: 'event-type' }, 'Type'), type,
    h('label', { for: 'event-object' }, 'Order or refund id'), object,
    h('button', { type: 'submit' }, 'List events'));
  filter.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    if (type.value) q.set('type', type.value);
    if (object.value.trim()) q.set('object', object.value.trim());
    location.hash = `#events?${q}`;
  });
  const events = h('div', {});
  const endpoints = h('div', {});
  const view = section('Events and webhooks', message, filter, events,
    h('h3', {}, 'Webhook endpoints'), endpoints);

  const eventId = args.get('event');
  if (eventId) await showEvent(api, eventId, events, message);
  else await listEvents(api, EVENT_TYPES.find((t) => t === args.get('type')), args.get('object') ?? undefined, events, message);
  await listEndpoints(api, endpoints, message);
  return view;
}

async function listEvents(api: Api, type: Schemas['EventType'] | undefined, objectId: string | undefined,
  into: HTMLElement, message: HTMLElement, after?: string): Promise<void> {
  const { data, error, response } = await api.GET('/v1/events', {
    params: { query: { type, object_id: objectId, after, limit: 50 } },
  });
  if (!data) {
    showError(message, error, response);
    return;
  }
  const rows = data.items.map((e) => {
    const obj = e.data.object;
    const about = 'refund_id' in obj ? `refund ${obj.refund_id}` : `order ${obj.out_trade_no}`;
    return h('tr', {},
      h('td', {}, h('a', { href: `#events?event=${encodeURIComponent(e.id)}` }, e.id)),
      h('td', {}, e.type), h('td', {}, about), h('td', {}, when(e.created_at)));
  });
  if (!after) {
    into.replaceChildren(h('div', { class: 'table' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Event'), h('th', { scope: 'col' }, 'Type'),
        h('th', { scope: 'col' }, 'About'), h('th', { scope: 'col' }, 'Written'))),
      h('tbody', {}, ...rows))));
    if (rows.length === 0) into.append(h('p', { class: 'empty' }, 'No events.'));
  } else into.querySelector('tbody')?.append(...rows);
  if (data.next_cursor) {
    const more = h('button', { type: 'button', class: 'secondary' }, 'Later events');
    more.addEventListener('click', () => {
      more.remove();
      void listEvents(api, type, objectId, into, message, data.next_cursor);
    });
    into.append(more);
  }
}

async function showEvent(api: Api, id: string, into: HTMLElement, message: HTMLElement): Promise<void> {
  const { data, error, response } = await api.GET('/v1/events/{event_id}', { params: { path: { event_id: id } } });
  if (!data) {
    showError(message, error, response);
    return;
  }
  const redeliver = h('button', { type: 'button' }, 'Redeliver');
  redeliver.addEventListener('click', () => busy(redeliver, async () => {
    const r = await settled(api.POST('/v1/events/{event_id}/redeliver', { params: { path: { event_id: id } } }));
    if (r.response?.ok) say(message, `Event ${id} will be delivered again.`);
    else showError(message, r.error, r.response);
  }));
  into.replaceChildren(h('article', { class: 'card detail' },
    h('h3', {}, `${data.type} · ${data.id}`),
    fields([['Written', when(data.created_at)]]),
    h('h4', {}, 'Deliveries'),
    data.deliveries.length === 0 ? h('p', {}, 'No endpoint wanted this event.') : h('ul', { class: 'cards' },
      ...data.deliveries.map((d) => h('li', { class: 'card' },
        h('div', { class: 'card-head' }, h('strong', {}, d.url ?? d.endpoint_id), status(d.status)),
        d.next_attempt_at ? h('p', {}, `Next attempt ${when(d.next_attempt_at)}`) : null,
        h('ol', {}, ...d.attempts.map((a) => h('li', {},
          `${when(a.at)}: ${a.status_code ?? 'no answer'}${a.error ? ` (${a.error})` : ''}, ${a.duration_ms} ms`)))))),
    h('div', { class: 'actions' }, redeliver, h('a', { href: '#events' }, 'All events')),
    h('details', {}, h('summary', {}, 'Body'), h('pre', {}, JSON.stringify(data.data.object, null, 2)))));
}

async function listEndpoints(api: Api, into: HTMLElement, message: HTMLElement): Promise<void> {
  const { data, error, response } = await api.GET('/v1/webhook-endpoints');
  if (!data) {
    showError(message, error, response);
    return;
  }
  const url = h('input', { id: 'endpoint-url', type: 'url', required: true, placeholder: 'https://shop.example/hooks/payport' });
  const add = h('button', { type: 'submit' }, 'Add endpoint');
  const outcome = messageBox();
  const form = h('form', { class: 'inline-form' }, h('label', { for: 'endpoint-url' }, 'New endpoint URL'), url, add, outcome);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void busy(add, async () => {
      const r = await settled(api.POST('/v1/webhook-endpoints', { body: { url: url.value.trim() } }));
      if (!r.data) {
        showError(outcome, r.error, r.response, { url });
        return;
      }
      clearFieldErrors({ url });
      await listEndpoints(api, into, message);
      say(message, `Endpoint ${r.data.id} added. Its signing secret, shown only now: ${r.data.secret}`);
    });
  });
  into.replaceChildren(
    data.length === 0 ? h('p', { class: 'empty' }, 'No endpoints.') : h('ul', { class: 'cards' }, ...data.map((w) => {
      const remove = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete endpoint ${w.id}` }, 'Delete');
      remove.addEventListener('click', () => busy(remove, async () => {
        if (!confirm(`Delete endpoint ${w.url}? Its pending deliveries fail.`)) return;
        const r = await settled(api.DELETE('/v1/webhook-endpoints/{endpoint_id}', { params: { path: { endpoint_id: w.id } } }));
        if (r.response?.ok) await listEndpoints(api, into, message);
        else showError(message, r.error, r.response);
      }));
      return h('li', { class: 'card' },
        h('div', { class: 'card-head' }, h('strong', {}, w.url), w.configured ? h('span', { class: 'tag' }, 'from config') : null),
        h('p', {}, `${w.id} · ${w.event_types?.join(', ') || 'every event'} · since ${when(w.created_at)}`),
        h('div', { class: 'actions' }, remove));
    })),
    form);
}
