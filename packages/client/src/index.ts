/**
 * A typed client of the service's HTTP API: openapi-fetch over the types openapi-typescript generates from
 * the API's OpenAPI document (openapi.json beside this folder; `npm run openapi` writes both). Every path,
 * parameter, body and answer is typed from the document, problem answers included.
 */
import createFetchClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

export type { components, operations, paths } from './schema';

export interface ClientOptions {
  /** The API's origin, e.g. `https://rollbacks.example.com`. */
  baseUrl: string;
  /** A bearer token: a static token of AUTH_TOKENS or an OIDC access token. */
  token: string;
  fetch?: typeof globalThis.fetch;
}

export type HelmRollbackClient = Client<paths>;

export const createClient = ({ baseUrl, token, fetch }: ClientOptions): HelmRollbackClient =>
  createFetchClient<paths>({ baseUrl, headers: { authorization: `Bearer ${token}` }, ...(fetch ? { fetch } : {}) });
