// Proves that consistency.mjs catches mismatches: each case breaks one thing
// in a copy of a correct rendering and expects a matching problem.
//
//   node consistency_negative.mjs --list
//   node consistency_negative.mjs --consumer BIN --producer BIN --case NAME RENDERED.yaml
import { parseArgs } from "node:util";
import { checkConsistency, loadBinaries } from "./consistency.mjs";
import { loadObjects } from "./lib/manifests.mjs";

const kind = (objects, k) => objects.filter((o) => o.kind === k);
const statefulSet = (objects) => kind(objects, "StatefulSet")[0];
const consumerContainer = (objects) => statefulSet(objects).spec.template.spec.containers[0];
const producerContainer = (objects) => kind(objects, "Job")[0].spec.template.spec.containers[0];
const setArg = (container, flag, value) => {
  container.args = container.args.map((a) => (a.startsWith(`--${flag}=`) ? `--${flag}=${value}` : a));
};
const headless = (objects) => kind(objects, "Service").find((s) => s.spec.clusterIP === "None");
const flagsConfigMap = (objects, key) => kind(objects, "ConfigMap").find((c) => key in (c.data ?? {}));

// name -> [mutation, expected problem (regexp)]
const CASES = {
  "unknown-flag": [(o) => consumerContainer(o).args.push("--adress=0.0.0.0:50051"), /--adress is not a flag of consumer_service/],
  "illegal-flag-value": [
    (o) => {
      flagsConfigMap(o, "COUNT").data.COUNT = "five";
    },
    /producer_service rejects its args.*Illegal value 'five'/s,
  ],
  "undefined-env-reference": [
    (o) => {
      const c = producerContainer(o);
      c.env = c.env.filter((e) => e.name !== "INTERVAL");
    },
    /\$\(INTERVAL\) is not defined/,
  ],
  "probe-port": [(o) => (consumerContainer(o).readinessProbe.grpc.port = 50052), /readinessProbe asks port 50052/],
  "http-probe": [
    (o) => (consumerContainer(o).livenessProbe = { httpGet: { path: "/healthz", port: 50051 } }),
    /livenessProbe is not a grpc probe/,
  ],
  "listen-port": [(o) => setArg(consumerContainer(o), "address", "0.0.0.0:8080"), /listens on 8080/],
  "target-not-headless": [
    (o) => setArg(producerContainer(o), "target", "dns:///consumer-{shard}.consumer:50051"),
    /not headless/,
  ],
  "target-no-dns-scheme": [
    (o) => setArg(producerContainer(o), "target", "consumer-{shard}.consumer-headless:50051"),
    /is not dns:\/\/\//,
  ],
  "target-port": [
    (o) => setArg(producerContainer(o), "target", "dns:///consumer-{shard}.consumer-headless:50052"),
    /--target port 50052/,
  ],
  // The old round_robin-style target: any pod behind the Service.
  "target-without-shard": [
    (o) => setArg(producerContainer(o), "target", "dns:///consumer-headless:50051"),
    /has no \{shard\} but --consumer_shards=2/,
  ],
  "target-not-per-pod-name": [
    (o) => {
      setArg(producerContainer(o), "target", "dns:///consumer-headless:50051");
      flagsConfigMap(o, "CONSUMER_SHARDS").data.CONSUMER_SHARDS = "1";
    },
    /is not <StatefulSet>-0\.<headless Service>/,
  ],
  "target-other-service": [
    (o) => {
      const other = structuredClone(headless(o));
      other.metadata.name = "consumer-other";
      o.push(other);
      setArg(producerContainer(o), "target", "dns:///consumer-{shard}.consumer-other:50051");
    },
    /names its pods under serviceName consumer-headless/,
  ],
  "shards-not-replicas": [
    (o) => (statefulSet(o).spec.replicas = 3),
    /--consumer_shards=2 but StatefulSet .*consumer has 3 replicas/,
  ],
  "shards-config-not-replicas": [
    (o) => (flagsConfigMap(o, "CONSUMER_SHARDS").data.CONSUMER_SHARDS = "4"),
    /--consumer_shards=4 but StatefulSet .*consumer has 2 replicas/,
  ],
  "service-target-port": [(o) => (headless(o).spec.ports[0].targetPort = 8080), /leads to 8080/],
  "termination-grace": [
    (o) => (statefulSet(o).spec.template.spec.terminationGracePeriodSeconds = 12),
    /terminationGracePeriodSeconds 12/,
  ],
  "network-policy-port": [
    (o) => (kind(o, "NetworkPolicy")[0].spec.ingress[0].ports[0].port = 8080),
    /admits port 8080/,
  ],
  "network-policy-peer": [
    (o) => (kind(o, "NetworkPolicy")[0].spec.ingress[0].from[0].podSelector.matchLabels["app.kubernetes.io/name"] = "someone-else"),
    /no NetworkPolicy rule admits its pods/,
  ],
  "no-disruption-budget": [
    (o) => o.splice(o.findIndex((x) => x.kind === "PodDisruptionBudget"), 1),
    /no PodDisruptionBudget/,
  ],
  "consumer-deployment": [
    (o) => {
      const set = statefulSet(o);
      set.kind = "Deployment";
      delete set.spec.volumeClaimTemplates;
      delete set.spec.serviceName;
    },
    /runs in a Deployment, not a StatefulSet/,
  ],
  "no-volume-claim-template": [
    (o) => delete statefulSet(o).spec.volumeClaimTemplates,
    /no volumeClaimTemplates/,
  ],
  "data-dir-off-volume": [
    (o) => setArg(consumerContainer(o), "data_dir", "/var/lib/consumer-log"),
    /--data_dir=\/var\/lib\/consumer-log is on no volume mount/,
  ],
  "data-dir-on-pod-volume": [
    (o) => {
      const spec = statefulSet(o).spec.template.spec;
      spec.volumes = [...(spec.volumes ?? []), { name: "scratch", emptyDir: {} }];
      consumerContainer(o).volumeMounts.push({ name: "scratch", mountPath: "/var/lib/consumer/tmp" });
      setArg(consumerContainer(o), "data_dir", "/var/lib/consumer/tmp/log");
    },
    /is on volume "scratch" .* not one of the volumeClaimTemplates/,
  ],
  "no-data-dir": [
    (o) => (consumerContainer(o).args = consumerContainer(o).args.filter((a) => !a.startsWith("--data_dir="))),
    /no --data_dir/,
  ],
  "retention-unlimited": [
    (o) => (flagsConfigMap(o, "LOG_RETENTION_BYTES").data.LOG_RETENTION_BYTES = "0"),
    /--log_retention_bytes=0 keeps the log forever/,
  ],
  "retention-over-volume": [
    (o) => (flagsConfigMap(o, "LOG_RETENTION_BYTES").data.LOG_RETENTION_BYTES = "1073741824"),
    /does not fit in 90% of the 1Gi volume "data"/,
  ],
  "log-sync-none": [(o) => (flagsConfigMap(o, "LOG_SYNC").data.LOG_SYNC = "none"), /--log_sync=none: the exactly-once guarantee/],
  "no-fs-group": [(o) => delete statefulSet(o).spec.template.spec.securityContext.fsGroup, /no fsGroup/],
  "service-name-not-headless": [(o) => (statefulSet(o).spec.serviceName = "consumer"), /serviceName consumer is not headless/],
  "version-label-in-claim-template": [
    (o) => (statefulSet(o).spec.volumeClaimTemplates[0].metadata.labels = { "app.kubernetes.io/version": "dev" }),
    /carries label app\.kubernetes\.io\/version=dev/,
  ],
  "producer-id-per-pod": [
    (o) => {
      const c = producerContainer(o);
      c.env.push({ name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } });
      setArg(c, "producer_id", "$(POD_NAME)");
    },
    /--producer_id changes from one pod to the next/,
  ],
  "job-not-indexed": [
    (o) => delete kind(o, "Job")[0].spec.completionMode,
    /job-completion-index'\] is not set on the pods/,
  ],
  "producer-acl-without-mutual-tls": [
    (o) => consumerContainer(o).args.push("--producer_acl=/var/lib/consumer/acl"),
    /--producer_acl needs mutual TLS, but --tls_cert, --tls_key, --tls_client_ca are not set/,
  ],
  "producer-acl-off-volume": [
    (o) => consumerContainer(o).args.push("--producer_acl=/etc/consumer/acl", "--tls_cert=/etc/tls/c", "--tls_key=/etc/tls/k", "--tls_client_ca=/etc/tls/ca"),
    /--producer_acl=\/etc\/consumer\/acl is on no volume mount/,
  ],
  "metrics-port-not-declared": [
    (o) => setArg(consumerContainer(o), "metrics_address", "0.0.0.0:9091"),
    /container port "metrics" is 9090, but --metrics_address=0.0.0.0:9091 listens on 9091/,
  ],
  "metrics-port-clash": [
    (o) => setArg(consumerContainer(o), "metrics_address", "0.0.0.0:50051"),
    /clashes with the gRPC port 50051/,
  ],
  "metrics-on-loopback": [
    (o) => setArg(consumerContainer(o), "metrics_address", "127.0.0.1:9090"),
    /listens on 127\.0\.0\.1 only/,
  ],
  "metrics-port-without-flag": [
    (o) => (consumerContainer(o).args = consumerContainer(o).args.filter((a) => !a.startsWith("--metrics_address="))),
    /declares a "metrics" port 9090 but --metrics_address is empty/,
  ],
  "network-policy-no-scrapes": [
    (o) => (kind(o, "NetworkPolicy")[0].spec.ingress = kind(o, "NetworkPolicy")[0].spec.ingress.filter((r) => !r.from.some((p) => p.namespaceSelector))),
    /no NetworkPolicy rule admits another namespace .* to the metrics port 9090/,
  ],
  "service-metrics-target": [
    (o) => (kind(o, "Service").find((s) => s.spec.clusterIP !== "None").spec.ports.find((p) => p.name === "metrics").targetPort = 9091),
    /port 9090 leads to 9091/,
  ],
  "deadline-too-short": [
    (o) => (flagsConfigMap(o, "DEADLINE").data.DEADLINE = "1m"),
    /--deadline 60s is shorter than a consumer restart/,
  ],
  "deadline-beyond-job": [
    (o) => (flagsConfigMap(o, "DEADLINE").data.DEADLINE = "15m"),
    /not below the Job's activeDeadlineSeconds 600/,
  ],
};

const { values, positionals } = parseArgs({
  options: {
    list: { type: "boolean" },
    case: { type: "string" },
    consumer: { type: "string" },
    producer: { type: "string" },
  },
  allowPositionals: true,
});
if (values.list) {
  console.log(Object.keys(CASES).join("\n"));
  process.exit(0);
}
const entry = CASES[values.case];
if (!entry || !values.consumer || !values.producer || positionals.length !== 1) {
  console.error(`usage: node consistency_negative.mjs --consumer BIN --producer BIN --case (${Object.keys(CASES).join("|")}) RENDERED.yaml`);
  process.exit(2);
}
const binaries = loadBinaries({ consumer_service: values.consumer, producer_service: values.producer });
const objects = loadObjects(positionals[0]);
const [mutate, expected] = entry;

const before = checkConsistency(objects, binaries);
if (before.length > 0) {
  console.log(`the unbroken rendering already has problems:\n${before.join("\n")}`);
  process.exit(1);
}
mutate(objects);
const problems = checkConsistency(objects, binaries);
for (const problem of problems) console.log(`  reported: ${problem}`);
if (problems.some((p) => expected.test(p))) {
  console.log(`${values.case}: rejected as expected (${expected})`);
  process.exit(0);
}
console.log(`${values.case}: NOT rejected; expected a problem matching ${expected}`);
process.exit(1);
