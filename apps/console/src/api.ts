/**
 * The console's one way to the service: the typed client of packages/client (the API's own OpenAPI
 * document), with the signed-in token, and the release's live events read from its Server-Sent Events route.
 */
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { createClient, type HelmRollbackClient, type paths } from '../../../packages/client/src';

type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: infer R }
  ? R extends Record<S, { content: { 'application/json': infer B } }>
    ? B
    : never
  : never;

export type Release = Json<'/api/v1/helm/releases/{releaseId}', 'get', 200>;
export type ReleasePage = Json<'/api/v1/helm/releases', 'get', 200>;
export type History = Json<'/api/v1/helm/releases/{releaseId}/history', 'get', 200>;
export type RevisionEntry = History['revisions'][number];
export type Revision = Json<'/api/v1/helm/releases/{releaseId}/revisions/{revision}', 'get', 200>;
export type Commits = Json<'/api/v1/helm/releases/{releaseId}/events', 'get', 200>;
export type Verification = Json<'/api/v1/helm/releases/{releaseId}/verification', 'get', 200>;
export type Session = Json<'/api/v1/me', 'get', 200>;
export type Plan = Json<'/api/v1/helm/releases/{releaseId}/rollback', 'post', 200>;
export type Decision = Json<'/api/v1/helm/releases/{releaseId}/rollback', 'post', 202>;

/** An answer of the service that is not a success: its problem+json, or what stood for one. */
export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail: string;
  [key: string]: unknown;
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
}

const TOKEN_KEY = 'hrs-console-token';

/**
 * The token is kept for the tab only (sessionStorage): closing it signs out. The sign-in seam: an OIDC
 * sign-in would put its access token here the same way.
 */
export const tokenStore = {
  get: (): string | null => sessionStorage.getItem(TOKEN_KEY),
  set: (token: string) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

let client: HelmRollbackClient | null = null;
const api = (): HelmRollbackClient => {
  const token = tokenStore.get();
  if (!token) throw new ProblemError({ status: 401, code: 'UNAUTHORIZED', detail: 'Sign in with a token' });
  return (client ??= createClient({ baseUrl: location.origin, token }));
};
export const signOut = () => {
  tokenStore.clear();
  client = null;
};

/** The body of a success, or a ProblemError with the service's problem (never a raw failure). */
const answer = async <T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> => {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    throw new ProblemError({ status: 0, code: 'UNREACHABLE', detail: `The service did not answer: ${(error as Error).message}` });
  }
  if (result.response.ok) return result.data as T;
  const problem = result.error as Partial<Problem> | undefined;
  throw new ProblemError({
    ...(problem && typeof problem === 'object' ? problem : {}),
    status: result.response.status,
    code: typeof problem?.code === 'string' ? problem.code : `HTTP_${result.response.status}`,
    detail: typeof problem?.detail === 'string' ? problem.detail : result.response.statusText,
  });
};

export const signIn = async (token: string): Promise<Session> => {
  signOut();
  tokenStore.set(token);
  try {
    return await session();
  } catch (error) {
    signOut();
    throw error;
  }
};

export const session = () => answer<Session>(api().GET('/api/v1/me'));

export interface ListFilter {
  prefix?: string;
  status?: string;
  cluster?: string;
  namespace?: string;
  after?: string;
  limit?: number;
}

export const listReleases = (filter: ListFilter) => {
  const query = Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== '')) as ListFilter;
  return answer<ReleasePage>(api().GET('/api/v1/helm/releases', { params: { query: query as never } }));
};

const releasePath = (releaseId: string) => ({ params: { path: { releaseId } } });

export const getRelease = (releaseId: string) => answer<Release>(api().GET('/api/v1/helm/releases/{releaseId}', releasePath(releaseId)));

/** Every revision, a page at a time (the history route pages by 100). */
export const getHistory = async (releaseId: string): Promise<RevisionEntry[]> => {
  const revisions: RevisionEntry[] = [];
  let afterRevision = 0;
  for (;;) {
    const page = await answer<History>(
      api().GET('/api/v1/helm/releases/{releaseId}/history', { params: { path: { releaseId }, query: { afterRevision, limit: 100 } } }),
    );
    revisions.push(...page.revisions);
    if (page.nextAfterRevision === null) return revisions;
    afterRevision = page.nextAfterRevision;
  }
};

export const getRevision = (releaseId: string, revision: number) =>
  answer<Revision>(api().GET('/api/v1/helm/releases/{releaseId}/revisions/{revision}', { params: { path: { releaseId, revision } } }));

export const getCommits = (releaseId: string, afterVersion = 0) =>
  answer<Commits>(api().GET('/api/v1/helm/releases/{releaseId}/events', { params: { path: { releaseId }, query: { afterVersion, limit: 100 } } }));

export const verify = (releaseId: string) => answer<Verification>(api().GET('/api/v1/helm/releases/{releaseId}/verification', releasePath(releaseId)));

/** A rollback's target: a revision, or the last successful one. */
export type RollbackTarget = { revision: number } | 'last-successful';

const idempotencyKey = () => `console-${crypto.randomUUID()}`;

export const planRollback = (releaseId: string, target: RollbackTarget, render: boolean) => {
  const query = { dryRun: 'true', ...(render ? { render: 'true' } : {}) } as { dryRun: 'true' };
  return target === 'last-successful'
    ? answer<Plan>(api().POST('/api/v1/helm/releases/{releaseId}/rollback/last-successful', { params: { path: { releaseId }, query }, body: {} }) as never)
    : answer<Plan>(api().POST('/api/v1/helm/releases/{releaseId}/rollback', { params: { path: { releaseId }, query }, body: { targetRevision: target.revision } }) as never);
};

/** The rollback itself, once the plan was seen; one key per confirmation, so a retried request is the same command. */
export const rollback = (releaseId: string, target: RollbackTarget, reason: string, key = idempotencyKey()) => {
  const params = { path: { releaseId }, header: { 'Idempotency-Key': key } };
  return target === 'last-successful'
    ? answer<Decision>(api().POST('/api/v1/helm/releases/{releaseId}/rollback/last-successful', { params, body: { reason } }) as never)
    : answer<Decision>(api().POST('/api/v1/helm/releases/{releaseId}/rollback', { params, body: { targetRevision: target.revision, reason } }) as never);
};

/**
 * Follows a release's events until `signal` aborts: `onReady` once the watch is in place (read the release
 * then), `onEvent` for each of its events. Reconnects after a dropped stream, and calls `onReady` again, so
 * nothing that happened in between is missed. EventSource cannot send a bearer token; fetch can.
 */
export const watchRelease = (releaseId: string, handlers: { onReady: () => void; onEvent: (type: string) => void; onDown: (why: string) => void }, signal: AbortSignal) => {
  const connect = async (): Promise<void> => {
    while (!signal.aborted) {
      try {
        const response = await fetch(`/api/v1/helm/releases/${encodeURIComponent(releaseId)}/stream`, {
          headers: { authorization: `Bearer ${tokenStore.get() ?? ''}`, accept: 'text/event-stream' },
          signal,
        });
        if (!response.ok || !response.body) {
          handlers.onDown(`live updates refused (${response.status})`);
          if (response.status === 401 || response.status === 404) return;
        } else {
          const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream()).getReader();
          for (;;) {
            const { value: event, done } = await events.read();
            if (done) break;
            if (event.event === 'ready') handlers.onReady();
            else if (event.event === 'release') handlers.onEvent((JSON.parse(event.data) as { type: string }).type);
          }
          handlers.onDown('live updates interrupted; reconnecting');
        }
      } catch (error) {
        if (signal.aborted) return;
        handlers.onDown(`live updates interrupted (${(error as Error).message}); reconnecting`);
      }
      await new Promise((resolve) => setTimeout(resolve, 3000));
    }
  };
  void connect();
};
