/**
 * Removes what interrupted benchmark runs left on the shared servers: topics and consumer groups under a
 * benchmark prefix (`bench<8 hex>.`) and databases named `bench_*`. A run cleans up after itself; this is
 * for a run that was killed, or lost its broker half-way.
 *
 *   npx tsx bench/clean-leftovers.ts
 */
import { Kafka, logLevel } from 'kafkajs';
import mongoose from 'mongoose';

const BENCH_PREFIX = /^bench[0-9a-f]{8}\./;

async function main(): Promise<void> {
  const kafka = new Kafka({ clientId: 'bench-clean', brokers: (process.env.KAFKA_BROKERS ?? '127.0.0.1:39092').split(','), logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => BENCH_PREFIX.test(t));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => BENCH_PREFIX.test(g));
    // A group whose dead members the broker has not yet timed out (NON_EMPTY_GROUP) goes on a later run.
    const failed = groups.length ? await admin.deleteGroups(groups).then(() => [], (error: { groups?: Array<{ groupId: string }> }) => (error.groups ?? []).map((g) => g.groupId)) : [];
    console.log(`deleted ${topics.length} topics, ${groups.length - failed.length} consumer groups${failed.length ? `; not yet: ${failed.join(', ')}` : ''}`);
  } finally {
    await admin.disconnect();
  }
  const connection = await mongoose.createConnection(process.env.MONGODB_URI ?? 'mongodb://127.0.0.1:37017/x').asPromise();
  try {
    const { databases } = await connection.db!.admin().listDatabases();
    const leftovers = databases.map((d) => d.name).filter((name) => name.startsWith('bench_'));
    for (const name of leftovers) await connection.useDb(name).dropDatabase();
    console.log(`dropped ${leftovers.length} databases${leftovers.length ? `: ${leftovers.join(', ')}` : ''}`);
  } finally {
    await connection.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
