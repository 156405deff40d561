/**
 * Jest global setup for the int and e2e tiers: find the real servers the tests talk to.
 *
 * 1. KAFKA_BROKERS and MONGODB_URI set (scripts/test.sh provisions servers and sets them): use those.
 * 2. Otherwise, where a Docker engine answers: start Kafka and MongoDB with testcontainers.
 * 3. Otherwise stop with a message saying how to get servers. Tests are never skipped for lack of them.
 *
 * The clusters are not started here: HELM_BIN, KUBECONFIG and KUBECONFIG_B (cluster "b", for multi-cluster
 * tests) are in the environment that scripts/test.sh sets from `scripts/infra/kube.sh up` (or
 * scripts/infra.sh up), which jest and its workers inherit; testKube and testKubeB (kube.ts) read them.
 */
import type { StartedTestContainer } from 'testcontainers';

declare global {
  var __TEST_CONTAINERS__: StartedTestContainer[] | undefined;
}

const dockerAvailable = async (): Promise<boolean> => {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
};

export default async function globalSetup(): Promise<void> {
  if (process.env.KAFKA_BROKERS && process.env.MONGODB_URI) return;
  if (process.env.TESTCONTAINERS !== 'false' && (await dockerAvailable())) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    const { MongoDBContainer } = await import('@testcontainers/mongodb');
    const [kafka, mongo] = await Promise.all([
      new KafkaContainer('confluentinc/cp-kafka:7.9.0').withKraft().withExposedPorts(9093).start(),
      new MongoDBContainer('mongo:7.0').start(),
    ]);
    globalThis.__TEST_CONTAINERS__ = [kafka, mongo];
    process.env.KAFKA_BROKERS = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
    process.env.MONGODB_URI = `${(mongo as unknown as { getConnectionString(): string }).getConnectionString()}/helm_releases?directConnection=true`;
    return;
  }
  throw new Error(
    'Integration tests need a real Kafka broker and a MongoDB-compatible server. Run `npm test`, which ' +
      'provisions both, or set KAFKA_BROKERS and MONGODB_URI, or make a Docker engine reachable for testcontainers.',
  );
}
