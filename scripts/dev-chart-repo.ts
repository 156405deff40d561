/**
 * Serves the fixture charts (web 1.0.0 and 1.1.0 that deploy, 1.2.0 the API server rejects, 1.3.0 that
 * never becomes ready) as a Helm chart repository on loopback, for trying the service by hand.
 * Usage: tsx scripts/dev-chart-repo.ts <helm-binary>   (prints the repository URL, runs until killed)
 */
import { startChartRepo } from '@app/test-support';

async function main(): Promise<void> {
  const helm = process.argv[2] ?? process.env.HELM_BIN ?? 'helm';
  const repo = await startChartRepo(helm);
  console.log(repo.url);
  const stop = () => void repo.stop().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`dev-chart-repo: ${(error as Error).message}`);
  process.exit(1);
});
