// The typed payport client: openapi-fetch over the types that `npm run generate`
// writes from openapi/payport.json, so a spec change that breaks a page fails `tsc`.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

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

/** A fresh Idempotency-Key, so that a retried submit never makes a second refund. */
export function idempotencyKey(page = 'console'): string {
  return `${page}_${crypto.randomUUID().replaceAll('-', '')}`;
}
