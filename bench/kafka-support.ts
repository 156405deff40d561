/**
 * Kafka and process helpers of the benchmarks that run the apps: a recorder of decisions on a results
 * topic, bulk sends, a raw request/reply client, and resident-memory sampling of child processes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { messageChunks } from '@app/platform';
import { now } from './support';

/** What the benchmarks read of a command-result message (and of the raw baselines' look-alikes). */
export interface DecisionMessage {
  commandId: string;
  outcome: string;
  releaseId?: string;
  decision?: { operationId?: string; revision?: number };
  error?: { code: string; message: string };
}

/**
 * Connects `consumer`, subscribes it to `topic` and hands each message to `onMessage`. Resolves once the
 * consumer has joined its group and fetched once: from then on nothing is missed.
 */
const consume = async (consumer: Consumer, topic: string, fromBeginning: boolean, onMessage: (message: KafkaMessage) => void): Promise<void> => {
  const fetching = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.FETCH, () => {
      off();
      resolve();
    });
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning });
  await consumer.run({ eachMessage: async ({ message }) => onMessage(message) });
  await fetching;
};

/**
 * Records every decision on a topic, from the beginning, by command id, and tells when a set of commands
 * has all been answered. The time is taken in the handler, as the answer arrives.
 */
export class DecisionRecorder {
  /** The raw text of the last message, a template of the real size for the baselines. */
  lastRaw = '';
  private readonly decisions = new Map<string, DecisionMessage>();
  private waiter: { missing: Set<string>; resolve: (at: number) => void } | null = null;
  private readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    groupId: string,
  ) {
    this.consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  }

  start(): Promise<void> {
    return consume(this.consumer, this.topic, true, (message) => {
      if (!message.value) return;
      const raw = message.value.toString();
      const data = (JSON.parse(raw) as { data?: DecisionMessage }).data;
      if (!data?.commandId) return;
      this.lastRaw = raw;
      this.decisions.set(data.commandId, data);
      if (this.waiter?.missing.delete(data.commandId) && this.waiter.missing.size === 0) {
        const { resolve } = this.waiter;
        this.waiter = null;
        resolve(now());
      }
    });
  }

  /** Resolves with the time the last of `ids` was answered; call before sending them. */
  allAnswered(ids: readonly string[], timeoutMs: number, what: string): Promise<number> {
    const missing = new Set(ids.filter((id) => !this.decisions.has(id)));
    if (missing.size === 0) return Promise.resolve(now());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`${what}: ${missing.size} of ${ids.length} commands got no decision within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        missing,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      };
    });
  }

  get(commandId: string): DecisionMessage | undefined {
    return this.decisions.get(commandId);
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** Sends keyed messages in large batches, as fast as the broker takes them. */
/**
 * Sends in requests of at most 500 messages and about 4 MiB, so large messages (values of 100 KB) stay
 * under the topics' max.message.bytes per partition batch.
 */
export const sendAll = async (producer: Producer, topic: string, messages: Array<{ key: string; value: string }>): Promise<void> => {
  for (const batch of messageChunks(messages, 500, 4 * 1024 * 1024)) await producer.send({ topic, messages: batch, acks: -1 });
};

/**
 * The client half of a raw request/reply: publish a request, resolve when the reply with the same id
 * arrives on the reply topic. The same shape as the API's CommandBus, without anything else.
 */
export class RawRequester {
  private readonly waiters = new Map<string, () => void>();
  private readonly consumer: Consumer;

  constructor(
    kafka: Kafka,
    private readonly producer: Producer,
    private readonly requests: string,
    private readonly replies: string,
    groupId: string,
  ) {
    this.consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
  }

  start(): Promise<void> {
    return consume(this.consumer, this.replies, false, (message) => {
      const id = (JSON.parse(message.value!.toString()) as { data: { commandId: string } }).data.commandId;
      this.waiters.get(id)?.();
      this.waiters.delete(id);
    });
  }

  /** One round trip, in ms. */
  async roundTrip(id: string, key: string, value: string, timeoutMs = 30_000): Promise<number> {
    const start = now();
    const replied = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${id} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    // Together: a reply that times out while the send still waits must not be an unhandled rejection.
    await Promise.all([this.producer.send({ topic: this.requests, messages: [{ key, value }], acks: -1 }), replied]);
    return now() - start;
  }

  stop(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/**
 * Runs `task(i)` for i < n, starting one every 1000/rate ms whatever the previous ones are doing (an
 * open loop, as independent callers would), and returns what each resolved to.
 */
export const atSteadyRate = async <T>(n: number, rate: number, task: (i: number) => Promise<T>): Promise<T[]> => {
  const start = now();
  const running: Array<Promise<T>> = [];
  for (let i = 0; i < n; i += 1) {
    const wait = start + (i * 1000) / rate - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const started = task(i);
    // Handled now (Promise.all below reports it): a failure while later tasks are still being started
    // must not end the process as an unhandled rejection, skipping the benchmark's clean-up.
    started.catch(() => undefined);
    running.push(started);
  }
  return Promise.all(running);
};

/** Resident set size of a process in MiB, from /proc (Linux); null once it is gone. */
export const rssMiB = (pid: number): number | null => {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null;
  }
};

/** Samples the RSS of some processes every `intervalMs`, keeping the peak and the latest sample. */
export class RssSampler {
  private readonly seen = new Map<string, { peak: number; last: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly processes: Array<{ name: string; pid: number }>) {}

  start(intervalMs = 200): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  /** Takes a last sample and stops; returns peak and end per process, in MiB. */
  stop(): Map<string, { peak: number; last: number }> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.seen;
  }

  private sample(): void {
    for (const { name, pid } of this.processes) {
      const rss = rssMiB(pid);
      if (rss === null) continue;
      const prior = this.seen.get(name);
      this.seen.set(name, { peak: Math.max(prior?.peak ?? 0, rss), last: rss });
    }
  }
}

/** CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat; null once it is gone. */
export const cpuMs = (pid: number): number | null => {
  try {
    // Fields after the command name (which may hold spaces, hence from the last ')'): utime is the 12th, stime the 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
};

/** USER_HZ: 100 on every Linux this runs on (sysconf is not reachable from node). */
const CLOCK_TICKS = 100;

/** Local processes whose command line (NUL-separated arguments) satisfies `test`. */
export const pidsWhere = (test: (cmdline: string) => boolean): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);

/** A process's command-line argument `--name=value`, if it has one (FerretDB's --handler, say). */
export const argOf = (pid: number, name: string): string | undefined => {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  } catch {
    return undefined;
  }
};

/** A set of processes counted as one: an app, or a server with its helpers (PostgreSQL's backends). */
export interface ProcessGroup {
  name: string;
  pids: () => number[];
}

/**
 * The local servers of scripts/infra.sh behind MONGODB_URI and the broker, for CPU accounting (none of a
 * remote server), and which FerretDB backend serves: figures differ by an order of magnitude between them.
 */
export const localServers = (mongodbUri: string): { groups: ProcessGroup[]; database: string } => {
  const { hostname, port } = new URL(mongodbUri);
  const ferretdb = pidsWhere((c) => c.includes(`--listen-addr=${hostname}:${port}`));
  const handler = ferretdb.length ? argOf(ferretdb[0], 'handler') : undefined;
  const groups: ProcessGroup[] = [
    { name: 'ferretdb', pids: () => ferretdb },
    { name: 'kafka', pids: () => pidsWhere((c) => c.includes('kafka.Kafka')) },
  ];
  // FerretDB's PostgreSQL does the filtering: its processes (server and one per connection) count too.
  if (handler === 'postgresql') groups.push({ name: 'postgres', pids: () => pidsWhere((c) => c.startsWith('postgres') || c.includes('/bin/postgres\0')) });
  return { groups, database: ferretdb.length ? `FerretDB --handler=${handler ?? '?'}` : 'the MongoDB-wire server at MONGODB_URI' };
};

/**
 * CPU used by each group of processes between `start()` and `stop()`, in ms: on a machine with two
 * cores, where the service, the broker and the database compete, this says who spends what per message.
 * A process that starts in between counts whole; one that ends in between is lost.
 */
export class CpuMeter {
  private readonly started = new Map<number, number>();

  constructor(private readonly groups: ProcessGroup[]) {}

  start(): void {
    for (const group of this.groups) for (const pid of group.pids()) this.started.set(pid, cpuMs(pid) ?? 0);
  }

  /** "name N" (ms) per group, divided by `per` (messages), largest first. */
  stop(per: number): string {
    return this.groups
      .map(({ name, pids }) => ({ name, ms: pids().reduce((sum, pid) => sum + (cpuMs(pid) ?? 0) - (this.started.get(pid) ?? 0), 0) / per }))
      .filter(({ ms }) => ms > 0)
      .sort((a, b) => b.ms - a.ms)
      .map(({ name, ms }) => `${name} ${ms.toFixed(1)}`)
      .join(', ');
  }
}

/** One process as a group. */
export const single = (name: string, pid: number): ProcessGroup => ({ name, pids: () => [pid] });
