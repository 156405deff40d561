/**
 * The AsyncAPI 3.1 document of the service's topics, built from the schemas the edges parse with, so it cannot
 * say other than what they accept. `npm run asyncapi` writes it to docs/asyncapi.json; a test holds the file
 * to this and validates it with the AsyncAPI parser.
 */
import { z } from 'zod';
import { ErrorCode, RELEASE_EVENT_TYPES, SYSTEM_ONLY } from '@app/domain';
import { COMMAND_MESSAGES, COMMAND_SCHEMA_VERSION } from './commands';
import { DRIFT_CHECK_TYPE, DriftCheckRequestSchema } from './drift-checks';
import { RENDER_REQUEST_TYPE, RENDER_RESULT_TYPE, RenderRequestSchema, RenderResultSchema } from './renders';
import { ACTIONABLE_EVENT_SCHEMAS, EVENT_SCHEMA_VERSION, eventWireType } from './events';
import { INVENTORY_TYPE, InventoryReportSchema } from './helm-inventory';
import { COMMAND_RESULT_TYPE, EDGE_ERROR_CODES } from './results';
import { UpgradeFailedSignalSchema } from './schemas';
import { Topics } from './topics';

type Json = Record<string, unknown>;

/** A zod schema as the JSON Schema (draft-07, which AsyncAPI schemas extend) of what it accepts as input. */
const jsonSchema = (schema: z.ZodType): Json => {
  const { $schema: _draft, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any', io: 'input' }) as Json;
  return rest;
};

/** A structured-mode CloudEvent of `type` whose data is `data`, with the attributes this service adds. */
const cloudEvent = (type: string, data: Json, extra: Record<string, Json> = {}, required: string[] = []): Json => ({
  type: 'object',
  required: ['specversion', 'id', 'source', 'type', 'data', ...required],
  properties: {
    specversion: { const: '1.0' },
    id: { type: 'string', minLength: 1, maxLength: 200, description: 'unique per message; consumers deduplicate on it' },
    source: { type: 'string', minLength: 1, maxLength: 500 },
    type: { const: type },
    subject: { type: 'string', description: 'the releaseId (the cluster for inventory reports); also the Kafka key' },
    time: { type: 'string', format: 'date-time' },
    datacontenttype: { const: 'application/json' },
    ...extra,
    data,
  },
});

const commandAttributes = {
  actor: { type: 'string', maxLength: 200, description: 'who asks; recorded as requestedBy' },
  correlationid: { type: 'string', maxLength: 200 },
  causationid: { type: 'string', maxLength: 200 },
  grants: { type: 'string', description: 'the api only: the caller\'s grants, JSON' },
  schemaversion: { const: COMMAND_SCHEMA_VERSION },
};

const eventAttributes = {
  streamversion: { type: 'integer', minimum: 1, description: 'the version of the release\'s log this event is part of' },
  correlationid: { type: 'string', maxLength: 200 },
  causationid: { type: 'string', maxLength: 200 },
  schemaversion: { const: EVENT_SCHEMA_VERSION },
};

const resultData: Json = {
  oneOf: [
    {
      type: 'object',
      required: ['commandId', 'releaseId', 'outcome', 'decision'],
      properties: { commandId: { type: 'string' }, releaseId: { type: 'string' }, outcome: { const: 'ACCEPTED' }, decision: { type: 'object', description: 'revision, status, operationId (and targetRevision, chartVersion for rollbacks)' } },
    },
    {
      type: 'object',
      required: ['commandId', 'outcome', 'error'],
      properties: {
        commandId: { type: 'string' },
        releaseId: { type: 'string' },
        outcome: { const: 'REJECTED' },
        error: { type: 'object', required: ['code', 'message'], properties: { code: { enum: [...new Set([...Object.values(ErrorCode), ...EDGE_ERROR_CODES])] }, message: { type: 'string' }, details: { type: 'object' } } },
      },
    },
  ],
};

const deadLetter: Json = {
  name: 'dead-letter',
  title: 'A message a consumer refused, as it arrived',
  contentType: 'application/octet-stream',
  headers: {
    type: 'object',
    properties: {
      'dlq-error': { type: 'string', description: 'why it was refused' },
      'dlq-consumer': { type: 'string' },
      'dlq-original-topic': { type: 'string' },
      'dlq-original-partition': { type: 'string' },
      'dlq-original-offset': { type: 'string' },
    },
  },
  payload: {},
};

const slug = (type: string) => type.replace(/^helm\.release\./, '').replace(/[^A-Za-z0-9_-]/g, '-');

export const asyncApiDocument = (version: string): Json => {
  const messages: Record<string, Json> = {};
  const add = (key: string, message: Json) => {
    messages[key] = { name: key, contentType: 'application/cloudevents+json', ...message };
    return { $ref: `#/components/messages/${key}` };
  };
  const commandMessage = ({ type, domainType, schema }: (typeof COMMAND_MESSAGES)[number]) => add(slug(type), { title: domainType, payload: cloudEvent(type, jsonSchema(schema), commandAttributes, ['subject']) });
  const commands = COMMAND_MESSAGES.filter((m) => !SYSTEM_ONLY.has(m.domainType)).map(commandMessage);
  const outcomes = COMMAND_MESSAGES.filter((m) => SYSTEM_ONLY.has(m.domainType)).map(commandMessage);
  const events = RELEASE_EVENT_TYPES.map((type) => {
    const schema = ACTIONABLE_EVENT_SCHEMAS[type];
    const data = schema ? jsonSchema(schema) : { type: 'object', description: 'the event\'s data (libs/domain/src/release/release.events.ts); consumers that do not act on it skip it' };
    return add(`event-${type}`, { title: type, payload: cloudEvent(eventWireType(type), data, eventAttributes, ['subject', 'streamversion']) });
  });
  const channel = (address: string, description: string, refs: Json[]) => ({ address, description, messages: Object.fromEntries(refs.map((r) => [String(r.$ref).split('/').pop(), r])) });
  const channels = {
    commands: channel(Topics.commands, 'Commands in, keyed by releaseId: from the api, other services and remediation.', commands),
    outcomes: channel(Topics.outcomes, 'The service\'s own commands, keyed by releaseId: operation outcomes and drift findings (executors), expiries (the release service), upgrade-failure reports (remediation). Accepted from this topic only.', outcomes),
    commandResults: channel(Topics.commandResults, 'One decision per command, keyed by releaseId.', [add('command-result', { title: 'CommandResult', payload: cloudEvent(COMMAND_RESULT_TYPE, resultData) })]),
    events: channel(Topics.events, 'The release\'s events, in order per release (key releaseId); written by the release service only.', events),
    driftChecks: channel(Topics.driftChecks, 'Drift checks the release service asks of the executors.', [add('drift-check', { title: 'DriftCheckRequest', payload: cloudEvent(DRIFT_CHECK_TYPE, jsonSchema(DriftCheckRequestSchema), {}, ['subject']) })]),
    renderRequests: channel(Topics.renderRequests, 'Rendered-diff requests of the api\'s rollback previews, for an executor of the release\'s cluster (values sealed when a values key is set).', [add('render-request', { title: 'RenderRequest', payload: cloudEvent(RENDER_REQUEST_TYPE, jsonSchema(RenderRequestSchema), {}, ['subject']) })]),
    renderResults: channel(Topics.renderResults, 'The executors\' rendered diffs, or why there is none (the diff sealed when a values key is set).', [add('render-result', { title: 'RenderResult', payload: cloudEvent(RENDER_RESULT_TYPE, jsonSchema(RenderResultSchema), {}, ['subject']) })]),
    inventory: channel(Topics.inventory, 'The Helm releases of a cluster as its executor lists them (key: the cluster).', [add('inventory-report', { title: 'InventoryReport', payload: cloudEvent(INVENTORY_TYPE, jsonSchema(InventoryReportSchema)) })]),
    upgradeFailedSignals: channel(Topics.upgradeFailedSignals, 'Upgrade-failed signals of other services, for remediation.', [add('upgrade-failed', { title: 'UpgradeFailedSignal', payload: cloudEvent('helm.release.upgrade-failed', jsonSchema(UpgradeFailedSignalSchema)) })]),
    commandsDlq: channel(Topics.commandsDlq, 'Commands the release service could not parse or validate.', [add('commands-dead-letter', deadLetter)]),
    eventsDlq: channel(Topics.eventsDlq, 'Events or drift checks a consumer refused (dlq-consumer says who).', [add('events-dead-letter', deadLetter)]),
  };
  const operation = (action: 'send' | 'receive', channelName: keyof typeof channels, summary: string) => ({
    action,
    summary,
    channel: { $ref: `#/channels/${channelName}` },
    messages: Object.keys(channels[channelName].messages).map((m) => ({ $ref: `#/channels/${channelName}/messages/${m}` })),
  });
  return {
    asyncapi: '3.1.0',
    info: {
      title: 'helm-rollback-service',
      version,
      description: 'Helm release history as an event log. Every message is a CloudEvent in structured JSON mode; a topic prefix (KAFKA_TOPIC_PREFIX) may precede every address.',
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/cloudevents+json',
    channels,
    operations: {
      sendCommand: operation('send', 'commands', 'Ask for an install, upgrade, rollback or uninstall'),
      sendOutcome: operation('send', 'outcomes', 'The service\'s apps report outcomes, drift findings, expiries and upgrade failures'),
      receiveCommandResult: operation('receive', 'commandResults', 'The decision on a command'),
      receiveEvent: operation('receive', 'events', 'Follow a release\'s events'),
      receiveDriftCheck: operation('receive', 'driftChecks', 'The executors read drift checks'),
      sendRenderRequest: operation('send', 'renderRequests', 'The api asks for the rendered diff of a rollback preview'),
      receiveRenderResult: operation('receive', 'renderResults', 'The api reads the executors\' rendered diffs'),
      sendInventory: operation('send', 'inventory', 'The executors report each cluster\'s Helm releases'),
      sendUpgradeFailed: operation('send', 'upgradeFailedSignals', 'Report a failed upgrade for remediation'),
      receiveCommandDeadLetter: operation('receive', 'commandsDlq', 'Refused commands, for operators'),
      receiveEventDeadLetter: operation('receive', 'eventsDlq', 'Refused events, for operators'),
    },
    components: { messages },
  };
};
