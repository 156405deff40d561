import { Controller, Get, Inject, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ClusterNameSchema, describeIssues, NamespaceSchema } from '@app/contracts';
import { APP_CONFIG, AppConfig, clustersOf } from '@app/platform';
import type { AuthenticatedRequest } from './auth.guard';
import { answers, apply, problemResponses, queryParams } from './openapi';
import { Problem } from './problem';
import { ClustersResponse, HelmReleasesResponse } from './responses';
import { ReleaseQueries } from './release-queries.service';

const InventoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.string().max(300).optional(),
  namespace: NamespaceSchema.optional(),
  cluster: ClusterNameSchema.optional(),
  unmanaged: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

/** The cluster's Helm releases as the executor last listed them: which the service manages, which it could adopt. */
@ApiTags('cluster')
@ApiBearerAuth()
@Controller('api/v1/helm/helm-releases')
export class HelmReleasesController {
  constructor(
    private readonly queries: ReleaseQueries,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: "The cluster's Helm releases (namespace, name, Helm revision, status, chart) and the release managing each, null when made outside the service" })
  @apply(
    ...queryParams(InventoryQuery, { cluster: 'default: the default cluster', unmanaged: 'true: only those the service does not manage', after: 'the `next` cursor of the previous page' }),
    answers(200, HelmReleasesResponse, 'A page of the Helm releases of the cluster'),
    ...problemResponses(400, 401, 422),
  )
  list(@Query() query: unknown, @Req() req: AuthenticatedRequest) {
    const parsed = InventoryQuery.safeParse(query ?? {});
    if (!parsed.success) throw new Problem('VALIDATION_FAILED', describeIssues(parsed.error, 'query'));
    const { cluster = this.config.DEFAULT_CLUSTER, ...page } = parsed.data;
    if (!clustersOf(this.config).some((c) => c.name === cluster)) throw new Problem('CLUSTER_UNKNOWN', `Cluster '${cluster}' is not configured`);
    return this.queries.helmReleases(cluster, page, req.principal!);
  }
}

/** The clusters releases may live in: names and namespace allow-lists, never how they are reached. */
@ApiTags('cluster')
@ApiBearerAuth()
@Controller('api/v1/helm/clusters')
export class ClustersController {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  @Get()
  @ApiOperation({ summary: 'The configured clusters (name, namespaces open to releases, whether it is the default); no credentials' })
  @apply(answers(200, ClustersResponse, 'The clusters'), ...problemResponses(401))
  list() {
    return {
      items: clustersOf(this.config).map((c) => ({ name: c.name, namespaces: c.namespaces ?? null, default: c.name === this.config.DEFAULT_CLUSTER })),
    };
  }
}
