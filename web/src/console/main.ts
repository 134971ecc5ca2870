// The operator console: sign in with a bearer token, then one view at a time, chosen
// by the address's #fragment so that views can be linked and the Back button works.
import { apiClient, describeError, session, type Api } from '../api/client';
import { approvalsView } from './approvals';
import { attentionView } from './attention';
import { eventsView } from './events';
import { ordersView } from './orders';
import { reconciliationsView } from './reconciliations';
import { h, messageBox, say, settled } from '../ui';

export type View = (api: Api, args: URLSearchParams) => Promise<HTMLElement>;

const views: Record<string, { title: string; view: View }> = {
  approvals: { title: 'Approval queue', view: approvalsView },
  orders: { title: 'Orders', view: ordersView },
  attention: { title: 'Refunds needing a person', view: attentionView },
  events: { title: 'Events and webhooks', view: eventsView },
  reconciliations: { title: 'Reconciliation', view: reconciliationsView },
};

const api = apiClient(session.token, () => {
  session.signOut();
  void render('payport no longer accepts that token; sign in again.');
});
const app = document.getElementById('app')!;
const nav = document.getElementById('nav')!;
const signOut = document.getElementById('sign-out') as HTMLButtonElement;

function signInForm(notice?: string): HTMLElement {
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true });
  const message = messageBox();
  const form = h('form', { class: 'card sign-in' },
    h('h2', {}, 'Sign in'),
    h('p', {}, 'Paste an operator token. It is kept in this tab only (sessionStorage).'),
    h('label', { for: 'token' }, 'Token'),
    token,
    h('button', { type: 'submit' }, 'Sign in'),
    message);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const candidate = token.value.trim();
    // Any operator-only read tells a good token from a bad one; it is kept only then.
    const { error, response } = await settled(api.GET('/v1/refunds', {
      params: { query: { limit: 1 } },
      headers: { Authorization: `Bearer ${candidate}` },
    }));
    if (response?.ok) {
      session.signIn(candidate);
      location.hash = location.hash || '#approvals';
      void render();
      return;
    }
    const text = response?.status === 401 ? 'That token is not one payport knows.'
      : response?.status === 403 ? 'That is a merchant token; the console needs an operator token.'
        : describeError(error, response);
    say(message, text, 'error');
  });
  if (notice) say(message, notice, 'error');
  queueMicrotask(() => token.focus());
  return form;
}

/** Counts renders, so that a slow view never replaces one chosen after it. */
let generation = 0;

async function render(notice?: string): Promise<void> {
  const mine = ++generation;
  const signedIn = session.token() !== null;
  nav.hidden = !signedIn;
  signOut.hidden = !signedIn;
  if (!signedIn) {
    app.replaceChildren(signInForm(notice));
    return;
  }
  const [name = 'approvals', query = ''] = location.hash.slice(1).split('?');
  const chosen = views[name] ?? views.approvals!;
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#${name}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${chosen.title} · payport console`;
  app.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
  try {
    const view = await chosen.view(api, new URLSearchParams(query));
    // Another view was chosen meanwhile, or a 401 has shown the sign-in form.
    if (mine !== generation || session.token() === null) return;
    app.replaceChildren(view);
    view.querySelector<HTMLElement>('#view-title')?.focus();
  } catch (err) {
    if (mine !== generation) return;
    const message = messageBox();
    say(message, describeError(err), 'error');
    app.replaceChildren(message);
  }
}

nav.replaceChildren(h('ul', {}, ...Object.entries(views).map(([name, { title }]) =>
  h('li', {}, h('a', { href: `#${name}` }, title)))));
signOut.addEventListener('click', () => {
  session.signOut();
  void render();
});
window.addEventListener('hashchange', () => void render());
// A click on the view already shown shows it again, fresh (no hashchange comes).
nav.addEventListener('click', (e) => {
  const link = (e.target as Element).closest('a');
  if (link && link.getAttribute('href') === location.hash) void render();
});
void render();
