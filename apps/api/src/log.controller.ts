import { Controller, Get, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { describeIssues } from '@app/contracts';
import { AuthenticatedRequest } from './auth.guard';
import { answers, apply, problemResponses, queryParams } from './openapi';
import { Problem } from './problem';
import { LogResponse } from './responses';
import { ReleaseQueries } from './release-queries.service';

const LogQuery = z.object({
  after: z.string().regex(/^[0-9a-f]{24}$/, 'after must be a cursor returned as `next`').optional(),
  limit: z.coerce.number().int().min(1).max(100).default(100),
});

/** The whole event log across releases, a page at a time, in a stable order (the order of recording). */
@ApiTags('audit')
@ApiBearerAuth()
@Controller('api/v1/helm/events')
export class LogController {
  constructor(private readonly queries: ReleaseQueries) {}

  @Get()
  @ApiOperation({ summary: 'The whole log: commits of every release in recording order; per release always in version order' })
  @apply(...queryParams(LogQuery, { after: 'the `next` cursor of the previous page' }), answers(200, LogResponse, 'A page of the log'), ...problemResponses(400, 401))
  log(@Query() query: unknown, @Req() req: AuthenticatedRequest) {
    const parsed = LogQuery.safeParse(query ?? {});
    if (!parsed.success) throw new Problem('VALIDATION_FAILED', describeIssues(parsed.error, 'query'));
    return this.queries.log(parsed.data, req.principal!);
  }
}
