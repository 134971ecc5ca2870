// The merchant token the demo calls the API with. In simulator mode with no tokens
// configured, payport serves its DEV merchant token (/demo/token.json) to prefill the
// field; with tokens configured the field starts empty and the visitor pastes a
// merchant token. The token is kept in this tab only, under its own key, so that the
// thank-you page has it after the cashier and the console's sign-in is left alone.
import { h } from '../ui';

const KEY = 'payport.demo.token';

export const demoToken = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (token: string): void => sessionStorage.setItem(KEY, token),
};

/** The token field, prefilled with the tab's token or else payport's DEV token. */
export async function tokenField(): Promise<{ field: HTMLElement; value: () => string }> {
  const input = h('input', { id: 'token', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true });
  input.value = demoToken.get() ?? (await devToken()) ?? '';
  const field = h('div', { class: 'token' },
    h('label', { for: 'token' }, 'Merchant token'),
    h('p', { class: 'muted', id: 'token-help' }, input.value
      ? 'Demo only: the DEV merchant token payport printed at start-up.'
      : 'payport runs with configured tokens: paste a merchant token.'),
    input);
  input.setAttribute('aria-describedby', 'token-help');
  return { field, value: () => input.value.trim() };
}

async function devToken(): Promise<string | null> {
  try {
    const response = await fetch('/demo/token.json');
    const body = (await response.json()) as { dev_merchant_token?: string | null };
    return body.dev_merchant_token ?? null;
  } catch {
    return null;
  }
}
