import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { parseReleaseEventNotice, ReleaseEventNotice, Topics } from '@app/contracts';
import { APP_CONFIG, AppConfig, KAFKA, LOGGER, messageLimits } from '@app/platform';
import { InstanceConsumer } from './instance-consumer';
import { Problem } from './problem';

type Listener = (notice: ReleaseEventNotice) => void;

/**
 * Notices of release events for the console's live pages (Server-Sent Events). The instance reads the
 * events topic from the first watcher on rather than from start (most instances serve no console), and
 * hands each notice to the watchers of its release. A notice says which event, never its data: a viewer
 * learns only that it should read the release again, through the routes that redact for it.
 */
@Injectable()
export class ReleaseStream implements OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<Listener>>();
  private watchers = 0;
  private readonly events: InstanceConsumer;

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    const limits = messageLimits(config);
    this.events = new InstanceConsumer(kafka, config, logger, 'stream', Topics.events, (value) => {
      // Bounded, and never thrown: a bad message costs its notice, not the consumer.
      const notice = parseReleaseEventNotice(value, limits);
      if (!notice) return;
      for (const listener of this.listeners.get(notice.releaseId) ?? []) {
        try {
          listener(notice);
        } catch (error) {
          this.logger.warn({ err: error, releaseId: notice.releaseId }, 'a live page could not be told of an event');
        }
      }
    });
  }

  /**
   * Registers a watcher of one release; resolves once the consumer fetches, so a change committed after
   * that is not missed. Returns the function that unregisters it.
   */
  async watch(releaseId: string, listener: Listener): Promise<() => void> {
    if (this.watchers >= this.config.API_MAX_STREAMS) {
      const busy = new Problem('UNAVAILABLE', `${this.watchers} live pages are open on this instance; retry shortly`);
      busy.headers = { 'Retry-After': '5' };
      throw busy;
    }
    this.watchers += 1;
    let set = this.listeners.get(releaseId);
    if (!set) this.listeners.set(releaseId, (set = new Set()));
    set.add(listener);
    const stop = () => {
      if (!set!.delete(listener)) return;
      this.watchers -= 1;
      if (set!.size === 0) this.listeners.delete(releaseId);
    };
    try {
      await this.events.start();
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  onApplicationShutdown(): Promise<void> {
    return this.events.stop();
  }
}
