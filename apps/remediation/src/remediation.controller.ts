import { commandEvent, parseReleaseEvent, Topics, UpgradeFailedSignalSchema, ValuesCipher } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { APP_CONFIG, AppConfig, KAFKA_PRODUCER, LOGGER, METRICS_REGISTRY, sendEvents, topicName, VALUES_CIPHER } from '@app/platform';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import type { KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { z } from 'zod';
import { ACTOR, EVENTS_TOPIC, SIGNALS_TOPIC, SOURCE } from './remediation.constants';

const SignalEnvelope = z.object({
  specversion: z.literal('1.0'),
  id: z.string().min(1).max(200),
  source: z.string().min(1).max(500),
  type: z.literal('helm.release.upgrade-failed'),
  data: UpgradeFailedSignalSchema,
});

/**
 * Automatic remediation. It decides nothing itself: it turns "this upgrade failed" into commands, and the
 * release aggregate applies its loop-safety rules (only a failed upgrade, only the latest revision, only
 * once per failed revision, never after a failed rollback, never to a quarantined configuration). Command
 * ids are derived from the failed revision, so redeliveries and several instances yield one rollback.
 */
@Controller()
export class RemediationController {
  private readonly issued: Counter;

  constructor(
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(VALUES_CIPHER) private readonly cipher: ValuesCipher | null,
  ) {
    this.issued = new Counter({ name: 'helm_remediation_commands_total', help: 'Commands issued by remediation', labelNames: ['kind'], registers: [registry] });
  }

  @EventPattern(EVENTS_TOPIC)
  async onReleaseEvent(@Ctx() context: KafkaContext): Promise<void> {
    let received;
    try {
      received = parseReleaseEvent(context.getMessage().value as Buffer | null, this.cipher ?? undefined);
    } catch (error) {
      this.logger.error({ err: error }, 'unreadable release event skipped');
      return;
    }
    if (!received) return;
    const { event } = received;
    if (event.type === 'RevisionFailed' && event.data.remediate) {
      await this.rollback(event.data.releaseId, event.data.revision, `automatic rollback: upgrade revision ${event.data.revision} failed: ${event.data.error.slice(0, 300)}`, received.correlationId);
    } else if (event.type === 'UpgradeFailureReported' && event.data.remediate) {
      await this.rollback(event.data.releaseId, event.data.revision, `automatic rollback: ${event.data.reportedBy} reported revision ${event.data.revision} failed: ${event.data.reason.slice(0, 300)}`, received.correlationId);
    }
  }

  /** Upgrade-failed signals of other services: validated; a bad one goes to the dead-letter topic. */
  @EventPattern(SIGNALS_TOPIC)
  async onSignal(@Ctx() context: KafkaContext): Promise<void> {
    const message = context.getMessage();
    let parsed: z.infer<typeof SignalEnvelope>;
    try {
      const result = SignalEnvelope.safeParse(JSON.parse((message.value as Buffer | null)?.toString() ?? ''));
      if (!result.success) throw new Error(result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      parsed = result.data;
    } catch (error) {
      await this.deadLetter(message, (error as Error).message);
      return;
    }
    const command: ReleaseCommand = { type: 'ReportUpgradeFailure', data: parsed.data };
    await this.send(command, `signal:${parsed.id}`, parsed.source, parsed.id);
    this.issued.inc({ kind: 'report-upgrade-failure' });
  }

  private async rollback(releaseId: string, revision: number, reason: string, correlationId?: string): Promise<void> {
    const command: ReleaseCommand = {
      type: 'RollbackToLastSuccessful',
      data: { releaseId, trigger: 'AUTOMATIC', causedByRevision: revision, reason },
    };
    await this.send(command, `remediate:${releaseId}:${revision}`, ACTOR, correlationId ?? `remediate:${releaseId}:${revision}`);
    this.issued.inc({ kind: 'automatic-rollback' });
    this.logger.info({ releaseId, revision }, 'automatic rollback requested');
  }

  private send(command: ReleaseCommand, id: string, actor: string, correlationId: string): Promise<void> {
    return sendEvents(this.producer, this.config, Topics.commands, [
      { key: command.data.releaseId, event: commandEvent(command, { id, source: SOURCE, actor, correlationId }) },
    ]);
  }

  private async deadLetter(message: KafkaMessage, error: string): Promise<void> {
    this.logger.warn({ error, offset: message.offset }, 'upgrade-failed signal dead-lettered');
    await this.producer.send({
      topic: topicName(this.config, Topics.upgradeFailedSignalsDlq),
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers: { 'dlq-error': error.slice(0, 4_000), 'dlq-original-offset': message.offset } }],
    });
  }
}
