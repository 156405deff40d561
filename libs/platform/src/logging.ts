import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Params } from 'nestjs-pino';
import pino, { Logger } from 'pino';
import { AppConfig } from './config';

/**
 * Paths that may carry secrets. Tokens never reach the logs, and neither do Helm values (which often hold
 * passwords): they are cut out wherever they appear in a logged object.
 */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'values',
  '*.values',
  '*.*.values',
  'data.values',
  'req.body.values',
];

export const CORRELATION_HEADER = 'x-correlation-id';

export const createLogger = (config: AppConfig, app: string): Logger =>
  pino({
    level: config.LOG_LEVEL,
    base: { app },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  });

/** HTTP logging: one line per request, with the correlation id a caller sent, or a new one. */
export const httpLoggerParams = (logger: Logger): Params => ({
  pinoHttp: {
    logger,
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const header = req.headers[CORRELATION_HEADER];
      const id = typeof header === 'string' && /^[\w.:-]{1,128}$/.test(header) ? header : randomUUID();
      res.setHeader(CORRELATION_HEADER, id);
      return id;
    },
    customProps: (req: IncomingMessage) => ({ correlationId: (req as IncomingMessage & { id?: string }).id }),
    serializers: {
      req: (req: { id: string; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
    },
    autoLogging: { ignore: (req: IncomingMessage) => req.url === '/health/live' || req.url === '/metrics' },
  },
});
