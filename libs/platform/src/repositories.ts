import { lookup } from 'node:dns/promises';
import { checkRepository, RepositoryCheck } from '@app/contracts';
import type { AppConfig } from './config';

const resolveHost = async (host: string): Promise<string[]> => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** The configured chart-repository policy, applied with this machine's resolver (API and executor alike). */
export const checkChartRepository = (
  config: Pick<AppConfig, 'CHART_REPOSITORIES' | 'CHART_REPOSITORIES_PRIVATE_ALLOWED'>,
  url: string,
): Promise<RepositoryCheck> =>
  checkRepository(url, { patterns: config.CHART_REPOSITORIES, privateAllowed: config.CHART_REPOSITORIES_PRIVATE_ALLOWED }, resolveHost);
