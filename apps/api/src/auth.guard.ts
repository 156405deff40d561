import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { APP_CONFIG, AppConfig, IS_PUBLIC, Role, TokenGrant } from '@app/platform';
import { Problem } from './problem';

export interface Principal {
  subject: string;
  role: Role;
}
export type AuthenticatedRequest = Request & { principal?: Principal; id?: string };

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Bearer tokens with two roles: viewer reads, operator also changes. Default deny: the guard runs on the
 * route that matched, and every route needs a token unless it is marked @Public (health, metrics); the
 * decision never depends on how the path was spelled. Tokens are compared as SHA-256 digests with
 * timingSafeEqual, against every configured token, so timing reveals neither a prefix nor which matched.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly grants: Array<TokenGrant & { digest: Buffer }>;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly reflector: Reflector,
  ) {
    this.grants = config.AUTH_TOKENS.map((g) => ({ ...g, digest: digest(g.token) }));
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new Problem('UNAUTHORIZED', 'A bearer token is required (Authorization: Bearer <token>)');
    const presented = digest(match[1]);
    let found: TokenGrant | undefined;
    for (const grant of this.grants) {
      if (timingSafeEqual(grant.digest, presented) && !found) found = grant;
    }
    if (!found) throw new Problem('UNAUTHORIZED', 'The bearer token is not valid');
    request.principal = { subject: found.subject, role: found.role };
    if (!READS.has(request.method) && found.role !== 'operator') {
      throw new Problem('FORBIDDEN', `The ${found.role} role may only read; this needs the operator role`);
    }
    return true;
  }
}
