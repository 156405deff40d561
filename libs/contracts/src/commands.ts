/**
 * Command messages on `helm.release.commands`: CloudEvents 1.0 in structured JSON mode, key = releaseId.
 * One table maps each wire type to its schema and its domain command, so adding a command is one row.
 */
import { CloudEvent } from 'cloudevents';
import { openIn, sealIn, ValuesCipher } from './values-cipher';
import type { ReleaseCommand, ReleaseCommandType } from '@app/domain';
import { z } from 'zod';
import {
  ExpireOperationDataSchema,
  InstallDataSchema,
  OperationResultDataSchema,
  ReportUpgradeFailureDataSchema,
  RollbackDataSchema,
  RollbackLastSuccessfulDataSchema,
  UninstallDataSchema,
  UpgradeDataSchema,
} from './schemas';

export const COMMAND_SCHEMA_VERSION = 1;

export const CommandTypes = {
  install: 'helm.release.command.install',
  upgrade: 'helm.release.command.upgrade',
  rollback: 'helm.release.command.rollback',
  rollbackLastSuccessful: 'helm.release.command.rollback-last-successful',
  uninstall: 'helm.release.command.uninstall',
  operationResult: 'helm.release.command.operation-result',
  expireOperation: 'helm.release.command.expire-operation',
  reportUpgradeFailure: 'helm.release.command.report-upgrade-failure',
} as const;
export type CommandWireType = (typeof CommandTypes)[keyof typeof CommandTypes];

const commandTable: Record<CommandWireType, { schema: z.ZodType; domainType: ReleaseCommandType }> = {
  [CommandTypes.install]: { schema: InstallDataSchema, domainType: 'InstallRelease' },
  [CommandTypes.upgrade]: { schema: UpgradeDataSchema, domainType: 'UpgradeRelease' },
  [CommandTypes.rollback]: { schema: RollbackDataSchema, domainType: 'RollbackRelease' },
  [CommandTypes.rollbackLastSuccessful]: { schema: RollbackLastSuccessfulDataSchema, domainType: 'RollbackToLastSuccessful' },
  [CommandTypes.uninstall]: { schema: UninstallDataSchema, domainType: 'UninstallRelease' },
  [CommandTypes.operationResult]: { schema: OperationResultDataSchema, domainType: 'RecordOperationResult' },
  [CommandTypes.expireOperation]: { schema: ExpireOperationDataSchema, domainType: 'ExpireOperation' },
  [CommandTypes.reportUpgradeFailure]: { schema: ReportUpgradeFailureDataSchema, domainType: 'ReportUpgradeFailure' },
};

const wireTypeOf = Object.fromEntries(
  Object.entries(commandTable).map(([wire, { domainType }]) => [domainType, wire]),
) as Record<ReleaseCommandType, CommandWireType>;

export const isCommandWireType = (type: string): type is CommandWireType => type in commandTable;

/** Envelope attributes beyond the CloudEvents core (extension names are lowercase by the spec). */
export interface CommandContext {
  id: string;
  source: string;
  time: string;
  actor: string;
  correlationId: string;
  causationId?: string;
}

export interface ParsedCommand {
  command: ReleaseCommand;
  context: CommandContext;
}

export type ParseResult =
  | { ok: true; value: ParsedCommand }
  | { ok: false; error: string; id?: string; releaseId?: string; correlationId?: string };

/** Builds the CloudEvent of a domain command, ready for `Kafka.structured` or JSON.stringify. */
export const commandEvent = (command: ReleaseCommand, context: Omit<CommandContext, 'time'> & { time?: string }, cipher?: ValuesCipher) =>
  new CloudEvent({
    specversion: '1.0',
    id: context.id,
    source: context.source,
    type: wireTypeOf[command.type],
    subject: command.data.releaseId,
    time: context.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    actor: context.actor,
    correlationid: context.correlationId,
    ...(context.causationId ? { causationid: context.causationId } : {}),
    schemaversion: COMMAND_SCHEMA_VERSION,
    data: sealIn(cipher, command.data),
  });

const EnvelopeSchema = z.object({
  specversion: z.literal('1.0', { error: 'specversion must be "1.0"' }),
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  type: z.string().min(1).max(200),
  time: z.iso.datetime({ offset: true }).optional(),
  subject: z.string().max(200).optional(),
  actor: z.string().min(1).max(200).optional(),
  correlationid: z.string().min(1).max(200).optional(),
  causationid: z.string().min(1).max(200).optional(),
  schemaversion: z.union([z.number(), z.string()]).optional(),
  data: z.unknown(),
});

const describe = (error: z.ZodError): string =>
  error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`).join('; ');

/**
 * Parses and validates one command message. Never throws: a failure says why, with whatever ids could be
 * read, so the caller can dead-letter the message and still answer a request/reply caller.
 */
export const parseCommand = (value: Buffer | string | null | undefined, key?: string | null, cipher?: ValuesCipher): ParseResult => {
  if (value === null || value === undefined || value.length === 0) return { ok: false, error: 'empty message' };
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    const raw = json as { id?: unknown };
    return {
      ok: false,
      error: `not a CloudEvents 1.0 envelope: ${describe(envelope.error)}`,
      ...(typeof raw?.id === 'string' ? { id: raw.id } : {}),
    };
  }
  const e = envelope.data;
  const ids = {
    id: e.id,
    ...(e.subject ? { releaseId: e.subject } : {}),
    ...(e.correlationid ? { correlationId: e.correlationid } : {}),
  };
  if (!isCommandWireType(e.type)) {
    return { ok: false, error: `unknown command type '${e.type}'; known: ${Object.keys(commandTable).join(', ')}`, ...ids };
  }
  if (Number(e.schemaversion ?? COMMAND_SCHEMA_VERSION) !== COMMAND_SCHEMA_VERSION) {
    return { ok: false, error: `unsupported schemaversion '${e.schemaversion}' for ${e.type}; supported: ${COMMAND_SCHEMA_VERSION}`, ...ids };
  }
  const { schema, domainType } = commandTable[e.type];
  let opened: unknown;
  try {
    // Sealed values are opened before validation, so what is decided on was validated.
    opened = openIn(cipher, e.data);
  } catch (error) {
    return { ok: false, error: `invalid ${e.type} data: values: ${(error as Error).message}`, ...ids };
  }
  const data = schema.safeParse(opened);
  if (!data.success) return { ok: false, error: `invalid ${e.type} data: ${describe(data.error)}`, ...ids };
  const releaseId = (data.data as { releaseId: string }).releaseId;
  if ((e.subject && e.subject !== releaseId) || (key && key !== releaseId)) {
    return { ok: false, error: `subject and key must equal data.releaseId '${releaseId}'`, ...ids };
  }
  return {
    ok: true,
    value: {
      command: { type: domainType, data: data.data } as ReleaseCommand,
      context: {
        id: e.id,
        source: e.source,
        time: e.time ?? new Date().toISOString(),
        actor: e.actor ?? e.source,
        correlationId: e.correlationid ?? e.id,
        ...(e.causationid ? { causationId: e.causationid } : {}),
      },
    },
  };
};
