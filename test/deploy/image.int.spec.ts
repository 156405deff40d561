import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';

const run = promisify(execFile);
const root = join(__dirname, '../..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');
/** A version pinned in one of the provisioning scripts, which the tests run. */
const pinned = (script: string, name: string) => new RegExp(`^${name}="([^"]+)"`, 'm').exec(read(script))?.[1];
/** The Compose Specification's JSON schema as compose-go (what `docker compose` itself loads with) ships it, from the Go module proxy. */
const COMPOSE_GO = 'github.com/compose-spec/compose-go/v2@v2.10.0';

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  read_only?: boolean;
}

// The image and the compose file cannot be built or run here (no Docker engine): what can be checked
// without one is, against the real tools' rules and the versions the tests run.
describe('the Dockerfile and docker-compose.yml', () => {
  const dockerfile = read('Dockerfile');

  it('the Dockerfile passes the Dockerfile linter, runs as a non-root user with a HEALTHCHECK, and builds the helm the tests run', () => {
    expect(validate(dockerfile).map((p) => `${p.range.start.line + 1}: ${p.message}`)).toEqual([]);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(finalStage).toMatch(/^USER 10001:10001$/m);
    expect(finalStage).toMatch(/^HEALTHCHECK /m);
    expect(finalStage).toMatch(/^ENTRYPOINT \["node"\]$/m);
    expect(finalStage).toMatch(/org\.opencontainers\.image\.licenses="Apache-2\.0"/);
    expect(/^ARG HELM_VERSION=(\S+)$/m.exec(dockerfile)?.[1]).toBe(pinned('scripts/infra/helm.sh', 'HELM_VERSION'));
    expect(dockerfile).toMatch(/^ARG HELM_MODULE_SUM=h1:[A-Za-z0-9+/]{43}=$/m);
    expect(dockerfile).toMatch(/npm ci --ignore-scripts/);
    // Node: an LTS line, not one past its end of life.
    expect(Number(/^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile)?.[1])).toBeGreaterThanOrEqual(22);
  });

  it('the helm module hash the Dockerfile checks is the one the Go checksum database gives for that version', async () => {
    const version = pinned('scripts/infra/helm.sh', 'HELM_VERSION')!;
    const { stdout } = await run('go', ['mod', 'download', '-json', `helm.sh/helm/v3@${version}`], { env: { ...process.env, GOFLAGS: '-mod=mod' }, maxBuffer: 4 * 1024 * 1024 });
    expect(`h1:${(JSON.parse(stdout) as { Sum: string }).Sum.slice(3)}`).toBe(/^ARG HELM_MODULE_SUM=(\S+)$/m.exec(dockerfile)?.[1]);
  }, 120_000);

  it('docker-compose.yml is valid by the Compose Specification, runs the Kafka the tests run, and gives the executor helm and a kubeconfig', async () => {
    const { stdout } = await run('go', ['mod', 'download', '-json', COMPOSE_GO], { env: { ...process.env, GOFLAGS: '-mod=mod' }, maxBuffer: 4 * 1024 * 1024 });
    // Its $schema names draft-07 by an address Ajv does not know it by; Ajv's default is draft-07.
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join((JSON.parse(stdout) as { Dir: string }).Dir, 'schema', 'compose-spec.json'), 'utf8')) as Record<string, unknown>;
    const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };
    const check = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(check(compose) ? [] : check.errors).toEqual([]);

    expect(compose.services.kafka.image).toBe(`apache/kafka:${pinned('scripts/infra/kafka.sh', 'KAFKA_VERSION')}`);
    const apps = ['api', 'release-service', 'executor', 'remediation'];
    for (const app of apps) {
      const service = compose.services[app];
      expect({ app, command: service.command, healthcheck: Boolean(service.healthcheck), readOnly: service.read_only }).toEqual({ app, command: [`dist/apps/${app}/src/main.js`], healthcheck: true, readOnly: true });
    }
    const ports = { api: '8080', 'release-service': '8081', executor: '8082', remediation: '8083' } as const;
    for (const app of apps) expect(compose.services[app].environment?.HEALTH_PORT).toBe(ports[app as keyof typeof ports]);
    const executor = compose.services.executor;
    expect(executor.environment?.KUBECONFIG).toBe('/etc/helm-rollback-service/kubeconfig');
    expect(executor.volumes).toContain('${KUBECONFIG_FILE:-~/.kube/config}:/etc/helm-rollback-service/kubeconfig:ro');
    expect(dockerfile).toMatch(/COPY --from=helm \/go\/bin\/helm \/usr\/local\/bin\/helm/);
  }, 120_000);
});
