import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { CommandResult, COMMAND_RESULT_TYPE, parseBoundedJson, Topics, ValuesCipher } from '@app/contracts';
import type { Grant, ReleaseCommand } from '@app/domain';
import { APP_CONFIG, AppConfig, ensureTopics, KAFKA, KAFKA_PRODUCER, LOGGER, messageLimits, sendCommands, VALUES_CIPHER } from '@app/platform';
import { InstanceConsumer } from './instance-consumer';
import { Problem } from './problem';

export { API_SOURCE } from '@app/contracts';
import { API_SOURCE } from '@app/contracts';

interface Waiter {
  resolve: (result: CommandResult) => void;
  timer: NodeJS.Timeout;
}

/**
 * Request/reply over Kafka: publish a command, wait for its decision on the results topic. Each API
 * instance reads all results in a consumer group of its own and picks the ones it waits for.
 */
@Injectable()
export class CommandBus implements OnModuleInit, OnApplicationShutdown {
  private readonly waiters = new Map<string, Waiter>();
  private readonly replies: InstanceConsumer;

  constructor(
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {
    const limits = messageLimits(config);
    this.replies = new InstanceConsumer(kafka, config, this.logger, 'replies', Topics.commandResults, (value) => {
      if (!value) return;
      // Results come from the release service, but the topic is open to any producer: bounded first.
      const parsed = parseBoundedJson(value, limits);
      if (!parsed.ok) throw new Error(parsed.reason);
      const event = parsed.json as { type?: string; data?: CommandResult } | null;
      if (!event || typeof event !== 'object') return;
      if (event.type !== COMMAND_RESULT_TYPE || !event.data) return;
      const waiter = this.waiters.get(event.data.commandId);
      if (!waiter) return;
      clearTimeout(waiter.timer);
      this.waiters.delete(event.data.commandId);
      waiter.resolve(event.data);
    });
  }

  async onModuleInit(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, this.config, [Topics.commands, Topics.outcomes, Topics.commandResults, Topics.commandsDlq, Topics.events, Topics.renderRequests, Topics.renderResults]);
    await admin.disconnect();
    // Ready only once the group has joined and fetched: a reply published before that would be missed.
    await this.replies.start();
  }

  async onApplicationShutdown(): Promise<void> {
    for (const [id, waiter] of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve({ commandId: id, outcome: 'REJECTED', error: { code: 'TIMEOUT', message: 'The API is shutting down' } });
    }
    await this.replies.stop();
  }

  /** Publishes a command and resolves with its decision, or fails with a 504 problem after the timeout. */
  async send(command: ReleaseCommand, context: { id?: string; actor: string; grants: Grant[]; correlationId: string }): Promise<CommandResult> {
    const id = context.id ?? randomUUID();
    const existing = this.waiters.get(id);
    if (existing) throw new Problem('OPERATION_IN_PROGRESS', `A request with Idempotency-Key '${id}' is still being decided`);
    if (this.waiters.size >= this.config.API_MAX_IN_FLIGHT) {
      // Each waiter holds a request, a timer and memory until its decision: past the cap, callers back off.
      const busy = new Problem('UNAVAILABLE', `${this.waiters.size} requests are waiting for decisions; retry shortly`);
      busy.headers = { 'Retry-After': '1' };
      throw busy;
    }
    const result = new Promise<CommandResult>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        resolve({
          commandId: id,
          releaseId: command.data.releaseId,
          outcome: 'REJECTED',
          error: {
            code: 'TIMEOUT',
            message:
              `No decision for command '${id}' within ${this.config.REQUEST_TIMEOUT_MS} ms. It may still be applied: ` +
              'repeat the request with the same Idempotency-Key to get its decision, or read the release history',
          },
        });
      }, this.config.REQUEST_TIMEOUT_MS);
      this.waiters.set(id, { resolve, timer });
    });
    try {
      await sendCommands(this.producer, this.config, [{ command, context: { id, source: API_SOURCE, actor: context.actor, grants: context.grants, correlationId: context.correlationId } }], this.cipher);
    } catch (error) {
      clearTimeout(this.waiters.get(id)?.timer);
      this.waiters.delete(id);
      this.logger.error({ err: error }, 'could not publish a command');
      throw new Problem('UNAVAILABLE', 'The command could not be published to Kafka; nothing was changed. Retry later');
    }
    return result;
  }
}
