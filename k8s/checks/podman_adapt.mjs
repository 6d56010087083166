// Turns a rendering of k8s/overlays/local into what `podman kube play` (4.3)
// can run on one machine, talking only to loopback addresses. Used by
// podman_smoke.sh. Every change is made to the rendered objects themselves,
// so the pods run with exactly the manifests' images, commands, flags, env,
// ConfigMaps, resources, volume mounts and security contexts; what changes,
// and why:
//   - StatefulSet -> one Pod per replica, named as the StatefulSet
//     controller names them (consumer-0, consumer-1, ...), and each claim
//     of its volumeClaimTemplates -> a PersistentVolumeClaim named as the
//     controller names it (data-consumer-0, ...), which podman turns into a
//     named volume: kube play takes no StatefulSets. The claims are in a
//     file of their own (volumes.yaml), so that taking the consumer pods
//     down and playing them again keeps the volumes, like a StatefulSet pod
//     that is deleted and recreated with the same claim.
//   - Job -> one Pod per completion index (--producers N overrides the
//     Job's completions, like an overlay raising parallelism and
//     completions), named and labelled as the Job controller does (job
//     name, completion index annotation, which the producer id is made
//     of): kube play rejects Jobs. The Job's own fields (backoffLimit,
//     deadlines, ttl) have no podman equivalent; the smoke script bounds the
//     run itself.
//   - hostNetwork: true, container ports dropped: podman's own network would
//     put the pods on a private subnet, and ports cannot be combined with
//     host networking. Each consumer replica i listens on its own loopback
//     address 127.0.0.<i+1> (instead of 0.0.0.0), all on the one port the
//     caller picks (the manifests' port may be in use here), the way each
//     pod has its own IP in a cluster; the probes and the producers'
//     --target follow that port; --metrics_address moves to the replica's
//     address too, on a port the kernel picks.
//   - The producers resolve the consumers' per-pod DNS names
//     (consumer-<i>.consumer-headless, the --target host with {shard}
//     replaced) through an /etc/hosts (hostPath volume) that maps each to
//     that replica's loopback address, the way cluster DNS maps it to the
//     pod's IP: podman 4.3 ignores hostAliases with host networking. The
//     --target itself, {shard} included, is left as it is: producer_service
//     picks the replica.
//   - $(VAR) references in command/args are expanded as the kubelet would
//     (from env, ConfigMaps, the pod name and the labels and annotations the
//     controllers set): podman passes them literally.
//   - Services, NetworkPolicies, PodDisruptionBudgets and the Namespace are
//     left out: podman has nothing to apply them to. podman also ignores
//     fsGroup; it hands a new named volume to the container's user itself.
//
//   node podman_adapt.mjs --port PORT --out-dir DIR [--producers N] RENDERED.yaml
// writes DIR/volumes.yaml, DIR/consumer.yaml, DIR/producer.yaml, DIR/hosts
// and DIR/plan.env (shell variables and arrays for podman_smoke.sh).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { containerEnv, describe, expand, loadObjects, samplePod, workloads } from "./lib/manifests.mjs";

const { values, positionals } = parseArgs({
  options: { port: { type: "string" }, "out-dir": { type: "string" }, producers: { type: "string" } },
  allowPositionals: true,
});
if (!values.port || !values["out-dir"] || positionals.length !== 1) {
  console.error("usage: node podman_adapt.mjs --port PORT --out-dir DIR [--producers N] RENDERED.yaml");
  process.exit(2);
}
const port = Number(values.port);
const outDir = resolve(values["out-dir"]);
const objects = loadObjects(positionals[0]);
const fail = (message) => {
  console.error(`podman_adapt: ${message}`);
  process.exit(1);
};

const binaryOf = (container) => basename(container.command?.[0] ?? "");
const runs = (binary) =>
  workloads(objects).filter(({ template }) => (template.spec?.containers ?? []).some((c) => binaryOf(c) === binary));
const consumers = runs("consumer_service");
const producers = runs("producer_service");
if (consumers.length !== 1 || consumers[0].object.kind !== "StatefulSet") {
  fail(`expected one StatefulSet running consumer_service, found: ${consumers.map((w) => describe(w.object)).join(", ") || "none"}`);
}
if (producers.length !== 1 || producers[0].object.kind !== "Job") {
  fail(`expected one Job running producer_service, found: ${producers.map((w) => describe(w.object)).join(", ") || "none"}`);
}

// Expand $(VAR) in command and args for this sample pod.
function expandArgs(pod, object, container) {
  const problems = [];
  const env = containerEnv(objects, pod, container, problems);
  const expandAll = (list) =>
    list?.map((arg) => {
      const { value, unresolved } = expand(String(arg), env);
      if (unresolved.length > 0) problems.push(`$(${unresolved.join("), $(")}) undefined in "${arg}"`);
      return value;
    });
  container.command = expandAll(container.command);
  if (container.args) container.args = expandAll(container.args);
  if (problems.length > 0) fail(`${describe(object)} container ${container.name}: ${problems.join("; ")}`);
}

function setFlag(container, flag, value) {
  const args = container.args ?? [];
  const i = args.findIndex((a) => a.startsWith(`--${flag}=`));
  if (i >= 0) args[i] = `--${flag}=${value}`;
  else args.push(`--${flag}=${value}`);
  container.args = args;
}

const flagValue = (container, flag) =>
  (container.args ?? []).find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

function useHostNetwork(spec) {
  spec.hostNetwork = true;
  for (const container of spec.containers) delete container.ports;
}

// A Pod as a controller would create it from a template.
function podOf(object, template, sample) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: sample.name,
      namespace: object.metadata.namespace,
      labels: sample.labels,
      ...(Object.keys(sample.annotations).length > 0 ? { annotations: sample.annotations } : {}),
    },
    spec: structuredClone(template.spec),
  };
}

// producer_service's shard of a producer id: FNV-1a (64 bits) over its
// bytes, modulo the shard count (producer_service/producer.cc).
function consumerShard(producerId, shards) {
  const mask = (1n << 64n) - 1n;
  let hash = 14695981039346656037n;
  for (const byte of Buffer.from(producerId, "utf8")) {
    hash = ((hash ^ BigInt(byte)) * 1099511628211n) & mask;
  }
  return Number(hash % BigInt(shards));
}

// --- consumer: the StatefulSet, one Pod and one claim per replica ------------
const statefulSet = consumers[0].object;
const replicas = statefulSet.spec.replicas ?? 1;
if (replicas > 254) fail(`${replicas} replicas do not fit into 127.0.0.1-254`);
const claimTemplates = statefulSet.spec.volumeClaimTemplates ?? [];
const claims = [];
const consumerPods = [];
const consumerContainers = [];
const consumerAddresses = [];
let consumerSpec;
let consumerTemplate;
for (let i = 0; i < replicas; i++) {
  const sample = samplePod(statefulSet, statefulSet.spec.template, { index: i });
  const pod = podOf(statefulSet, statefulSet.spec.template, sample);
  const container = pod.spec.containers.find((c) => binaryOf(c) === "consumer_service");
  expandArgs(sample, statefulSet, container);
  const address = `127.0.0.${i + 1}`;
  setFlag(container, "address", `${address}:${port}`);
  // Metrics on the replica's own address too, where the kernel picks a free
  // port (logged as "metrics on http://..."): with host networking every
  // replica's 0.0.0.0:9090 would be the same socket, and the second could
  // not listen.
  if (flagValue(container, "metrics_address")) setFlag(container, "metrics_address", `${address}:0`);
  for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
    if (container[probe]?.grpc) container[probe].grpc.port = port;
  }
  useHostNetwork(pod.spec);
  // The claims the StatefulSet controller makes: <template>-<pod name>,
  // labelled with the template's labels and the StatefulSet's selector.
  pod.spec.volumes = pod.spec.volumes ?? [];
  for (const template of claimTemplates) {
    const claimName = `${template.metadata.name}-${sample.name}`;
    claims.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: {
        name: claimName,
        namespace: statefulSet.metadata.namespace,
        labels: { ...(template.metadata.labels ?? {}), ...(statefulSet.spec.selector?.matchLabels ?? {}) },
      },
      spec: structuredClone(template.spec),
    });
    pod.spec.volumes.push({ name: template.metadata.name, persistentVolumeClaim: { claimName } });
  }
  consumerPods.push(pod);
  consumerContainers.push(`${sample.name}-${container.name}`);
  consumerAddresses.push(`${address}:${port}`);
  consumerSpec = pod.spec;
  consumerTemplate = container;
}
const healthService = consumerTemplate.readinessProbe?.grpc?.service ?? "";

// --- producers: the Job's pod template, one Pod per completion index ---------
const job = producers[0].object;
const completions = values.producers ? Number(values.producers) : job.spec.completions ?? 1;
if (!Number.isInteger(completions) || completions < 1) fail(`--producers=${values.producers} is not a positive integer`);
const hostsFile = join(outDir, "hosts");
const producerPods = [];
const producerContainers = [];
const producerIds = [];
const producerShards = [];
let targetPattern;
let producerTemplate;
for (let index = 0; index < completions; index++) {
  const sample = samplePod(job, job.spec.template, { index });
  const pod = podOf(job, job.spec.template, sample);
  const producer = pod.spec.containers.find((c) => binaryOf(c) === "producer_service");
  expandArgs(sample, job, producer);
  const target = flagValue(producer, "target");
  const targetMatch = /^dns:\/\/\/([A-Za-z0-9.{}-]+):(\d+)$/.exec(target ?? "");
  if (!targetMatch) fail(`producer --target=${target} is not dns:///<host>:<port>`);
  targetPattern = targetMatch[1];
  setFlag(producer, "target", `dns:///${targetPattern}:${port}`);
  useHostNetwork(pod.spec);
  pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: "podman-etc-hosts", hostPath: { path: hostsFile, type: "File" } }];
  producer.volumeMounts = [
    ...(producer.volumeMounts ?? []),
    { name: "podman-etc-hosts", mountPath: "/etc/hosts", readOnly: true },
  ];
  const shards = Number(flagValue(producer, "consumer_shards") ?? "1");
  if (shards !== replicas) fail(`--consumer_shards=${shards} but the StatefulSet has ${replicas} replicas`);
  const id = flagValue(producer, "producer_id") ?? sample.name;
  producerPods.push(pod);
  producerContainers.push(`${sample.name}-${producer.name}`);
  producerIds.push(id);
  producerShards.push(consumerShard(id, shards));
  producerTemplate = producer;
}
// Every replica's per-pod DNS name, as the producers will form it.
const consumerHosts = consumerPods.map((_, i) =>
  targetPattern.includes("{shard}") ? targetPattern.replaceAll("{shard}", String(i)) : targetPattern,
);

// --- output --------------------------------------------------------------------
const configMaps = objects.filter((o) => o.kind === "ConfigMap");
const dropped = objects
  .filter((o) => !["ConfigMap", "StatefulSet", "Job"].includes(o.kind))
  .map(describe);
const header = (what) => `# Generated by k8s/checks/podman_adapt.mjs from ${basename(positionals[0])}: ${what}\n`;
const documents = (list) => list.map((o) => `---\n${stringify(o)}`).join("");
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "volumes.yaml"), header("the StatefulSet's claims") + documents(claims));
writeFileSync(
  join(outDir, "consumer.yaml"),
  header("the consumer StatefulSet's pods") + documents([...configMaps, ...consumerPods]),
);
writeFileSync(
  join(outDir, "producer.yaml"),
  header("the producer Job's pods, one per completion index") + documents([...configMaps, ...producerPods]),
);
writeFileSync(
  hostsFile,
  `127.0.0.1\tlocalhost\n${consumerHosts.map((host, i) => `${consumerAddresses[i].split(":")[0]}\t${host}\n`).join("")}`,
);

const images = new Set([consumerTemplate.image, producerTemplate.image]);
if (images.size !== 1) fail(`consumer and producer use different images: ${[...images].join(", ")}`);
const quote = (value) => `'${String(value).replaceAll("'", "'\\''")}'`;
const dataMount = (consumerTemplate.volumeMounts ?? []).find((m) => claimTemplates.some((t) => t.metadata.name === m.name));
const plan = {
  IMAGE: consumerTemplate.image,
  CONSUMER_PODS: consumerPods.map((p) => p.metadata.name),
  CONSUMER_CONTAINERS: consumerContainers,
  CONSUMER_ADDRESSES: consumerAddresses,
  CONSUMER_HOSTS: consumerHosts,
  CONSUMER_VOLUMES: claims.map((c) => c.metadata.name),
  CONSUMER_GRACE_SECONDS: consumerSpec.terminationGracePeriodSeconds ?? 30,
  CONSUMER_DATA_DIR: flagValue(consumerTemplate, "data_dir") ?? "",
  CONSUMER_DATA_MOUNT: dataMount?.mountPath ?? "",
  CONSUMER_PRINTS: flagValue(consumerTemplate, "print_messages") ?? "true",
  HEALTH_SERVICE: healthService,
  PRODUCER_PODS: producerPods.map((p) => p.metadata.name),
  PRODUCER_CONTAINERS: producerContainers,
  PRODUCER_IDS: producerIds,
  PRODUCER_SHARDS: producerShards,
  PRODUCER_COUNT: flagValue(producerTemplate, "count") ?? "5",
  PRODUCER_PRINTS: flagValue(producerTemplate, "print_messages") ?? "true",
  TARGET_PATTERN: targetPattern,
  RUN_AS_USER: consumerTemplate.securityContext?.runAsUser ?? consumerSpec.securityContext?.runAsUser ?? "",
  LEFT_OUT: dropped.join(", "),
};
writeFileSync(
  join(outDir, "plan.env"),
  Object.entries(plan)
    .map(([k, v]) => (Array.isArray(v) ? `${k}=(${v.map(quote).join(" ")})\n` : `${k}=${quote(v)}\n`))
    .join(""),
);
console.log(
  `podman_adapt: wrote ${outDir}/{volumes,consumer,producer}.yaml: ${consumerPods.length} consumer pod(s), ` +
    `${producerPods.length} producer pod(s) (${producerIds.map((id, i) => `${id} -> ${consumerHosts[producerShards[i]]}`).join(", ")}); ` +
    `left out: ${plan.LEFT_OUT}`,
);
