import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DEFAULT_CLUSTER, describeIssues, NamespaceSchema } from '@app/contracts';
import { Problem } from './problem';
import { ReleaseQueries } from './release-queries.service';

const InventoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.string().max(300).optional(),
  namespace: NamespaceSchema.optional(),
  unmanaged: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
});

/** The cluster's Helm releases as the executor last listed them: which the service manages, which it could adopt. */
@ApiTags('cluster')
@ApiBearerAuth()
@Controller('api/v1/helm/helm-releases')
export class HelmReleasesController {
  constructor(private readonly queries: ReleaseQueries) {}

  @Get()
  @ApiOperation({ summary: "The cluster's Helm releases (namespace, name, Helm revision, status, chart) and the release managing each, null when made outside the service" })
  @ApiQuery({ name: 'namespace', required: false })
  @ApiQuery({ name: 'unmanaged', required: false, description: 'true: only those the service does not manage' })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` cursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false })
  list(@Query() query: unknown) {
    const parsed = InventoryQuery.safeParse(query ?? {});
    if (!parsed.success) throw new Problem('VALIDATION_FAILED', describeIssues(parsed.error, 'query'));
    return this.queries.helmReleases(DEFAULT_CLUSTER, parsed.data);
  }
}
