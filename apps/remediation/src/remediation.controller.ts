import { parseReleaseEvent, parseUpgradeFailedSignal, redactText, Topics, ValuesCipher } from '@app/contracts';
import type { ReleaseCommand } from '@app/domain';
import { APP_CONFIG, AppConfig, deadLetter, KAFKA_PRODUCER, LOGGER, messageParseOptions, METRICS_REGISTRY, sendCommands, VALUES_CIPHER } from '@app/platform';
import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern, KafkaContext } from '@nestjs/microservices';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { Counter, Registry } from 'prom-client';
import { ACTOR, CONSUMER_GROUP, EVENTS_TOPIC, SIGNALS_TOPIC, SOURCE } from './remediation.constants';

/**
 * Automatic remediation. It decides nothing itself: it turns "this upgrade failed" into commands, and the
 * release aggregate applies its loop-safety rules (only a failed upgrade, only the latest revision, only
 * once per failed revision, never after a failed rollback, never to a quarantined configuration). Command
 * ids are derived from the failed revision, so redeliveries and several instances yield one rollback.
 */
@Controller()
export class RemediationController {
  private readonly issued: Counter;
  private readonly parseOptions: ReturnType<typeof messageParseOptions>;

  constructor(
    @Inject(KAFKA_PRODUCER) private readonly producer: Producer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(VALUES_CIPHER) cipher: ValuesCipher | null,
  ) {
    this.issued = new Counter({ name: 'helm_remediation_commands_total', help: 'Commands issued by remediation', labelNames: ['kind'], registers: [registry] });
    this.parseOptions = messageParseOptions(config, cipher);
  }

  @EventPattern(EVENTS_TOPIC)
  async onReleaseEvent(@Ctx() context: KafkaContext): Promise<void> {
    const parsed = parseReleaseEvent(context.getMessage().value as Buffer | null, this.parseOptions);
    if (!parsed.ok) {
      await this.deadLetter(context, Topics.eventsDlq, parsed.reason);
      return;
    }
    const { received } = parsed;
    if (!received) return;
    const { event } = received;
    if (event.type === 'RevisionFailed' && event.data.remediate) {
      const { releaseId, revision, operation, error } = event.data;
      const why = `${operation.toLowerCase()} revision ${revision} failed: ${redactText(error).slice(0, 300)}`;
      if (event.data.strategy === 'uninstall') await this.uninstall(releaseId, revision, `automatic uninstall: ${why}`, received.correlationId);
      else await this.rollback(releaseId, revision, `automatic rollback: ${why}`, received.correlationId);
    } else if (event.type === 'UpgradeFailureReported' && event.data.remediate) {
      await this.rollback(event.data.releaseId, event.data.revision, `automatic rollback: ${event.data.reportedBy} reported revision ${event.data.revision} failed: ${event.data.reason.slice(0, 300)}`, received.correlationId);
    }
  }

  /** Upgrade-failed signals of other services: validated; a bad one goes to the dead-letter topic. */
  @EventPattern(SIGNALS_TOPIC)
  async onSignal(@Ctx() context: KafkaContext): Promise<void> {
    const signal = parseUpgradeFailedSignal(context.getMessage().value as Buffer | null, this.parseOptions.limits);
    if (!signal.ok) {
      await this.deadLetter(context, Topics.upgradeFailedSignalsDlq, signal.reason);
      return;
    }
    const parsed = signal.signal;
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

  /** The release's remediation strategy is uninstall: the history is kept, and a reinstall or rollback may follow. */
  private async uninstall(releaseId: string, revision: number, reason: string, correlationId?: string): Promise<void> {
    const command: ReleaseCommand = { type: 'UninstallRelease', data: { releaseId, trigger: 'AUTOMATIC', causedByRevision: revision, reason } };
    await this.send(command, `remediate:${releaseId}:${revision}`, ACTOR, correlationId ?? `remediate:${releaseId}:${revision}`);
    this.issued.inc({ kind: 'automatic-uninstall' });
    this.logger.info({ releaseId, revision }, 'automatic uninstall requested');
  }

  private send(command: ReleaseCommand, id: string, actor: string, correlationId: string): Promise<void> {
    return sendCommands(this.producer, this.config, [{ command, context: { id, source: SOURCE, actor, correlationId } }]);
  }

  private async deadLetter(context: KafkaContext, dlqTopic: string, reason: string): Promise<void> {
    const message = context.getMessage();
    this.logger.warn({ error: reason, topic: context.getTopic(), offset: message.offset }, 'message dead-lettered');
    await deadLetter(this.producer, this.config, dlqTopic, { ...message, topic: context.getTopic(), partition: context.getPartition() }, reason, CONSUMER_GROUP);
  }
}
