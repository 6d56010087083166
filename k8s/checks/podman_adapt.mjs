// Turns a rendering of k8s/overlays/local into what `podman kube play` (4.3)
// can run on one machine, talking only to 127.0.0.1. Used by
// podman_smoke.sh. Every change is made to the rendered objects themselves,
// so the pods run with exactly the manifests' images, commands, flags, env,
// ConfigMaps, resources and security contexts; what changes, and why:
//   - Job -> Pod of its pod template: kube play rejects Jobs. The Job's own
//     fields (backoffLimit, deadlines, ttl) have no podman equivalent; the
//     smoke script bounds the run itself.
//   - Deployment replicas -> 1: replicas would share the host's port.
//   - hostNetwork: true, container ports dropped: podman's own network would
//     put the pods on a private subnet, and ports cannot be combined with
//     host networking. The consumer listens on 127.0.0.1 instead of 0.0.0.0,
//     on a port the caller picks (the manifests' port may be in use here);
//     the probes and the producer's --target follow that port.
//   - The producer resolves the headless Service name through an /etc/hosts
//     (hostPath volume) that maps it to 127.0.0.1, the way cluster DNS maps
//     it to the consumer pods: podman 4.3 ignores hostAliases with host
//     networking. The --target host name itself is left as it is.
//   - $(VAR) references in command/args are expanded as the kubelet would
//     (from env, ConfigMaps and the pod name): podman passes them literally.
//   - Services, NetworkPolicies, PodDisruptionBudgets and the Namespace are
//     left out: podman has nothing to apply them to.
//
//   node podman_adapt.mjs --port PORT --out-dir DIR RENDERED.yaml
// writes DIR/consumer.yaml, DIR/producer.yaml, DIR/hosts and DIR/plan.env
// (shell variables for podman_smoke.sh).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { containerEnv, describe, expand, loadObjects, namespaceOf, workloads } from "./lib/manifests.mjs";

const { values, positionals } = parseArgs({
  options: { port: { type: "string" }, "out-dir": { type: "string" } },
  allowPositionals: true,
});
if (!values.port || !values["out-dir"] || positionals.length !== 1) {
  console.error("usage: node podman_adapt.mjs --port PORT --out-dir DIR RENDERED.yaml");
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
if (consumers.length !== 1 || consumers[0].object.kind !== "Deployment") {
  fail(`expected one Deployment running consumer_service, found: ${consumers.map((w) => describe(w.object)).join(", ") || "none"}`);
}
if (producers.length !== 1 || producers[0].object.kind !== "Job") {
  fail(`expected one Job running producer_service, found: ${producers.map((w) => describe(w.object)).join(", ") || "none"}`);
}

// Expand $(VAR) in command and args for a pod of this name.
function expandArgs(podName, object, container) {
  const problems = [];
  const env = containerEnv(objects, { name: podName, namespace: namespaceOf(object) }, container, problems);
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

function useHostNetwork(spec) {
  spec.hostNetwork = true;
  for (const container of spec.containers) delete container.ports;
}

// --- consumer: the Deployment, one replica ------------------------------------
const deployment = consumers[0].object;
deployment.spec.replicas = 1;
const consumerSpec = deployment.spec.template.spec;
const consumer = consumerSpec.containers.find((c) => binaryOf(c) === "consumer_service");
// podman names a Deployment's pods <name>-pod-<i>.
const consumerPod = `${deployment.metadata.name}-pod-0`;
expandArgs(consumerPod, deployment, consumer);
setFlag(consumer, "address", `127.0.0.1:${port}`);
for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
  if (consumer[probe]?.grpc) consumer[probe].grpc.port = port;
}
useHostNetwork(consumerSpec);
const healthService = consumer.readinessProbe?.grpc?.service ?? "";

// --- producer: the Job's pod template as a Pod -------------------------------
const job = producers[0].object;
const producerPod = `${job.metadata.name}-pod-0`;
const pod = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: producerPod,
    namespace: job.metadata.namespace,
    // The labels the Job controller adds to its pods.
    labels: { ...(job.spec.template.metadata?.labels ?? {}), "job-name": job.metadata.name },
  },
  spec: structuredClone(job.spec.template.spec),
};
const producer = pod.spec.containers.find((c) => binaryOf(c) === "producer_service");
expandArgs(producerPod, job, producer);
const target = (producer.args ?? []).find((a) => a.startsWith("--target="))?.slice("--target=".length);
const targetMatch = /^dns:\/\/\/([A-Za-z0-9.-]+):(\d+)$/.exec(target ?? "");
if (!targetMatch) fail(`producer --target=${target} is not dns:///<host>:<port>`);
const targetHost = targetMatch[1];
setFlag(producer, "target", `dns:///${targetHost}:${port}`);
useHostNetwork(pod.spec);
const hostsFile = join(outDir, "hosts");
pod.spec.volumes = [...(pod.spec.volumes ?? []), { name: "podman-etc-hosts", hostPath: { path: hostsFile, type: "File" } }];
producer.volumeMounts = [
  ...(producer.volumeMounts ?? []),
  { name: "podman-etc-hosts", mountPath: "/etc/hosts", readOnly: true },
];
const flagValue = (container, flag) =>
  (container.args ?? []).find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3);

// --- output --------------------------------------------------------------------
const configMaps = objects.filter((o) => o.kind === "ConfigMap");
const dropped = objects.filter((o) => !["ConfigMap", "Deployment", "Job"].includes(o.kind)).map(describe);
const header = (what) => `# Generated by k8s/checks/podman_adapt.mjs from ${basename(positionals[0])}: ${what}\n`;
mkdirSync(outDir, { recursive: true });
writeFileSync(
  join(outDir, "consumer.yaml"),
  header("the consumer Deployment for podman kube play") + [...configMaps, deployment].map((o) => `---\n${stringify(o)}`).join(""),
);
writeFileSync(
  join(outDir, "producer.yaml"),
  header("the producer Job's pod template as a Pod") + [...configMaps, pod].map((o) => `---\n${stringify(o)}`).join(""),
);
writeFileSync(hostsFile, `127.0.0.1\tlocalhost\n127.0.0.1\t${targetHost}\n`);

const images = new Set([consumer.image, producer.image]);
if (images.size !== 1) fail(`consumer and producer use different images: ${[...images].join(", ")}`);
const quote = (value) => `'${String(value).replaceAll("'", "'\\''")}'`;
const plan = {
  IMAGE: consumer.image,
  CONSUMER_POD: consumerPod,
  CONSUMER_CONTAINER: `${consumerPod}-${consumer.name}`,
  CONSUMER_GRACE_SECONDS: consumerSpec.terminationGracePeriodSeconds ?? 30,
  HEALTH_SERVICE: healthService,
  PRODUCER_POD: producerPod,
  PRODUCER_CONTAINER: `${producerPod}-${producer.name}`,
  PRODUCER_ID: flagValue(producer, "producer_id") ?? producerPod,
  PRODUCER_COUNT: flagValue(producer, "count") ?? "5",
  PRODUCER_PRINTS: flagValue(producer, "print_messages") ?? "true",
  CONSUMER_PRINTS: flagValue(consumer, "print_messages") ?? "true",
  TARGET_HOST: targetHost,
  RUN_AS_USER: producer.securityContext?.runAsUser ?? pod.spec.securityContext?.runAsUser ?? "",
  LEFT_OUT: dropped.join(", "),
};
writeFileSync(
  join(outDir, "plan.env"),
  Object.entries(plan)
    .map(([k, v]) => `${k}=${quote(v)}\n`)
    .join(""),
);
console.log(`podman_adapt: wrote ${outDir}/{consumer,producer}.yaml; left out: ${plan.LEFT_OUT}`);
