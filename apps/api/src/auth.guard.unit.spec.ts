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

import { AuthGuard } from './auth.guard';

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
  ])('compares %s against every configured token, as equal-length digests (constant time)', (_what, header) => {
    const { context } = request(header);
    try {
      guard.canActivate(context);
    } catch {
      // a 401 for the wrong ones; the comparisons are what this test is about
    }
    // No early exit on a match or a mismatch, and no length check that could leak the token's length.
    expect(compared).toEqual(TOKENS.map(() => [32, 32]));
  });

  it('identifies the principal and refuses a viewer on writes', () => {
    const ok = request(`Bearer ${TOKENS[2]}`, 'POST');
    expect(guard.canActivate(ok.context)).toBe(true);
    expect(ok.req.principal).toEqual({ subject: 'c', role: 'operator' });
    expect(() => guard.canActivate(request(`Bearer ${TOKENS[1]}`, 'POST').context)).toThrow(/may only read/);
    expect(() => guard.canActivate(request(undefined).context)).toThrow(/bearer token is required/);
  });

  it('decides on the matched route, not the path: a route needs a token however its path is spelled, unless marked public', () => {
    for (const path of ['/API/v1/helm/releases', '/metrics', '/health/live', '//api/v1/helm/releases', '/x']) {
      expect(() => guard.canActivate(request(undefined, 'GET', 'guarded', path).context)).toThrow(/bearer token is required/);
    }
    expect(guard.canActivate(request(undefined, 'GET', 'open', '/api/v1/helm/releases').context)).toBe(true);
  });
});
