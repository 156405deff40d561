import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthenticatedRequest } from './auth.guard';
import { answers, apply, problemResponses } from './openapi';
import { SessionResponse } from './responses';

/** Who the token is, and what it may do where: the console shows only the buttons its caller may use. */
@ApiTags('session')
@ApiBearerAuth()
@Controller('api/v1/me')
export class SessionController {
  @Get()
  @ApiOperation({ summary: "The caller: its subject and grants (roles on cluster and namespace patterns)" })
  @apply(answers(200, SessionResponse, 'The caller'), ...problemResponses(401))
  me(@Req() req: AuthenticatedRequest) {
    const { subject, grants } = req.principal!;
    return { subject, grants };
  }
}
