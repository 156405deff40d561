import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;

/**
 * Usage: KafkaReadyCheck bootstrap timeoutSeconds pidToWatch|- [warm-groups]; the system property
 * ready.client.properties names a file of client settings to add (the security profile's SASL_SSL).
 * Exit 0 once the broker serves metadata; 1 on timeout; 2 if the watched process died.
 */
public class KafkaReadyCheck {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[1]));
    Long pid = args.length > 2 && !args[2].equals("-") ? Long.valueOf(args[2]) : null;
    boolean warmGroups = args.length > 3 && args[3].equals("warm-groups");
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("client.id", "kafka-sh-ready-check");
    props.put("request.timeout.ms", "3000");
    props.put("default.api.timeout.ms", "5000");
    props.put("reconnect.backoff.max.ms", "500");
    String extra = System.getProperty("ready.client.properties");
    if (extra != null) {
      try (java.io.Reader reader = java.nio.file.Files.newBufferedReader(java.nio.file.Path.of(extra))) {
        props.load(reader);
      }
    }
    String last = "no attempt";
    try (Admin admin = Admin.create(props)) {
      while (System.nanoTime() < deadline) {
        if (pid != null && !ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
          System.err.println("broker process " + pid + " exited");
          System.exit(2);
        }
        try {
          DescribeClusterResult cluster = admin.describeCluster(new DescribeClusterOptions().timeoutMs(3000));
          String clusterId = cluster.clusterId().get(4, TimeUnit.SECONDS);
          int brokers = cluster.nodes().get(4, TimeUnit.SECONDS).size();
          admin.listTopics(new ListTopicsOptions().timeoutMs(3000)).names().get(4, TimeUnit.SECONDS);
          // A cluster is ready once every node is registered (ready.brokers, default 1).
          if (brokers >= Integer.getInteger("ready.brokers", 1)) {
            String groups = "";
            if (warmGroups) {
              // FindCoordinator makes the broker create __consumer_offsets now rather than while the
              // first test's consumer waits (kafkajs logs "group coordinator is not available" meanwhile).
              int ms = (int) Math.max(2000, Math.min(30000, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
              admin.listConsumerGroupOffsets("kafka-sh-warmup", new ListConsumerGroupOffsetsOptions().timeoutMs(ms))
                  .partitionsToOffsetAndMetadata().get(ms + 1000L, TimeUnit.MILLISECONDS);
              groups = ", group coordinator ready";
            }
            System.out.println("cluster " + clusterId + ", " + brokers + " broker(s)" + groups);
            return;
          }
          last = brokers + " broker(s) registered";
        } catch (Exception e) {
          last = String.valueOf(e.getCause() != null ? e.getCause() : e);
        }
        Thread.sleep(500);
      }
    }
    System.err.println("broker at " + bootstrap + " did not answer metadata requests: " + last);
    System.exit(1);
  }
}
