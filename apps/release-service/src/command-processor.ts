import { API_SOURCE, CommandContext, commandFingerprint, CommandResult, commandResultEvent, parseCommand, RejectedError, Topics, ValuesCipher } from '@app/contracts';
import { Access, ClusterDirectory, DecisionSummary, matchesPattern, ReleaseCommand, ReleaseCommandMetadata, ReleaseState, SYSTEM_ONLY } from '@app/domain';
import { BatchItem, Commit, handleCommands, HandleResult, MIB, MongoEventStore, OutboxDispatcher, StreamCache } from '@app/event-store';
import { HelmInventory, RELEASE_AGGREGATE, ReleaseNames, ReleaseReadModel } from '@app/release-store';
import {
  APP_CONFIG,
  AppConfig,
  clusterDirectory,
  CommandVerifier,
  deadLetter,
  FreezeCalendar,
  grantsOf,
  isTransientError,
  KAFKA_PRODUCER,
  loadCommandVerifier,
  LOGGER,
  messageParseOptions,
  METRICS_REGISTRY,
  OutgoingEvent,
  sendEvents,
  SIGNATURE_HEADER,
  topicName,
  VALUES_CIPHER,
} from '@app/platform';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { IHeaders, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EventPublisher } from './event-publisher';
import { SOURCE } from './release-service.constants';

const MAX_ATTEMPTS_ON_UNEXPECTED_ERROR = 3;
/** How long the database may stay unselectable before the process exits for its supervisor to restart it. */
const DATABASE_UNREACHABLE_EXIT_MS = 45_000;

type Located = KafkaMessage & { topic: string; partition: number };

/** A header's one value: a repeated header is no value at all (which one would be believed?). */
const single = (header: IHeaders[string]): Buffer | string | undefined => (Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : header);

/** A command message read and validated, on its way through the write path. */
/** How many Helm release names an install batch claims at once: enough to hide round trips, few enough for the database. */
const INSTALLS_PREPARED_AT_ONCE = 16;

interface Received {
  message: Located;
  item: BatchItem<ReleaseCommand> & { metadata: ReleaseCommandMetadata };
  correlationId: string;
}

/**
 * Turns messages of the commands and outcomes topics into decisions, exactly once in effect: parse and validate (bad
 * input: dead-letter topic + a rejected result), decide and append through the write path (idempotent by
 * command id), project the read model, publish the commits' events through the outbox, and publish the
 * decisions.
 */
@Injectable()
export class CommandProcessor implements OnApplicationShutdown {
  private readonly commands: Counter;
  private readonly latency: Histogram;
  private readonly deadLettered: Counter;
  private stopping = false;
  /** This instance owns its partitions' releases: their loaded streams stay in memory between commands. */
  private readonly streams: StreamCache<ReleaseState>;
  private readonly parseOptions: ReturnType<typeof messageParseOptions>;
  private readonly clusters: ClusterDirectory;
  private readonly freezes: FreezeCalendar;
  /** Set (KAFKA_SIGNERS_FILE): a command's sender is the principal that signed it, and unsigned commands are refused. */
  private readonly verifier: CommandVerifier | undefined;

  constructor(
    private readonly store: MongoEventStore,
    private readonly readModel: ReleaseReadModel,
    private readonly names: ReleaseNames,
    private readonly inventory: HelmInventory,
    private readonly outbox: OutboxDispatcher,
    private readonly publisher: EventPublisher,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {
    this.commands = new Counter({
      name: 'helm_release_commands_total',
      help: 'Commands decided, by type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'helm_release_decision_seconds',
      help: 'Time from receiving a command to its stored, published decision',
      labelNames: ['type'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.deadLettered = new Counter({
      name: 'helm_release_commands_dead_lettered_total',
      help: 'Command messages parked on the dead-letter topic',
      registers: [registry],
    });
    this.streams = new StreamCache<ReleaseState>(config.STREAM_CACHE_MIB * MIB);
    const streams = this.streams;
    new Gauge({
      name: 'helm_release_stream_cache_bytes',
      help: 'Approximate size of the loaded streams kept in memory (bounded by STREAM_CACHE_MIB)',
      registers: [registry],
      collect() {
        this.set(streams.bytes);
      },
    });
    this.parseOptions = messageParseOptions(config, cipher);
    this.clusters = clusterDirectory(config);
    this.freezes = new FreezeCalendar(config.FREEZE_WINDOWS);
    this.verifier = loadCommandVerifier(config);
    if (!this.verifier) logger.warn('KAFKA_SIGNERS_FILE is not set: a Kafka command\'s sender is the source it claims (see docs/trust-boundaries.md)');
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  /**
   * Pending operations of the streams this instance holds in memory (the releases it decided for lately),
   * with their deadlines: what the watchdog checks every few seconds without a query. A copy may be stale
   * (the partition moved on); the watchdog confirms against the read model before acting.
   */
  pendingInMemory(): Array<{ releaseId: string; operationId: string; deadline: string }> {
    const out: Array<{ releaseId: string; operationId: string; deadline: string }> = [];
    for (const { state } of this.streams.values()) {
      if (state.status !== 'NONE' && state.pending) out.push({ releaseId: state.releaseId, operationId: state.pending.operationId, deadline: state.pending.deadline });
    }
    return out;
  }

  /** From now on a failure leaves the command to the partition's next owner instead of being retried here. */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Decides the commands of one fetch of a partition together through the write path (handleCommands:
   * one rejection query, one insert of all the commits), then projects them (one write per read-model
   * collection) and publishes their events and the decisions (one Kafka send) through the outbox. Bad
   * input is dead-lettered first. If that fails, every command is decided again on its own, in order,
   * with retries: the write path is idempotent, so what the first try stored is answered from the store and
   * published if it is not yet. `heartbeat` (kafkajs, throttled by it) is called between those, so a slow
   * stretch keeps the partitions.
   */
  async processBatch(messages: KafkaMessage[], topic: string, partition: number, heartbeat: () => Promise<void> = async () => undefined): Promise<void> {
    const started = process.hrtime.bigint();
    const valid: Received[] = [];
    // The outcomes topic's writers are the service's apps (its ACL): what it carries is the service's own.
    const fromOutcomes = topic === topicName(this.config, Topics.outcomes);
    for (const message of messages) {
      const located = { ...message, topic, partition };
      const parsed = parseCommand(message.value as Buffer | null, message.key ? message.key.toString() : null, this.parseOptions);
      if (!parsed.ok) {
        await this.refuse(located, parsed);
        continue;
      }
      const { command, context } = parsed.value;
      const ids = { id: context.id, releaseId: command.data.releaseId, correlationId: context.correlationId };
      const signed = await this.verifier?.verify(message.value ?? Buffer.alloc(0), single(message.headers?.[SIGNATURE_HEADER]));
      if (signed && !signed.ok) {
        await this.refuse(located, { code: 'UNAUTHORIZED', error: `${signed.reason}; every command must be signed by a principal of KAFKA_SIGNERS_FILE`, ...ids });
        continue;
      }
      const principal = signed?.ok ? signed.principal : undefined;
      if (fromOutcomes && principal !== undefined && !this.config.KAFKA_SYSTEM_PRINCIPALS.includes(principal)) {
        await this.refuse(located, { code: 'FORBIDDEN', error: `'${principal}' may not send outcomes: it is not one of KAFKA_SYSTEM_PRINCIPALS`, ...ids });
        continue;
      }
      if (SYSTEM_ONLY.has(command.type) !== fromOutcomes) {
        const error = fromOutcomes
          ? `${command.type} is not an outcome: send it on ${Topics.commands}`
          : `${command.type} is accepted only on ${Topics.outcomes}, which only the service's apps may write`;
        await this.refuse(located, { code: 'FORBIDDEN', error, ...ids });
        continue;
      }
      valid.push({ message: located, correlationId: context.correlationId, item: { streamId: command.data.releaseId, command, metadata: this.metadataOf(context, command, fromOutcomes, principal) } });
    }
    if (valid.length === 0) return;
    try {
      await this.decide(valid, started);
    } catch (error) {
      if (this.stopping) throw error;
      this.logger.warn({ err: error, topic, partition, commands: valid.length }, 'batch failed; deciding its commands one by one');
      for (const one of valid) {
        await this.decideWithRetries(one);
        // One at a time may take long (a database outage): keep the group membership meanwhile.
        await heartbeat();
      }
    }
  }

  /**
   * An install is decided knowing who holds its Helm release's name (the claim is made here) and whether
   * Helm holds a release there, as the executor last listed the cluster. The installs of a batch are
   * prepared together: the releases' clusters in one read, then the names concurrently (a few at a time),
   * the installs of one name in their order, so the first of them claims it as it would alone.
   */
  private async prepareInstalls(items: Array<Received['item']>): Promise<void> {
    const installs = items.filter((item) => item.command.type === 'InstallRelease');
    if (installs.length === 0) return;
    const data = (item: Received['item']) => (item.command as Extract<ReleaseCommand, { type: 'InstallRelease' }>).data;
    const scopes = await this.readModel.scopes([...new Set(installs.filter((i) => !data(i).cluster).map((i) => data(i).releaseId))]);
    const byName = new Map<string, Array<{ item: Received['item']; cluster: string }>>();
    for (const item of installs) {
      const { cluster: named, namespace, name, releaseId } = data(item);
      // The cluster the decision will give it (it refuses a change of cluster): named, else the release's, else the default.
      const cluster = named ?? scopes.get(releaseId)?.cluster ?? this.config.DEFAULT_CLUSTER;
      const key = JSON.stringify([cluster, namespace, name ?? releaseId]);
      const group = byName.get(key) ?? [];
      group.push({ item, cluster });
      byName.set(key, group);
    }
    const groups = [...byName.values()];
    for (let i = 0; i < groups.length; i += INSTALLS_PREPARED_AT_ONCE) {
      await Promise.all(
        groups.slice(i, i + INSTALLS_PREPARED_AT_ONCE).map(async (group) => {
          for (const { item, cluster } of group) {
            const { namespace, name, releaseId } = data(item);
            const [nameHeldBy, listed] = await Promise.all([
              this.names.claim(cluster, namespace, name ?? releaseId, releaseId, new Date(item.metadata.now)),
              this.inventory.find(cluster, namespace, name ?? releaseId),
            ]);
            const helmHolds = listed ? { revision: listed.revision, chart: listed.chart, status: listed.status, seenAt: new Date(listed.seenAt).toISOString() } : undefined;
            item.metadata = { ...item.metadata, nameHeldBy, ...(helmHolds ? { helmHolds } : {}) };
          }
        }),
      );
    }
  }

  /**
   * The write path for `received`, then what its decisions are owed, in this order: the read model (a caller
   * told "accepted" can read its revision at once), the events of commits found again for a redelivery
   * (if not yet published), then the new commits' events with every decision in one send. It returns only
   * when all of that is stored and sent, so the offsets are committed after the commits, never before.
   */
  private async decide(received: Received[], started: bigint): Promise<void> {
    await this.prepareInstalls(received.map((r) => r.item));
    const answers = await handleCommands(this.store, received.map((r) => r.item), RELEASE_AGGREGATE, this.streams);
    const commits = answers.flatMap((a) => (a.outcome === 'ACCEPTED' && a.commit ? [a.commit] : []));
    await this.readModel.catchUpMany(this.store, commits);
    const fresh: Commit[] = [];
    for (const answer of answers) {
      if (answer.outcome !== 'ACCEPTED' || !answer.commit) continue;
      if (answer.duplicate) await this.outbox.dispatchCommit(answer.commit);
      else fresh.push(answer.commit);
    }
    for (const { item } of received) {
      // A drift check's time is kept beside the view (checks that find nothing leave no event).
      if (item.command.type === 'RecordDriftCheck') await this.readModel.noteDriftCheck(item.streamId, item.command.data.checkedAt, item.command.data.revisions.length);
    }
    const results = answers.map((answer, i) => this.resultMessage(this.resultOf(received[i].item, answer), received[i].correlationId));
    await this.outbox.dispatchFresh(fresh, (ready: Commit[]) => this.publisher.publishCommits(ready, [{ topic: Topics.commandResults, events: results }]));

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    answers.forEach((answer, i) => {
      const { item, correlationId } = received[i];
      this.commands.inc({ type: item.command.type, outcome: answer.outcome });
      this.latency.observe({ type: item.command.type }, seconds);
      this.logger.info(
        {
          correlationId,
          commandId: item.metadata.commandId,
          releaseId: item.streamId,
          commandType: item.command.type,
          outcome: answer.outcome,
          duplicate: answer.duplicate,
          ...(answer.outcome === 'REJECTED' ? { code: answer.error.code } : { revision: answer.result.revision }),
        },
        'command decided',
      );
    });
  }

  /**
   * One command through `decide`, until it is decided: a transient failure (the database, the broker) is
   * retried with backoff; a command that keeps failing otherwise is parked on the dead-letter topic, so
   * the partition keeps flowing.
   */
  private async decideWithRetries(one: Received): Promise<void> {
    const { item, message, correlationId } = one;
    const log = this.logger.child({ correlationId, commandId: item.metadata.commandId, releaseId: item.streamId, commandType: item.command.type });
    let unexpectedFailures = 0;
    let unreachableSince: number | undefined;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.decide([one], process.hrtime.bigint());
        return;
      } catch (error) {
        if (this.stopping) {
          // Leave the offset uncommitted: the next owner of the partition handles the command again.
          throw error;
        }
        if (isTransientError(error)) {
          unreachableSince ??= Date.now();
          if ((error as Error).name === 'MongoServerSelectionError' && Date.now() - unreachableSince > DATABASE_UNREACHABLE_EXIT_MS) {
            // Seen in the fault tier after a database restart under load: the MongoDB driver never tried the
            // restarted server again, while a fresh process connects at once. The command is not lost: its
            // offset is not committed, and the next owner of the partition (or this one, restarted) decides it.
            this.logger.fatal({ err: error, seconds: Math.round((Date.now() - unreachableSince) / 1000) }, 'database unreachable; exiting so a fresh process reconnects');
            process.exit(1);
          }
          const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
          log.warn({ err: error, attempt, delay }, 'transient failure, retrying the command');
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        unexpectedFailures += 1;
        log.error({ err: error, attempt: unexpectedFailures }, 'command failed');
        if (unexpectedFailures >= MAX_ATTEMPTS_ON_UNEXPECTED_ERROR) {
          await this.deadLetter(message, `failed ${unexpectedFailures} times: ${(error as Error).message}`);
          await this.publishResult(
            { commandId: item.metadata.commandId, releaseId: item.streamId, outcome: 'REJECTED', error: { code: 'INVALID_MESSAGE', message: 'The command could not be processed and was dead-lettered' } },
            correlationId,
          );
          this.commands.inc({ type: item.command.type, outcome: 'DEAD_LETTERED' });
          return;
        }
      }
    }
  }

  /** Bad or misplaced input: parked on the dead-letter topic with its reason, and refused to its sender if it says who that is. */
  private async refuse(message: Located, parsed: { code: RejectedError['code']; error: string; id?: string; releaseId?: string; correlationId?: string }): Promise<void> {
    await this.deadLetter(message, parsed.error);
    if (parsed.id) {
      await this.publishResult(
        { commandId: parsed.id, ...(parsed.releaseId ? { releaseId: parsed.releaseId } : {}), outcome: 'REJECTED', error: { code: parsed.code, message: parsed.error } },
        parsed.correlationId,
      );
    }
    this.commands.inc({ type: 'invalid', outcome: 'DEAD_LETTERED' });
  }

  /**
   * Who asks, as far as the service can tell. With signed commands (KAFKA_SIGNERS_FILE): the principal
   * that signed, as the service's own (KAFKA_SYSTEM_PRINCIPALS), as the callers it acts for with the
   * grants it names (KAFKA_ON_BEHALF_PRINCIPALS: the API), or as itself with the grants AUTH_GRANTS gives
   * it. Without: the service's own apps on the outcomes topic (its ACL is their proof), the API's callers
   * with the grants their tokens gave them, the service's own apps (KAFKA_SYSTEM_SOURCES) with none
   * needed, and any other Kafka sender as the source it claims, unauthenticated, with the grants
   * AUTH_GRANTS gives that source (none: refused).
   */
  private accessOf(context: CommandContext, fromOutcomes: boolean, principal: string | undefined): Access | undefined {
    if (principal !== undefined) {
      if (this.config.KAFKA_SYSTEM_PRINCIPALS.includes(principal)) return undefined;
      if (this.config.KAFKA_ON_BEHALF_PRINCIPALS.includes(principal)) return { subject: context.actor, authenticated: true, grants: context.grants ?? [] };
      return { subject: principal, authenticated: true, grants: grantsOf(this.config, { principal }) };
    }
    if (fromOutcomes) return undefined;
    if (context.source === API_SOURCE) return { subject: context.actor, authenticated: true, grants: context.grants ?? [] };
    if (matchesPattern(this.config.KAFKA_SYSTEM_SOURCES, context.source)) return undefined;
    return { subject: context.source, authenticated: false, grants: grantsOf(this.config, { source: context.source }) };
  }

  private metadataOf(context: CommandContext, command: ReleaseCommand, fromOutcomes: boolean, principal: string | undefined): ReleaseCommandMetadata {
    const access = this.accessOf(context, fromOutcomes, principal);
    // The decision's own clock, not the sender's: deadlines and freeze windows must not depend on a caller's clock.
    const now = new Date();
    return {
      commandId: context.id,
      fingerprint: commandFingerprint(command),
      now: now.toISOString(),
      // The actor is who the service knows asks: a signer, a caller it acts for, or a claimed source.
      actor: access ? access.subject : context.actor,
      ...(access ? { access } : {}),
      clusters: this.clusters,
      defaultCluster: this.config.DEFAULT_CLUSTER,
      freezeAt: (scope) => this.freezes.at(scope, now),
      correlationId: context.correlationId,
      ...(context.causationId ? { causationId: context.causationId } : {}),
    };
  }

  private resultOf(item: BatchItem<ReleaseCommand>, answer: HandleResult<DecisionSummary>): CommandResult {
    const { commandId } = item.metadata;
    return answer.outcome === 'ACCEPTED'
      ? { commandId, releaseId: item.streamId, outcome: 'ACCEPTED', decision: answer.result }
      : { commandId, releaseId: item.streamId, outcome: 'REJECTED', error: answer.error as RejectedError };
  }

  private async publishResult(result: CommandResult, correlationId?: string): Promise<void> {
    await sendEvents(this.producer, this.config, Topics.commandResults, [this.resultMessage(result, correlationId)]);
  }

  private resultMessage(result: CommandResult, correlationId?: string): OutgoingEvent {
    return {
      key: result.releaseId ?? result.commandId,
      event: commandResultEvent(result, { source: SOURCE, ...(correlationId ? { correlationId } : {}) }),
    };
  }

  private async deadLetter(message: Located, error: string): Promise<void> {
    this.deadLettered.inc();
    this.logger.warn({ error, partition: message.partition, offset: message.offset }, 'command dead-lettered');
    await deadLetter(this.producer, this.config, Topics.commandsDlq, message, error, 'release-service');
  }
}
