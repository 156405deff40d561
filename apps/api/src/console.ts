import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import express, { type Express, type Response } from 'express';
import type { Logger } from 'pino';
import type { AppConfig } from '@app/platform';

/**
 * The console's page and assets, public like the files of any web app: they hold no data, and every read
 * the page makes goes through the routes that need a token. Its own policy confines the page to this origin,
 * so a script that is not the console's own never runs in it.
 */
const CONSOLE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const secure = (res: Response) => {
  res.setHeader('Content-Security-Policy', CONSOLE_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
};

/** Serves the built console at `/` (page) and `/assets/` (hashed, so cached for good); returns where from, or null. */
export const serveConsole = (server: Express, config: AppConfig, logger: Logger): string | null => {
  // Built by `npm run build` beside the API: dist/console, three levels above dist/apps/api/src.
  const dir = resolve(config.CONSOLE_DIR ?? join(__dirname, '..', '..', '..', 'console'));
  const page = join(dir, 'index.html');
  if (!existsSync(page)) {
    logger.warn({ dir }, 'no console: its folder has no index.html (npm run build makes it)');
    return null;
  }
  server.get('/', (_req, res) => {
    secure(res);
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(page);
  });
  server.use('/assets', express.static(join(dir, 'assets'), { index: false, immutable: true, maxAge: '365d', setHeaders: secure }));
  return dir;
};
