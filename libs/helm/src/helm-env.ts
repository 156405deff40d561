/**
 * What of the executor's own environment reaches helm: only the variables named here, so that what is
 * meant for the service (its database address, its tokens, its encryption key) never does. These are what
 * Helm and its kubeconfig's credential plugins need on real clusters: the pod's in-cluster address
 * (ServiceAccount auth without a kubeconfig), proxies and CA bundles, and the cloud SDKs' settings read by
 * exec plugins (aws eks get-token, gke-gcloud-auth-plugin, kubelogin). A name ending in `*` is a prefix.
 */
export const HELM_ENV_DEFAULTS: readonly string[] = [
  'KUBERNETES_SERVICE_HOST',
  'KUBERNETES_SERVICE_PORT',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'TZ',
  'AWS_*',
  'AZURE_*',
  'AAD_*',
  'GOOGLE_*',
  'CLOUDSDK_*',
  'USE_GKE_GCLOUD_AUTH_PLUGIN',
];

/** Names the executor sets for helm itself, which no allow-list may pass from the environment. */
export const HELM_ENV_RESERVED = /^(PATH|HOME|KUBECONFIG|HELM_.*)$/;

const matches = (name: string, entry: string): boolean => (entry.endsWith('*') ? name.startsWith(entry.slice(0, -1)) : name === entry);

/** The variables of `env` that the defaults and `extra` allow, none of the reserved ones. */
export const helmEnvironment = (env: NodeJS.ProcessEnv, extra: readonly string[] = []): Record<string, string> => {
  const allowed = [...HELM_ENV_DEFAULTS, ...extra];
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !HELM_ENV_RESERVED.test(entry[0]) && allowed.some((a) => matches(entry[0], a))),
  );
};
