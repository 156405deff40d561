import { Controller, Get, Inject, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { describeIssues } from '@app/contracts';
import { MongoEventStore } from '@app/event-store';
import { EVENT_STORE } from './api.constants';
import { AuthenticatedRequest } from './auth.guard';
import { capBytes } from './paging';
import { Problem } from './problem';
import { APP_CONFIG, AppConfig } from '@app/platform';
import { commitForReader, parseVisiblePaths } from './redaction';

const LogQuery = z.object({
  after: z.string().regex(/^[0-9a-f]{24}$/, 'after must be a cursor returned as `next`').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(100),
});

/** The whole event log across releases, a page at a time, in a stable order (the order of recording). */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/v1/helm/events')
export class LogController {
  private readonly visiblePaths: string[][];

  constructor(
    @Inject(EVENT_STORE) private readonly store: MongoEventStore,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.visiblePaths = parseVisiblePaths(config.VALUES_VIEWER_VISIBLE_PATHS);
  }

  @Get()
  @ApiOperation({ summary: 'The whole log: commits of every release in recording order; per release always in version order' })
  @ApiQuery({ name: 'after', required: false, description: 'the `next` cursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false })
  async log(@Query() query: unknown, @Req() req: AuthenticatedRequest) {
    const parsed = LogQuery.safeParse(query ?? {});
    if (!parsed.success) throw new Problem('VALIDATION_FAILED', describeIssues(parsed.error, 'query'));
    const commits = await this.store.readAll({ ...(parsed.data.after ? { after: parsed.data.after } : {}), limit: parsed.data.limit });
    const page = capBytes(commits.map((c) => ({ id: c.id, commit: commitForReader(c, { operator: req.principal?.role === 'operator', visible: this.visiblePaths }) })));
    return {
      commits: page.map((p) => p.commit),
      next: page.length < commits.length || commits.length === parsed.data.limit ? page[page.length - 1].id : null,
    };
  }
}
