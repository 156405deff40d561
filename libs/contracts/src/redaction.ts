/** Keys whose values are secrets by their name, at any depth. */
export const SECRET_KEY = /pass(word|wd)?|pwd|secret|token|api[-_]?key|private[-_]?key|credential|auth|cert|dsn|connection[-_]?string|encryption[-_]?key/i;
export const MASK = '***';

/**
 * Helm and Kubernetes error text as a viewer (or a log) may see it: it can quote values (a rendered
 * manifest, a bad value) and URLs with credentials, so quoted text, userinfo and `secret=…` pairs are masked.
 */
export const redactText = (text: string): string =>
  text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s@]*@/gi, `$1${MASK}@`)
    .replace(/"(?:[^"\\]|\\.)*"/g, `"${MASK}"`)
    .replace(/'(?:[^'\\]|\\.)*'/g, `'${MASK}'`)
    .replace(new RegExp(`(${SECRET_KEY.source})(\\s*[=:]\\s*)[^\\s,;]+`, 'gi'), `$1$3${MASK}`);
