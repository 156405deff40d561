/**
 * Helm values often carry secrets. Viewers see every key but secret-looking values masked: values under
 * keys that name a secret, and strings that look like credentials (private keys, long tokens).
 */
const SECRET_KEY = /pass(word|wd)?|secret|token|api[-_]?key|private[-_]?key|credential|auth|cert|dsn|connection[-_]?string/i;
const SECRET_VALUE = /-----BEGIN [A-Z ]*PRIVATE KEY-----|^(ghp|gho|xox[abp]|sk|AKIA)[A-Za-z0-9_-]{10,}|^[A-Za-z0-9+/=_-]{40,}$/;
export const MASK = '***';

export const redactValues = (value: unknown, secretContext = false): unknown => {
  if (Array.isArray(value)) return value.map((v) => redactValues(v, secretContext));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValues(v, secretContext || SECRET_KEY.test(k))]));
  }
  if (value === null || value === undefined) return value;
  if (secretContext) return MASK;
  return typeof value === 'string' && SECRET_VALUE.test(value) ? MASK : value;
};
