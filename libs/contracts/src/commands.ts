/**
 * Command messages on `helm.release.commands`: CloudEvents 1.0 in structured JSON mode, key = releaseId.
 * One table maps each wire type to its schema and its domain command, so adding a command is one row.
 */
import { CloudEvent } from 'cloudevents';
import { boundedText, checkValues, DEFAULT_VALUE_LIMITS, ValueLimits } from './bounds';
import { describeIssues } from './issues';
import { openIn, sealIn, ValuesCipher } from './values-cipher';
import type { Grant, ReleaseCommand, ReleaseCommandType } from '@app/domain';
import { z } from 'zod';
import {
  ExpireOperationDataSchema,
  GrantsSchema,
  InstallDataSchema,
  OperationResultDataSchema,
  RecordDriftCheckDataSchema,
  ReportUpgradeFailureDataSchema,
  RetryOperationDataSchema,
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
  recordDriftCheck: 'helm.release.command.record-drift-check',
  expireOperation: 'helm.release.command.expire-operation',
  reportUpgradeFailure: 'helm.release.command.report-upgrade-failure',
  retryOperation: 'helm.release.command.retry-operation',
} as const;
export type CommandWireType = (typeof CommandTypes)[keyof typeof CommandTypes];

const commandTable: Record<CommandWireType, { schema: z.ZodType; domainType: ReleaseCommandType }> = {
  [CommandTypes.install]: { schema: InstallDataSchema, domainType: 'InstallRelease' },
  [CommandTypes.upgrade]: { schema: UpgradeDataSchema, domainType: 'UpgradeRelease' },
  [CommandTypes.rollback]: { schema: RollbackDataSchema, domainType: 'RollbackRelease' },
  [CommandTypes.rollbackLastSuccessful]: { schema: RollbackLastSuccessfulDataSchema, domainType: 'RollbackToLastSuccessful' },
  [CommandTypes.uninstall]: { schema: UninstallDataSchema, domainType: 'UninstallRelease' },
  [CommandTypes.operationResult]: { schema: OperationResultDataSchema, domainType: 'RecordOperationResult' },
  [CommandTypes.recordDriftCheck]: { schema: RecordDriftCheckDataSchema, domainType: 'RecordDriftCheck' },
  [CommandTypes.expireOperation]: { schema: ExpireOperationDataSchema, domainType: 'ExpireOperation' },
  [CommandTypes.reportUpgradeFailure]: { schema: ReportUpgradeFailureDataSchema, domainType: 'ReportUpgradeFailure' },
  [CommandTypes.retryOperation]: { schema: RetryOperationDataSchema, domainType: 'RetryOperation' },
};

const wireTypeOf = Object.fromEntries(
  Object.entries(commandTable).map(([wire, { domainType }]) => [domainType, wire]),
) as Record<ReleaseCommandType, CommandWireType>;

/** Every command type on the wire, with the schema of its data (what the AsyncAPI document describes). */
export const COMMAND_MESSAGES: ReadonlyArray<{ type: CommandWireType; domainType: ReleaseCommandType; schema: z.ZodType }> = Object.entries(commandTable).map(
  ([type, entry]) => ({ type: type as CommandWireType, ...entry }),
);

export const isCommandWireType = (type: string): type is CommandWireType => type in commandTable;

/** Envelope attributes beyond the CloudEvents core (extension names are lowercase by the spec). */
export interface CommandContext {
  id: string;
  source: string;
  time: string;
  actor: string;
  correlationId: string;
  causationId?: string;
  /**
   * The caller's grants, as the API resolved them from its token (extension `grants`, JSON). Only the API's
   * source is believed to carry them; see the release service's access rules.
   */
  grants?: Grant[];
}

export interface ParsedCommand {
  command: ReleaseCommand;
  context: CommandContext;
}

/** Why a message was refused: INVALID_MESSAGE for the envelope and bytes, VALIDATION_FAILED for the data. */
export type ParseErrorCode = 'INVALID_MESSAGE' | 'VALIDATION_FAILED';

export type ParseResult =
  | { ok: true; value: ParsedCommand }
  | { ok: false; code: ParseErrorCode; error: string; id?: string; releaseId?: string; correlationId?: string };

export interface MessageLimits {
  /** Size of a whole message in bytes. */
  maxMessageBytes: number;
  values: ValueLimits;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = { maxMessageBytes: 1024 * 1024, values: DEFAULT_VALUE_LIMITS };

/** How deep an envelope nests above its values (envelope, data, values): the rest of a message's depth budget. */
const ENVELOPE_DEPTH = 3;

/** A message's text, bounded in size and depth, parsed; or why not. */
export const parseBoundedJson = (value: Buffer | string, limits: MessageLimits = DEFAULT_MESSAGE_LIMITS): { ok: true; json: unknown } | { ok: false; reason: string } => {
  const text = boundedText(value, { maxBytes: limits.maxMessageBytes, maxDepth: limits.values.maxDepth + ENVELOPE_DEPTH });
  if (!text.ok) return text;
  try {
    return { ok: true, json: JSON.parse(text.text) };
  } catch (error) {
    return { ok: false, reason: `not JSON: ${(error as Error).message}` };
  }
};

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
    ...(context.grants ? { grants: JSON.stringify(context.grants) } : {}),
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
  grants: z.string().max(64 * 1024).optional(),
  schemaversion: z.union([z.number(), z.string()]).optional(),
  data: z.unknown(),
});

export interface ParseOptions {
  cipher?: ValuesCipher;
  limits?: MessageLimits;
}

/**
 * Parses and validates one command message. Never throws, whatever the bytes: a failure says why, with
 * whatever ids could be read, so the caller can dead-letter the message and still answer a caller.
 */
export const parseCommand = (value: Buffer | string | null | undefined, key?: string | null, options: ParseOptions = {}): ParseResult => {
  try {
    return parseCommandUnguarded(value, key, options);
  } catch (error) {
    // Every known failure is returned above; this is the backstop that keeps a consumer alive.
    return { ok: false, code: 'INVALID_MESSAGE', error: `unreadable message: ${(error as Error)?.message ?? String(error)}` };
  }
};

const parseCommandUnguarded = (value: Buffer | string | null | undefined, key: string | null | undefined, options: ParseOptions): ParseResult => {
  const { cipher, limits = DEFAULT_MESSAGE_LIMITS } = options;
  const invalid = (error: string, ids: Partial<Record<'id' | 'releaseId' | 'correlationId', string>> = {}): ParseResult => ({ ok: false, code: 'INVALID_MESSAGE', error, ...ids });
  if (value === null || value === undefined || value.length === 0) return invalid('empty message');
  const parsedJson = parseBoundedJson(value, limits);
  if (!parsedJson.ok) return invalid(parsedJson.reason);
  const json = parsedJson.json;
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    const raw = json as { id?: unknown };
    return invalid(`not a CloudEvents 1.0 envelope: ${describeIssues(envelope.error)}`, typeof raw?.id === 'string' && raw.id.length <= 200 ? { id: raw.id } : {});
  }
  const e = envelope.data;
  const ids = {
    id: e.id,
    ...(e.subject ? { releaseId: e.subject } : {}),
    ...(e.correlationid ? { correlationId: e.correlationid } : {}),
  };
  if (!isCommandWireType(e.type)) {
    return invalid(`unknown command type '${e.type}'; known: ${Object.keys(commandTable).join(', ')}`, ids);
  }
  if (Number(e.schemaversion ?? COMMAND_SCHEMA_VERSION) !== COMMAND_SCHEMA_VERSION) {
    return invalid(`unsupported schemaversion '${e.schemaversion}' for ${e.type}; supported: ${COMMAND_SCHEMA_VERSION}`, ids);
  }
  const refused = (error: string): ParseResult => ({ ok: false, code: 'VALIDATION_FAILED', error: `invalid ${e.type} data: ${error}`, ...ids });
  const grants = e.grants === undefined ? undefined : parseGrants(e.grants);
  if (grants && !grants.ok) return invalid(`grants: ${grants.reason}`, ids);
  const { schema, domainType } = commandTable[e.type];
  let opened: unknown;
  try {
    // Sealed values are opened before validation, so what is decided on was validated.
    opened = openIn(cipher, e.data);
  } catch (error) {
    return refused(`values: ${(error as Error).message}`);
  }
  const values = (opened as { values?: unknown } | null)?.values;
  if (values !== undefined) {
    const bounded = checkValues(values, limits.values);
    if (!bounded.ok) return refused(bounded.reason);
  }
  const data = schema.safeParse(opened);
  if (!data.success) return refused(describeIssues(data.error));
  const releaseId = (data.data as { releaseId: string }).releaseId;
  if ((e.subject && e.subject !== releaseId) || (key && key !== releaseId)) {
    return invalid(`subject and key must equal data.releaseId '${releaseId}'`, ids);
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
        ...(grants?.ok ? { grants: grants.grants } : {}),
      },
    },
  };
};

/** The `grants` extension: JSON of at most MAX_GRANTS grants. */
const parseGrants = (text: string): { ok: true; grants: Grant[] } | { ok: false; reason: string } => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = GrantsSchema.safeParse(json);
  return parsed.success ? { ok: true, grants: parsed.data } : { ok: false, reason: describeIssues(parsed.error) };
};
