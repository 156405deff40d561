import { readFileSync } from 'node:fs';
import { base64url, CompactSign, compactVerify, createLocalJWKSet, importJWK, type JSONWebKeySet, type JWK, type KeyLike } from 'jose';
import { z } from 'zod';
import { AppConfig, ConfigError } from './config';

/**
 * Kafka tells a consumer nothing of who produced a message, so a command names its sender by a signature:
 * a detached JWS (RFC 7515, appendix F) over the message's bytes in this header, its `kid` the sender's
 * principal. The release service believes a command's sender only from a key of KAFKA_SIGNERS_FILE.
 */
export const SIGNATURE_HEADER = 'hrs-signature';

/** Algorithms a signer's key may use: asymmetric only, so the release service holds no key that can sign. */
const ALGORITHMS = ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'] as const;
const PrincipalSchema = z.string().regex(/^[a-z0-9]([a-z0-9._:-]{0,98}[a-z0-9])?$/, 'a principal: lowercase letters, digits and . _ : -, at most 100');
const KeyType = z.enum(['OKP', 'EC', 'RSA']);
const SigningKeySchema = z.looseObject({ kty: KeyType, kid: PrincipalSchema, alg: z.enum(ALGORITHMS), d: z.string().min(1) });
const SignersSchema = z.strictObject({
  keys: z
    .array(
      z
        .looseObject({ kty: KeyType, kid: PrincipalSchema, alg: z.enum(ALGORITHMS) })
        .refine((k) => !['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'].some((field) => field in k), 'a signer key must be public: it holds private key material'),
    )
    .min(1)
    .max(500),
});

const readJson = (key: string, path: string): unknown => {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    // Never the file's text: it holds a key.
    throw new ConfigError([`${key}: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? 'not valid JSON'}`]);
  }
};

const refused = (key: string, error: z.ZodError): ConfigError => new ConfigError(error.issues.map((i) => `${key}: ${i.path.join('.') || 'file'}: ${i.message}`));

export interface CommandSigner {
  principal: string;
  /** The signature header's value for a message whose value is `value`. */
  sign(value: string): Promise<string>;
}

/** The app's signer from KAFKA_SIGNING_KEY_FILE (a private JWK whose `kid` is its principal); none when unset. */
export const loadCommandSigner = async (config: Pick<AppConfig, 'KAFKA_SIGNING_KEY_FILE'>): Promise<CommandSigner | undefined> => {
  if (!config.KAFKA_SIGNING_KEY_FILE) return undefined;
  const parsed = SigningKeySchema.safeParse(readJson('KAFKA_SIGNING_KEY_FILE', config.KAFKA_SIGNING_KEY_FILE));
  if (!parsed.success) throw refused('KAFKA_SIGNING_KEY_FILE', parsed.error);
  const { kid, alg } = parsed.data;
  const key = (await importJWK(parsed.data as JWK, alg)) as KeyLike;
  const encoder = new TextEncoder();
  return {
    principal: kid,
    sign: async (value) => {
      const [header, , signature] = (await new CompactSign(encoder.encode(value)).setProtectedHeader({ alg, kid }).sign(key)).split('.');
      return `${header}..${signature}`;
    },
  };
};

export type Verified = { ok: true; principal: string } | { ok: false; reason: string };

export interface CommandVerifier {
  /** Who signed `value`, by the signature header it came with; or why that cannot be told. */
  verify(value: Buffer, signature: Buffer | string | undefined): Promise<Verified>;
}

/** The release service's verifier from KAFKA_SIGNERS_FILE (a JWKS of public keys, `kid` = principal); none when unset. */
export const loadCommandVerifier = (config: Pick<AppConfig, 'KAFKA_SIGNERS_FILE'>): CommandVerifier | undefined => {
  if (!config.KAFKA_SIGNERS_FILE) return undefined;
  const parsed = SignersSchema.safeParse(readJson('KAFKA_SIGNERS_FILE', config.KAFKA_SIGNERS_FILE));
  if (!parsed.success) throw refused('KAFKA_SIGNERS_FILE', parsed.error);
  const keys = createLocalJWKSet(parsed.data as JSONWebKeySet);
  return {
    verify: async (value, signature) => {
      const text = signature?.toString();
      if (!text) return { ok: false, reason: `not signed: no ${SIGNATURE_HEADER} header` };
      const parts = text.length <= 4096 ? text.split('.') : [];
      if (parts.length !== 3 || parts[1] !== '') return { ok: false, reason: `${SIGNATURE_HEADER} is not a detached JWS` };
      try {
        const { protectedHeader } = await compactVerify(`${parts[0]}.${base64url.encode(value)}.${parts[2]}`, keys, { algorithms: [...ALGORITHMS] });
        return { ok: true, principal: String(protectedHeader.kid) };
      } catch (error) {
        return { ok: false, reason: `signature not accepted: ${(error as Error).message}` };
      }
    },
  };
};
