import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { EdgeErrorCode } from '@app/contracts';
import type { ErrorCode } from '@app/domain';
import { LOGGER } from '@app/platform';

export type ProblemCode = ErrorCode | EdgeErrorCode;

/** HTTP status of every error code the API can answer with: a new code must be given one here. */
export const STATUS_OF_CODE: Record<ProblemCode, number> = {
  VALIDATION_FAILED: 400,
  INVALID_MESSAGE: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NAMESPACE_NOT_ALLOWED: 403,
  RELEASE_NOT_FOUND: 404,
  NOT_FOUND: 404,
  OPERATION_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  OPERATION_IN_PROGRESS: 409,
  NO_SUCCESSFUL_REVISION: 409,
  ALREADY_AT_LAST_SUCCESSFUL: 409,
  RELEASE_EXISTS: 409,
  RELEASE_NAME_TAKEN: 409,
  RELEASE_EXISTS_IN_CLUSTER: 409,
  RELEASE_UNINSTALLED: 409,
  OPERATION_NOT_EXPIRED: 409,
  AUTOMATIC_ROLLBACK_NOT_ALLOWED: 409,
  CONFIGURATION_QUARANTINED: 409,
  RETRY_NOT_SCHEDULED: 409,
  RETRY_NOT_DUE: 409,
  NOTHING_TO_RETRY: 409,
  CHANGE_FREEZE: 409,
  RELEASE_IN_ANOTHER_CLUSTER: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REVISION_NOT_FOUND: 422,
  CLUSTER_UNKNOWN: 422,
  REPOSITORY_NOT_ALLOWED: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  RENDER_NEEDS_DRY_RUN: 422,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An error the API answers as RFC 9457 problem+json with a stable `code`. */
export class Problem extends Error {
  readonly status: number;
  /** Response headers that go with the problem (Retry-After on a 503). */
  headers: Record<string, string> = {};
  constructor(
    readonly code: ProblemCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
    /** Where one code means different things on different routes (a missing revision read: 404). */
    status?: number,
  ) {
    super(message);
    this.status = status ?? STATUS_OF_CODE[code];
  }
}

/** Maps what Nest and Express throw for malformed requests to codes (no input may reach a 500). */
const fromHttpException = (error: HttpException): Problem => {
  const status = error.getStatus();
  const code =
    status === 413 ? 'PAYLOAD_TOO_LARGE'
    : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE'
    : status === 404 ? 'NOT_FOUND'
    : status === 405 ? 'METHOD_NOT_ALLOWED'
    : status === 401 ? 'UNAUTHORIZED'
    : status === 403 ? 'FORBIDDEN'
    : status < 500 ? 'VALIDATION_FAILED'
    : 'INTERNAL';
  const response = error.getResponse() as { message?: unknown } | string;
  const raw = typeof response === 'string' ? response : response.message;
  const message = Array.isArray(raw) ? raw.join('; ') : String(raw ?? error.message);
  return new Problem(code, code === 'VALIDATION_FAILED' && /JSON/i.test(message) ? `The body is not valid JSON: ${message}` : message);
};

/** Body-parser errors arrive as plain errors with a status and a type. */
const fromBodyParser = (error: { status?: number; type?: string; message?: string }): Problem | null => {
  if (typeof error?.status !== 'number' || !error.type) return null;
  if (error.type === 'entity.too.large') return new Problem('PAYLOAD_TOO_LARGE', 'The request body is too large');
  if (error.type === 'entity.too.deep') return new Problem('VALIDATION_FAILED', error.message ?? 'The body nests too deep');
  if (error.type === 'entity.parse.failed') return new Problem('VALIDATION_FAILED', `The body is not valid JSON: ${error.message}`);
  if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') return new Problem('UNSUPPORTED_MEDIA_TYPE', error.message ?? 'unsupported encoding');
  return error.status < 500 ? new Problem('VALIDATION_FAILED', error.message ?? 'bad request') : null;
};

interface RouteLayer {
  route?: { path: string; methods: Record<string, boolean> };
  match: (path: string) => boolean;
}

/** The methods Express has routes for at the request's path (its router's stack), upper case, with HEAD for GET. */
const allowedMethods = (request: Request): string[] => {
  const stack = ((request.app as unknown as { router?: { stack?: RouteLayer[] } }).router?.stack ?? []);
  const methods = new Set<string>();
  for (const layer of stack) {
    // Wildcard routes are middleware Nest mounts on every path for every method (request logging); this
    // API's own routes name their paths.
    if (!layer.route || layer.route.path.includes('*') || !layer.match(request.path)) continue;
    for (const method of Object.keys(layer.route.methods)) methods.add(method.toUpperCase());
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
};

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request & { id?: string }>();
    const response = http.getResponse<Response>();
    let problem =
      error instanceof Problem ? error
      : error instanceof HttpException ? fromHttpException(error)
      : (fromBodyParser(error as Parameters<typeof fromBodyParser>[0]) ?? new Problem('INTERNAL', 'An unexpected error occurred; it has been logged'));
    if (error instanceof HttpException && problem.code === 'NOT_FOUND') {
      // No route matched: if the path is a route for other methods, say which.
      const allowed = allowedMethods(request);
      if (allowed.length > 0) {
        response.setHeader('Allow', allowed.join(', '));
        problem = new Problem('METHOD_NOT_ALLOWED', `${request.method} is not allowed here; allowed: ${allowed.join(', ')}`);
      }
    }
    if (problem.status >= 500 && problem.code !== 'TIMEOUT') {
      this.logger.error({ err: error, correlationId: request.id, url: request.url }, 'request failed');
    }
    for (const [name, value] of Object.entries(problem.headers)) response.setHeader(name, value);
    response
      .status(problem.status)
      .type('application/problem+json')
      .json({
        // Details first, so they can never shadow the standard members.
        ...problem.extra,
        type: `urn:helm-rollback-service:problem:${problem.code.toLowerCase().replace(/_/g, '-')}`,
        title: TITLES[problem.status] ?? 'Error',
        status: problem.status,
        code: problem.code,
        detail: problem.message,
        instance: request.originalUrl ?? request.url,
        ...(request.id ? { correlationId: request.id } : {}),
      });
  }
}
