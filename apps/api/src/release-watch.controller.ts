import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ReleaseIdSchema } from '@app/contracts';
import { AuthenticatedRequest } from './auth.guard';
import { apply, pathParam, problemResponses } from './openapi';
import { Problem } from './problem';
import { ReleaseQueries } from './release-queries.service';
import { ReleaseStream } from './release-stream.service';

/** A comment line now and then keeps proxies and load balancers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/**
 * A release's events as they happen, as Server-Sent Events: the console's live pages. Each event names
 * what happened (`type`, `streamVersion`); the page reads the release again through the routes that redact
 * for its caller. `ready` comes once the watch is in place: what the page reads after it is not missed.
 */
@ApiTags('releases')
@ApiBearerAuth()
@Controller('api/v1/helm/releases')
export class ReleaseWatchController {
  constructor(
    private readonly queries: ReleaseQueries,
    private readonly stream: ReleaseStream,
  ) {}

  @Get(':releaseId/stream')
  @ApiOperation({ summary: "The release's events as they happen (text/event-stream): `ready`, then one `release` event per event, naming its type and stream version" })
  @apply(pathParam('releaseId', ReleaseIdSchema), ...problemResponses(400, 401, 404, 503))
  @ApiResponse({ status: 200, description: 'A stream of Server-Sent Events', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  async watch(@Param('releaseId') id: string, @Req() req: AuthenticatedRequest, @Res() res: Response): Promise<void> {
    const parsed = ReleaseIdSchema.safeParse(id);
    if (!parsed.success) throw new Problem('VALIDATION_FAILED', `releaseId: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    const releaseId = parsed.data;
    // A release the caller may not read is not found, as on every read.
    await this.queries.release(releaseId, req.principal!);
    let closed = false;
    const queued: string[] = [];
    const write = (chunk: string) => {
      if (!closed) res.write(chunk);
    };
    const stop = await this.stream.watch(releaseId, (notice) => {
      const frame = `event: release\nid: ${notice.streamVersion}\ndata: ${JSON.stringify(notice)}\n\n`;
      if (res.headersSent) write(frame);
      else queued.push(frame);
    });
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
    const end = () => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      stop();
    };
    // The response closes when the client goes away (or the server stops): the watch ends with it.
    res.on('close', end);
    res.on('error', end);
    if (req.destroyed || res.destroyed) return end();
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    write(`retry: 3000\nevent: ready\ndata: ${JSON.stringify({ releaseId })}\n\n`);
    for (const frame of queued.splice(0)) write(frame);
  }
}
