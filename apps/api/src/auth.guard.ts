import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { createLocalJWKSet, createRemoteJWKSet, JWTVerifyGetKey, jwtVerify } from 'jose';
import { Action, Grant, ROLES } from '@app/domain';
import { APP_CONFIG, AppConfig, grantsOf, IS_PUBLIC, TokenGrant, tokenGrants } from '@app/platform';
import { Problem } from './problem';

/** Who a request is from, and what it may do where: every decision checks the grants against the release's scope. */
export interface Principal {
  subject: string;
  grants: Grant[];
}
export type AuthenticatedRequest = Request & { principal?: Principal; id?: string };

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
/** Signatures a JWT may carry: asymmetric only, so `none` and an HMAC keyed with a public key are refused. */
const JWT_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const looksLikeJwt = (token: string) => /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);

/**
 * Bearer tokens: static tokens of AUTH_TOKENS (development and automation) or, when OIDC is configured,
 * JWTs verified against the issuer's keys (issuer, audience, expiry checked; the groups claim mapped to
 * AUTH_GRANTS). Default deny: the guard runs on the route that matched, and every route needs a token
 * unless it is marked @Public (health, metrics). What the caller may do is decided with the release, where
 * its cluster and namespace are known. Static tokens are compared as SHA-256 digests with timingSafeEqual,
 * against every configured token, so timing reveals neither a prefix nor which matched.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly tokens: Array<TokenGrant & { digest: Buffer }>;
  private readonly keys?: JWTVerifyGetKey;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reflector: Reflector,
  ) {
    this.tokens = config.AUTH_TOKENS.map((g) => ({ ...g, digest: digest(g.token) }));
    if (config.OIDC_JWKS_FILE) this.keys = createLocalJWKSet(JSON.parse(readFileSync(config.OIDC_JWKS_FILE, 'utf8')));
    else if (config.OIDC_JWKS_URL) this.keys = createRemoteJWKSet(new URL(config.OIDC_JWKS_URL));
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new Problem('UNAUTHORIZED', 'A bearer token is required (Authorization: Bearer <token>)');
    request.principal = this.staticToken(match[1]) ?? (this.keys && looksLikeJwt(match[1]) ? await this.jwt(match[1]) : undefined);
    if (!request.principal) throw new Problem('UNAUTHORIZED', 'The bearer token is not valid');
    // Which release a change may touch is decided with the release; a caller who may change nothing
    // anywhere is refused here, before its body is even read.
    if (!READS.has(request.method) && !request.principal.grants.some((g) => (ROLES[g.role] as readonly Action[]).some((a) => a === 'rollback' || a === 'deploy'))) {
      throw new Problem('FORBIDDEN', `'${request.principal.subject}' may only read: no grant lets it change a release`);
    }
    return true;
  }

  private staticToken(token: string): Principal | undefined {
    const presented = digest(token);
    let found: TokenGrant | undefined;
    for (const grant of this.tokens) {
      if (timingSafeEqual(grant.digest, presented) && !found) found = grant;
    }
    return found ? { subject: found.subject, grants: tokenGrants(this.config, found) } : undefined;
  }

  private async jwt(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.keys!, {
        issuer: this.config.OIDC_ISSUER,
        audience: this.config.OIDC_AUDIENCE,
        algorithms: JWT_ALGORITHMS,
        requiredClaims: ['sub', 'exp'],
      });
      const claimed = payload[this.config.OIDC_GROUPS_CLAIM];
      const groups = Array.isArray(claimed) ? claimed.filter((g): g is string => typeof g === 'string').slice(0, 200) : [];
      const subject = `oidc:${String(payload.sub).slice(0, 190)}`;
      return { subject, grants: grantsOf(this.config, { subject, groups }) };
    } catch (error) {
      // The reason (expired, wrong audience, unknown key) helps the caller; the token is never echoed.
      throw new Problem('UNAUTHORIZED', `The bearer token is not valid: ${(error as { code?: string }).code ?? 'invalid JWT'}`);
    }
  }
}
