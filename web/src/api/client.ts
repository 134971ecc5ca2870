// The typed payport client: openapi-fetch over the types that `npm run generate`
// writes from openapi/payport.json, so a spec change that breaks a page fails `tsc`.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import { h, say } from '../ui';

export type Schemas = components['schemas'];
export type Order = Schemas['Order'];
export type Refund = Schemas['Refund'];
export type ErrorBody = Schemas['ErrorBody'];

const TOKEN_KEY = 'payport.token';

/** The bearer token lives in sessionStorage: gone when the tab closes. */
export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token: string): void => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: (): void => sessionStorage.removeItem(TOKEN_KEY),
};

/**
 * A client that sends the session's token (unless the call sets its own), and calls
 * `rejected` when payport answers 401 to it: the token was revoked or rotated.
 */
export function apiClient(token: () => string | null, rejected: () => void = () => {}) {
  const client = createClient<paths>({ baseUrl: location.origin });
  client.use({
    onRequest({ request }) {
      const t = token();
      if (t && !request.headers.has('Authorization')) request.headers.set('Authorization', `Bearer ${t}`);
      return request;
    },
    onResponse({ request, response }) {
      const t = token();
      if (response.status === 401 && t && request.headers.get('Authorization') === `Bearer ${t}`) rejected();
      return response;
    },
  });
  return client;
}

export type Api = ReturnType<typeof apiClient>;

/** A sentence for an API error body, or for an answer that was not one. */
export function describeError(error: unknown, response?: Response): string {
  const body = error as Partial<ErrorBody> | undefined;
  if (body && typeof body.message === 'string') {
    return body.code ? `${body.message} (${body.code})` : body.message;
  }
  if (response) return `payport answered ${response.status} ${response.statusText}`.trim();
  return error instanceof Error ? error.message : 'payport could not be reached';
}

/** What a call that failed answered: its error body, if any, and its response. */
export type Failure = { error?: unknown; response?: Response };

/**
 * Shows an API error in `box`, with its request id, small, to quote when asking about
 * it. When payport names the field at fault (`param`) and the form has that field in
 * `inputs`, the message goes next to the field instead, and the field is marked
 * invalid. Clears what an earlier error marked.
 */
export function showError(
  box: HTMLElement, error: unknown, response?: Response, inputs: Record<string, HTMLElement> = {},
): void {
  clearFieldErrors(inputs);
  const body = error as Partial<ErrorBody> | undefined;
  const input = body?.param ? inputs[body.param] : undefined;
  let target = box;
  if (input) {
    say(box, '');
    target = h('p', { id: `${input.id}-error`, class: 'field-error' });
    input.after(target);
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', target.id);
  }
  say(target, describeError(error, response), 'error');
  if (body?.request_id) target.append(' ', h('small', { class: 'request-id' }, `request ${body.request_id}`));
}

/** Undoes what `showError` did to the fields of a form. */
export function clearFieldErrors(inputs: Record<string, HTMLElement>): void {
  for (const input of Object.values(inputs)) {
    if (input.getAttribute('aria-invalid') !== 'true') continue;
    document.getElementById(`${input.id}-error`)?.remove();
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}

/** A fresh Idempotency-Key, so that a retried submit never makes a second refund. */
export function idempotencyKey(page = 'console'): string {
  return `${page}_${crypto.randomUUID().replaceAll('-', '')}`;
}
