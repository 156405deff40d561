import { CommandResult, commandResultEvent, parseCommand, Topics, ValuesCipher } from '@app/contracts';
import { CommandMetadata, DecisionSummary, ReleaseState } from '@app/domain';
import { handleCommand, MongoEventStore, OutboxDispatcher, RELEASE_AGGREGATE, ReleaseReadModel, StreamCache } from '@app/event-store';
import { APP_CONFIG, AppConfig, isTransientError, KAFKA_PRODUCER, LOGGER, METRICS_REGISTRY, sendEvents, VALUES_CIPHER } from '@app/platform';
import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { EVENT_STORE, OUTBOX, READ_MODEL, SOURCE } from './release-service.constants';

const MAX_ATTEMPTS_ON_UNEXPECTED_ERROR = 3;

/**
 * Turns one message of the commands topic into a decision, exactly once in effect:
 * parse and validate (bad input: dead-letter topic + a rejected result), decide and append through
 * `handleCommand` (idempotent by command id), project the read model, publish the commit's events through
 * the outbox, and publish the decision. It returns only when all of that is stored, so the offset is
 * committed after the commit, never before.
 */
@Injectable()
export class CommandProcessor implements OnApplicationShutdown {
  private readonly commands: Counter;
  private readonly latency: Histogram;
  private readonly deadLettered: Counter;
  private stopping = false;
  /** This instance owns its partitions' releases: their loaded streams stay in memory between commands. */
  private readonly streams = new StreamCache<ReleaseState>();

  constructor(
    @Inject(EVENT_STORE) private readonly store: MongoEventStore,
    @Inject(READ_MODEL) private readonly readModel: ReleaseReadModel,
    @Inject(OUTBOX) private readonly outbox: OutboxDispatcher,
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
  }

  onApplicationShutdown(): void {
    this.stopping = true;
  }

  async process(message: KafkaMessage & { partition?: number; topic?: string }): Promise<void> {
    const started = process.hrtime.bigint();
    const key = message.key ? message.key.toString() : null;
    const parsed = parseCommand(message.value as Buffer | null, key, this.cipher ?? undefined);
    if (!parsed.ok) {
      await this.deadLetter(message, parsed.error);
      if (parsed.id) {
        await this.publishResult(
          {
            commandId: parsed.id,
            ...(parsed.releaseId ? { releaseId: parsed.releaseId } : {}),
            outcome: 'REJECTED',
            error: { code: /^invalid .* data/.test(parsed.error) ? 'VALIDATION_FAILED' : 'INVALID_MESSAGE', message: parsed.error },
          },
          parsed.correlationId,
        );
      }
      this.commands.inc({ type: 'invalid', outcome: 'DEAD_LETTERED' });
      return;
    }
    const { command, context } = parsed.value;
    const releaseId = command.data.releaseId;
    const log = this.logger.child({ correlationId: context.correlationId, commandId: context.id, releaseId, commandType: command.type });
    const metadata: CommandMetadata = {
      commandId: context.id,
      // The decision's own clock, not the sender's: deadlines must not depend on a caller's clock.
      now: new Date().toISOString(),
      actor: context.actor,
      correlationId: context.correlationId,
      ...(context.causationId ? { causationId: context.causationId } : {}),
    };

    let unexpectedFailures = 0;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const handled = await handleCommand(this.store, releaseId, command, metadata, RELEASE_AGGREGATE, this.streams);
        if (handled.outcome === 'ACCEPTED') {
          // Read model first: a caller told "accepted" can read its revision at once.
          await this.readModel.catchUp(this.store, releaseId, handled.commit ?? undefined);
          if (handled.commit) await this.outbox.dispatchCommit(handled.commit, !handled.duplicate);
          await this.publishResult({ commandId: context.id, releaseId, outcome: 'ACCEPTED', decision: handled.result as DecisionSummary }, context.correlationId);
        } else {
          await this.publishResult({ commandId: context.id, releaseId, outcome: 'REJECTED', error: handled.error as never }, context.correlationId);
        }
        this.commands.inc({ type: command.type, outcome: handled.outcome });
        this.latency.observe({ type: command.type }, Number(process.hrtime.bigint() - started) / 1e9);
        log.info({ outcome: handled.outcome, duplicate: handled.duplicate, ...(handled.outcome === 'REJECTED' ? { code: handled.error.code } : { revision: (handled.result as DecisionSummary).revision }) }, 'command decided');
        return;
      } catch (error) {
        if (this.stopping) {
          // Leave the offset uncommitted: the next owner of the partition handles the command again.
          throw error;
        }
        if (isTransientError(error)) {
          const delay = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6));
          log.warn({ err: error, attempt, delay }, 'transient failure, retrying the command');
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        unexpectedFailures += 1;
        log.error({ err: error, attempt: unexpectedFailures }, 'command failed');
        if (unexpectedFailures >= MAX_ATTEMPTS_ON_UNEXPECTED_ERROR) {
          // A poison message: park it so the partition keeps flowing.
          await this.deadLetter(message, `failed ${unexpectedFailures} times: ${(error as Error).message}`);
          await this.publishResult(
            { commandId: context.id, releaseId, outcome: 'REJECTED', error: { code: 'INVALID_MESSAGE', message: 'The command could not be processed and was dead-lettered' } },
            context.correlationId,
          );
          this.commands.inc({ type: command.type, outcome: 'DEAD_LETTERED' });
          return;
        }
      }
    }
  }

  private async publishResult(result: CommandResult, correlationId?: string): Promise<void> {
    await sendEvents(this.producer, this.config, Topics.commandResults, [
      {
        key: result.releaseId ?? result.commandId,
        event: commandResultEvent(result, { source: SOURCE, ...(correlationId ? { correlationId } : {}) }),
      },
    ]);
  }

  private async deadLetter(message: KafkaMessage & { partition?: number; topic?: string }, error: string): Promise<void> {
    this.deadLettered.inc();
    this.logger.warn({ error, partition: message.partition, offset: message.offset }, 'command dead-lettered');
    // The original bytes travel unchanged; the reason and origin go in headers.
    await this.producer.send({
      topic: `${this.config.KAFKA_TOPIC_PREFIX}${Topics.commandsDlq}`,
      acks: -1,
      messages: [
        {
          key: message.key,
          value: message.value,
          headers: {
            'dlq-error': error.slice(0, 4_000),
            'dlq-original-topic': message.topic ?? '',
            'dlq-original-partition': String(message.partition ?? ''),
            'dlq-original-offset': message.offset,
            'dlq-at': new Date().toISOString(),
          },
        },
      ],
    });
  }
}
