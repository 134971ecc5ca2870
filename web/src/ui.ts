// Small DOM helpers: elements without innerHTML (nothing from the API is parsed as
// HTML), amounts in yuan, statuses people can read.

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;

/** `h('button', { onclick, 'aria-label': '…' }, 'Approve')` */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** The API's yuan string, e.g. "88.88", as people read it. */
export function yuan(amount: string | null | undefined): string {
  return amount == null ? '—' : `¥${amount}`;
}

/** A status as a coloured badge that also says it in words (`label`, if given). */
export function status(value: string, label = value.replaceAll('_', ' ')): HTMLElement {
  return h('span', { class: `status status-${value}` }, label);
}

/** "4 min", "2 h", "3 d" since an RFC 3339 time. */
export function age(since: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(since)) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 48 * 60) return `${Math.floor(minutes / 60)} h`;
  return `${Math.floor(minutes / 1440)} d`;
}

export function when(time: string | null | undefined): string {
  return time ? new Date(time).toLocaleString() : '—';
}

/** A message region that screen readers announce when it changes. */
export function messageBox(): HTMLParagraphElement {
  return h('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
}

export function say(box: HTMLElement, text: string, kind: 'ok' | 'error' = 'ok'): void {
  box.textContent = text;
  box.className = `message message-${kind}`;
  box.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}

/** Label and value pairs, e.g. an order's fields. */
export function fields(pairs: [string, Child][]): HTMLDListElement {
  return h('dl', { class: 'fields' }, ...pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** A section with its heading; the heading takes focus when the section is shown. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { 'aria-labelledby': 'view-title' },
    h('h2', { id: 'view-title', tabindex: '-1' }, title), ...children);
}

/** Runs `work` with the button disabled, so that a double click sends once. */
export async function busy(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

/** What an API call gives when fetch itself threw (payport unreachable, the network down). */
export type Unreached = { data: undefined; error: unknown; response: undefined };

/**
 * An API call's result, with a thrown fetch turned into an error result, so that the
 * caller shows it in place like any other failure instead of losing it.
 */
export function settled<T>(call: Promise<T>): Promise<T | Unreached> {
  return call.catch((error: unknown): Unreached => ({ data: undefined, error, response: undefined }));
}
