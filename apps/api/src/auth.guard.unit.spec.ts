import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { loadConfig, Public } from '@app/platform';

// Counts the comparisons the guard makes, around the real timingSafeEqual.
const compared: Array<[number, number]> = [];
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return {
    ...actual,
    timingSafeEqual: (a: Buffer, b: Buffer) => {
      compared.push([a.length, b.length]);
      return actual.timingSafeEqual(a, b);
    },
  };
});

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, KeyLike, SignJWT } from 'jose';
import { AuthGuard } from './auth.guard';
import { Problem } from './problem';

const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');

const TOKENS = ['operator-token-aaaaaaaaaaaa', 'viewer-token-bbbbbbbbbbbbbbbb', 'operator-two-cccccccccccccccc'];
const guard = new AuthGuard(loadConfig({ AUTH_TOKENS: `operator:a:${TOKENS[0]},viewer:b:${TOKENS[1]},operator:c:${TOKENS[2]}` }), new Reflector());
class Routes {
  guarded(): void {}
  @Public()
  open(): void {}
}
const request = (authorization: string | undefined, method = 'GET', handler: keyof Routes = 'guarded', path = '/api/v1/helm/releases') => {
  const req = { path, method, headers: authorization ? { authorization } : {} } as Record<string, unknown>;
  return {
    req,
    context: { switchToHttp: () => ({ getRequest: () => req }), getHandler: () => Routes.prototype[handler], getClass: () => Routes } as unknown as ExecutionContext,
  };
};

describe('AuthGuard token comparison', () => {
  beforeEach(() => (compared.length = 0));

  it.each([
    ['the first token', `Bearer ${TOKENS[0]}`],
    ['the last token', `Bearer ${TOKENS[2]}`],
    ['a wrong token sharing a prefix', `Bearer ${TOKENS[0].slice(0, 20)}zzzzzzz`],
    ['a one-character token', 'Bearer x'],
    ['a very long token', `Bearer ${'y'.repeat(5000)}`],
  ])('compares %s against every configured token, as equal-length digests (constant time)', async (_what, header) => {
    const { context } = request(header);
    // a 401 for the wrong ones; the comparisons are what this test is about
    await guard.canActivate(context).catch(() => undefined);
    // No early exit on a match or a mismatch, and no length check that could leak the token's length.
    expect(compared).toEqual(TOKENS.map(() => [32, 32]));
  });

  it('identifies the principal with its grants: a role everywhere (operator is deployer)', async () => {
    const ok = request(`Bearer ${TOKENS[2]}`, 'POST');
    expect(await guard.canActivate(ok.context)).toBe(true);
    expect(ok.req.principal).toEqual({ subject: 'c', grants: [{ role: 'deployer', clusters: ['*'], namespaces: ['*'] }] });
    const viewer = request(`Bearer ${TOKENS[1]}`);
    await guard.canActivate(viewer.context);
    expect(viewer.req.principal).toEqual({ subject: 'b', grants: [{ role: 'viewer', clusters: ['*'], namespaces: ['*'] }] });
    // Nothing it may change anywhere: a write is refused before its body is read.
    await expect(guard.canActivate(request(`Bearer ${TOKENS[1]}`, 'POST').context)).rejects.toThrow(/may only read/);
    await expect(guard.canActivate(request(undefined).context)).rejects.toThrow(/bearer token is required/);
  });

  it('decides on the matched route, not the path: a route needs a token however its path is spelled, unless marked public', async () => {
    for (const path of ['/API/v1/helm/releases', '/metrics', '/health/live', '//api/v1/helm/releases', '/x']) {
      await expect(guard.canActivate(request(undefined, 'GET', 'guarded', path).context)).rejects.toThrow(/bearer token is required/);
    }
    expect(await guard.canActivate(request(undefined, 'GET', 'open', '/api/v1/helm/releases').context)).toBe(true);
  });
});

describe('AuthGuard JWTs', () => {
  const issuer = 'https://idp.example.com';
  const audience = 'helm-rollback-service';
  let jwtGuard: AuthGuard;
  let key: KeyLike;
  let otherKey: KeyLike;
  const sign = (claims: Record<string, unknown>, options: { kid?: string; key?: KeyLike; exp?: string; iss?: string; aud?: string } = {}) =>
    new SignJWT({ groups: ['payments-oncall'], ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: options.kid ?? 'k1' })
      .setSubject('u-42')
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.key ?? key);
  const verify = async (token: string) => {
    const r = request(`Bearer ${token}`);
    await jwtGuard.canActivate(r.context);
    return r.req.principal;
  };

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey as KeyLike;
    otherKey = (await generateKeyPair('ES256')).privateKey as KeyLike;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const file = join(mkdtempSync(join(tmpdir(), 'jwks-')), 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    jwtGuard = new AuthGuard(
      loadConfig({
        OIDC_ISSUER: issuer,
        OIDC_AUDIENCE: audience,
        OIDC_JWKS_FILE: file,
        AUTH_GRANTS: JSON.stringify([{ group: 'payments-oncall', role: 'rollbacker', clusters: ['prod-*'], namespaces: ['payments-*'] }]),
      }),
      new Reflector(),
    );
  });

  it('accepts a valid token and maps its group claim to grants', async () => {
    expect(await verify(await sign({}))).toEqual({ subject: 'oidc:u-42', grants: [{ role: 'rollbacker', clusters: ['prod-*'], namespaces: ['payments-*'] }] });
    // No group that is granted anything: authenticated, with no grants (every decision refuses).
    expect(await verify(await sign({ groups: ['other'] }))).toEqual({ subject: 'oidc:u-42', grants: [] });
  });

  it.each([
    ['expired', () => sign({}, { exp: '-1m' }), /ERR_JWT_EXPIRED/],
    ['for another audience', () => sign({}, { aud: 'someone-else' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['from another issuer', () => sign({}, { iss: 'https://evil.example.com' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/],
    ['signed by an unknown key id', () => sign({}, { kid: 'k2', key: otherKey }), /ERR_JWKS_NO_MATCHING_KEY/],
    ['signed by another key under the known key id', () => sign({}, { key: otherKey }), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
    ['unsigned (alg: none)', async () => `${b64({ alg: 'none', kid: 'k1' })}.${b64({ sub: 'u-42', iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 300 })}.`, /not valid/],
  ])('refuses a token %s with 401', async (_what, make, reason) => {
    const error = await verify(await make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Problem);
    expect((error as Problem).code).toBe('UNAUTHORIZED');
    expect((error as Problem).message).toMatch(reason);
  });
});
