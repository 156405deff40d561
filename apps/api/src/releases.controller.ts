import { randomUUID } from 'node:crypto';
import { Body, Controller, createParamDecorator, Delete, ExecutionContext, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import {
  checkValues,
  CommandResult,
  describeIssues,
  InstallDataSchema,
  issueDetails,
  ClusterNameSchema,
  NamespaceSchema,
  ReleaseIdSchema,
  RetryOperationDataSchema,
  RollbackDataSchema,
  RollbackLastSuccessfulDataSchema,
  UninstallDataSchema,
  UpgradeDataSchema,
} from '@app/contracts';
import { ReleaseCommand, RollbackRelease, RollbackToLastSuccessful } from '@app/domain';
import { APP_CONFIG, AppConfig, checkChartRepository } from '@app/platform';
import { AuthenticatedRequest, Principal } from './auth.guard';
import { CommandBus } from './command-bus.service';
import { DryRunService } from './dry-run.service';
import { answers, apply, idempotencyKey, openApiSchema, pathParam, problemResponses, queryParams } from './openapi';
import { Problem } from './problem';
import { ReleaseQueries } from './release-queries.service';
import { DecisionResponse, DryRunResponse, EventsResponse, HistoryResponse, ReleasePageResponse, ReleaseResponse, RevisionResponse, VerificationResponse } from './responses';

const parse = <T>(schema: z.ZodType<T>, input: unknown, what = 'body'): T => {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new Problem('VALIDATION_FAILED', describeIssues(result.error, what), { errors: issueDetails(result.error, what) });
};

const RevisionParam = z.coerce.number().int().min(1);
const UninstallQuery = UninstallDataSchema.omit({ releaseId: true, timeoutSeconds: true, trigger: true, causedByRevision: true }).extend({ timeoutSeconds: z.coerce.number().int().min(1).max(3600).optional() });
const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(200).optional(),
  status: z.string().max(40).optional(),
  cluster: ClusterNameSchema.optional(),
  namespace: NamespaceSchema.optional(),
  prefix: z.string().regex(/^[a-z0-9][-a-z0-9]{0,52}$/, 'must be the start of a release id: lowercase letters, digits and "-"').optional(),
});
const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  afterRevision: z.coerce.number().int().min(0).default(0),
});
const EventsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  afterVersion: z.coerce.number().int().min(0).default(0),
});
/**
 * A client's Idempotency-Key, scoped to its principal as the command id `api:<subject>:<key>`: no client can
 * name another's command, nor the ids the system derives for its own (`outcome:<operation>` of the
 * executor, `expire:` and `retry:` of the watchdog, `remediate:` and `signal:` of remediation), which are refused outright.
 */
const RESERVED_KEY_PREFIXES = ['outcome', 'expire', 'retry', 'remediate', 'signal', 'api', 'result', 'dry-run'];
const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{8,200}$/, 'must be 8 to 200 of A-Z a-z 0-9 . _ : -')
  .refine(
    (k) => !RESERVED_KEY_PREFIXES.some((p) => k.toLowerCase().startsWith(`${p}:`)),
    `must not start with a prefix the system reserves (${RESERVED_KEY_PREFIXES.map((p) => `${p}:`).join(', ')})`,
  );

/** `?dryRun=true` (or a bare `?dryRun`): answer the plan, append nothing. */
const DryRun = createParamDecorator((_: unknown, ctx: ExecutionContext): boolean => {
  const value = ctx.switchToHttp().getRequest<Request>().query.dryRun;
  if (value === undefined || value === 'false') return false;
  if (value === 'true' || value === '') return true;
  throw new Problem('VALIDATION_FAILED', 'dryRun must be true or false');
});

/** `?render=true` with a dry run: the plan also holds the diff of the rendered manifests. */
const Render = createParamDecorator((_: unknown, ctx: ExecutionContext): boolean => {
  const query = ctx.switchToHttp().getRequest<Request>().query;
  if (query.render === undefined || query.render === 'false') return false;
  if (query.render !== 'true' && query.render !== '') throw new Problem('VALIDATION_FAILED', 'render must be true or false');
  // A rule across two parameters, which no parameter schema can state: so 422, not 400 (see problem.ts).
  if (query.dryRun !== 'true' && query.dryRun !== '') throw new Problem('RENDER_NEEDS_DRY_RUN', 'render=true needs dryRun=true: only a preview is rendered');
  return true;
});

const dryRunQuery = ApiQuery({ name: 'dryRun', required: false, schema: { type: 'string', enum: ['true', 'false'] }, description: 'true: answer 200 with the plan and a values diff; nothing is appended' });
const renderQuery = ApiQuery({
  name: 'render',
  required: false,
  schema: { type: 'string', enum: ['true', 'false'] },
  description: "with dryRun=true (without it: 422 RENDER_NEEDS_DRY_RUN): also the diff of the rendered manifests (Helm's current manifest against the target's, rendered by an executor of the release's cluster; Secret data masked)",
});
const planned = answers(200, DryRunResponse, 'With ?dryRun=true: the plan the decision would make (new revision, target, chart and values diff, warnings); nothing is appended');
const releaseIdParam = pathParam('releaseId', ReleaseIdSchema);

const accepted = answers(202, DecisionResponse, 'Decided and accepted: releaseId, revision, status, operationId (and targetRevision, chartVersion for rollbacks)');

@ApiTags('releases')
@ApiBearerAuth()
@Controller('api/v1/helm/releases')
export class ReleasesController {
  constructor(
    private readonly bus: CommandBus,
    private readonly dryRuns: DryRunService,
    private readonly queries: ReleaseQueries,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Install a release (or reinstall an uninstalled one)' })
  @ApiBody({ schema: openApiSchema(InstallDataSchema) })
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 409, 413, 422, 503, 504))
  async install(@Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    this.checkValues(body);
    const data = parse(InstallDataSchema, body);
    const repository = await checkChartRepository(this.config, data.chart.repository);
    if (!repository.ok) throw new Problem('REPOSITORY_NOT_ALLOWED', repository.reason);
    return this.dispatch({ type: 'InstallRelease', data }, req, res);
  }

  @Post(':releaseId/upgrade')
  @releaseIdParam
  @ApiOperation({ summary: 'Upgrade: a chart version and/or values; what is not named is kept' })
  // An upgrade names a chart version, values, or both (the decision refuses neither).
  @ApiBody({ schema: { ...openApiSchema(UpgradeDataSchema.omit({ releaseId: true })), anyOf: [{ required: ['chartVersion'] }, { required: ['values'] }] } })
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503, 504))
  upgrade(@Param('releaseId') id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    const releaseId = this.releaseId(id);
    this.checkValues(body);
    const data = parse(UpgradeDataSchema.omit({ releaseId: true }), body);
    return this.dispatch({ type: 'UpgradeRelease', data: { ...data, releaseId } }, req, res);
  }

  @Post(':releaseId/rollback')
  @releaseIdParam
  @planned
  @ApiOperation({ summary: 'Roll back to a revision of the history, as a new revision with its chart version and values' })
  @ApiBody({ schema: openApiSchema(RollbackDataSchema.omit({ releaseId: true })) })
  @dryRunQuery
  @renderQuery
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503, 504))
  async rollback(@Param('releaseId') id: string, @Body() body: unknown, @DryRun() dryRun: boolean, @Render() render: boolean, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    const releaseId = this.releaseId(id);
    const schema = RollbackDataSchema.omit({ releaseId: true });
    const parsed = schema.safeParse(body ?? {});
    if (!parsed.success) {
      // Name the valid targets, as the domain would: the caller should not need a second request.
      const valid = await this.queries.validRevisions(releaseId, req.principal!);
      throw new Problem('VALIDATION_FAILED', `${describeIssues(parsed.error, 'body')}; valid revisions: ${valid.text}`, { errors: issueDetails(parsed.error, 'body'), ...valid.extra });
    }
    const command: RollbackRelease = { type: 'RollbackRelease', data: { ...parsed.data, releaseId } };
    return dryRun ? this.plan(command, req, res, render) : this.dispatch(command, req, res);
  }

  @Post(':releaseId/rollback/last-successful')
  @releaseIdParam
  @planned
  @ApiOperation({ summary: 'Roll back to the highest revision in DEPLOYED status' })
  @ApiBody({ required: false, schema: openApiSchema(RollbackLastSuccessfulDataSchema.omit({ releaseId: true, trigger: true, causedByRevision: true })) })
  @dryRunQuery
  @renderQuery
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503, 504))
  rollbackToLastSuccessful(@Param('releaseId') id: string, @Body() body: unknown, @DryRun() dryRun: boolean, @Render() render: boolean, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    const releaseId = this.releaseId(id);
    // Automatic rollbacks are the remediation's; people roll back manually.
    const data = parse(RollbackLastSuccessfulDataSchema.omit({ releaseId: true, trigger: true, causedByRevision: true }), body);
    const command: RollbackToLastSuccessful = { type: 'RollbackToLastSuccessful', data: { ...data, releaseId } };
    return dryRun ? this.plan(command, req, res, render) : this.dispatch(command, req, res);
  }

  @Post(':releaseId/retry')
  @releaseIdParam
  @ApiOperation({ summary: 'Run the latest failed install or upgrade again (its chart version, values, flags; a new timeout may be given); remediation counts its retries again' })
  @ApiBody({ required: false, schema: openApiSchema(RetryOperationDataSchema.omit({ releaseId: true, trigger: true })) })
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503, 504))
  retry(@Param('releaseId') id: string, @Body() body: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    const releaseId = this.releaseId(id);
    // Scheduled (AUTOMATIC) retries are the watchdog's; a person's retry starts a new chain.
    const data = parse(RetryOperationDataSchema.omit({ releaseId: true, trigger: true }), body);
    return this.dispatch({ type: 'RetryOperation', data: { ...data, releaseId } }, req, res);
  }

  @Delete(':releaseId')
  @releaseIdParam
  @ApiOperation({ summary: 'Uninstall, keeping the history (reinstall or roll back later)' })
  @apply(...queryParams(UninstallQuery))
  @apply(accepted, idempotencyKey, ...problemResponses(400, 401, 403, 404, 409, 413, 422, 503, 504))
  uninstall(@Param('releaseId') id: string, @Query() query: unknown, @Req() req: AuthenticatedRequest, @Res({ passthrough: true }) res: Response) {
    const releaseId = this.releaseId(id);
    // Automatic uninstalls are the remediation's; people uninstall manually.
    const data = parse(UninstallQuery, query, 'query');
    return this.dispatch({ type: 'UninstallRelease', data: { ...data, releaseId } }, req, res);
  }

  @Get()
  @ApiOperation({ summary: 'List releases, a page at a time (by releaseId)' })
  @apply(...queryParams(PageQuery, { after: 'the `next` of the previous page', prefix: 'only releases whose id starts so' }), answers(200, ReleasePageResponse, 'A page of releases'), ...problemResponses(400, 401))
  async list(@Query() query: unknown, @Req() req: AuthenticatedRequest) {
    return this.queries.list(parse(PageQuery, query, 'query'), this.reader(req));
  }

  @Get(':releaseId')
  @releaseIdParam
  @ApiOperation({ summary: 'One release: status, current and last successful revision' })
  @apply(answers(200, ReleaseResponse, 'The release'), ...problemResponses(400, 401, 404))
  async get(@Param('releaseId') id: string, @Req() req: AuthenticatedRequest) {
    return this.queries.release(this.releaseId(id), this.reader(req));
  }

  @Get(':releaseId/history')
  @ApiOperation({
    summary: 'Revisions, oldest first, a page at a time: operation, chart version, status, rollbackOf, trigger, who, why, when',
  })
  @releaseIdParam
  @apply(...queryParams(HistoryQuery), answers(200, HistoryResponse, 'A page of revisions'), ...problemResponses(400, 401, 404))
  history(@Param('releaseId') id: string, @Query() query: unknown, @Req() req: AuthenticatedRequest) {
    return this.queries.history(this.releaseId(id), parse(HistoryQuery, query, 'query'), this.reader(req));
  }

  @Get(':releaseId/revisions/:revision')
  @releaseIdParam
  @apply(pathParam('revision', RevisionParam), answers(200, RevisionResponse, 'The revision'), ...problemResponses(400, 401, 404))
  @ApiOperation({ summary: 'One revision with its exact values (secret-looking values masked for viewers)' })
  revision(@Param('releaseId') id: string, @Param('revision') revision: string, @Req() req: AuthenticatedRequest) {
    return this.queries.revision(this.releaseId(id), parse(RevisionParam, revision, 'revision'), this.reader(req));
  }

  @Get(':releaseId/events')
  @ApiOperation({ summary: 'The raw event log of the release (commits in order, with their hash chain), for audit' })
  @releaseIdParam
  @apply(...queryParams(EventsQuery), answers(200, EventsResponse, 'A page of commits'), ...problemResponses(400, 401, 404))
  events(@Param('releaseId') id: string, @Query() query: unknown, @Req() req: AuthenticatedRequest) {
    return this.queries.events(this.releaseId(id), parse(EventsQuery, query, 'query'), this.reader(req));
  }

  @Get(':releaseId/verification')
  @ApiOperation({ summary: "The hash chain of the release's log, checked now: edited, missing or reordered commits by version" })
  @releaseIdParam
  @apply(answers(200, VerificationResponse, 'The result of the check'), ...problemResponses(400, 401, 404))
  verification(@Param('releaseId') id: string, @Req() req: AuthenticatedRequest) {
    return this.queries.verification(this.releaseId(id), this.reader(req));
  }

  private reader(req: AuthenticatedRequest): Principal {
    return req.principal!;
  }


  /** The configured bounds of values, before any schema walks them: 413 when too large, else 400. */
  private checkValues(body: unknown): void {
    const values = (body as { values?: unknown } | null)?.values;
    if (values === undefined) return;
    const checked = checkValues(values, { maxDepth: this.config.VALUES_MAX_DEPTH, maxBytes: this.config.VALUES_MAX_BYTES });
    if (!checked.ok) throw new Problem(checked.kind === 'size' ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED', checked.reason);
  }

  private releaseId(id: string): string {
    return parse(ReleaseIdSchema, id, 'releaseId');
  }

  private async plan(command: RollbackRelease | RollbackToLastSuccessful, req: AuthenticatedRequest, res: Response, render: boolean) {
    res.status(200);
    return this.dryRuns.planRollback(command, req.principal!, req.id, render);
  }

  private async dispatch(command: ReleaseCommand, req: AuthenticatedRequest, res: Response) {
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' ? parse(IdempotencyKey, header, 'Idempotency-Key') : undefined;
    const id = key ? `api:${req.principal!.subject}:${key}` : undefined;
    const result: CommandResult = await this.bus.send(command, {
      ...(id ? { id } : {}),
      actor: req.principal!.subject,
      grants: req.principal!.grants,
      correlationId: req.id ?? randomUUID(),
    });
    if (result.outcome === 'REJECTED') throw new Problem(result.error.code, result.error.message, result.error.details ?? {});
    res.status(202);
    if (result.decision.revision) {
      res.setHeader('Location', `/api/v1/helm/releases/${result.releaseId}/revisions/${result.decision.revision}`);
    }
    return { commandId: result.commandId, ...result.decision };
  }

}
