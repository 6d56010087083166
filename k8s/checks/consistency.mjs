// Consistency check of rendered manifests against the real binaries: the
// manifests may only use what consumer_service and producer_service accept,
// and must keep the delivery guarantee's conditions in a cluster.
//   - every container runs one of the two binaries, by explicit command;
//   - every arg, once $(VAR) is resolved from env/ConfigMap/downward API as
//     the kubelet would (for a sample pod as the controller would create
//     it), is a flag listed by the binary's --helpfull, and the binary
//     itself accepts the whole arg list (names and values);
//   - the consumer's listening port (--address, or its default) is the
//     containerPort, the port of all three gRPC probes, the target port of
//     the Services, and the NetworkPolicy's port; with --metrics_address,
//     its port (another one, on every interface) is the container port
//     named "metrics", the only other port a Service or the NetworkPolicy
//     may name, the NetworkPolicy admits scrapes to it from another
//     namespace, and a PodMonitor scrapes that named port of the consumer
//     pods;
//   - the consumer keeps its log durably on a volume of its own: a
//     StatefulSet whose --data_dir is on a writable mount of one of its
//     volumeClaimTemplates, --log_sync=group, an fsGroup for the non-root
//     user, a headless governing Service (serviceName) for per-pod DNS
//     names, and no release-dependent labels in the (immutable) claim
//     templates;
//   - the producer's --target is dns:///<StatefulSet>-{shard}.<its headless
//     Service>:<port> and that port leads to the consumer's listening port,
//     --consumer_shards equals the StatefulSet's replicas, --producer_id is
//     the same for every attempt of a Job's pod, and --deadline outlasts a
//     consumer restart but ends before the Job's activeDeadlineSeconds;
//   - with --producer_acl (optional), the consumer has mutual TLS and the
//     ACL file is a key of a mounted ConfigMap (or in a Secret volume);
//   - NetworkPolicy admits the producer pods, a PodDisruptionBudget covers
//     the consumer, and preStop pause + --shutdown_grace fit into
//     terminationGracePeriodSeconds.
//
//   node consistency.mjs --consumer BIN --producer BIN RENDERED.yaml...
import { basename } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  binaryAcceptsArgs,
  binaryFlags,
  containerEnv,
  describe,
  durationSeconds,
  expand,
  findObject,
  loadObjects,
  namespaceOf,
  parseFlagArg,
  samplePod,
  selects,
  workloads,
} from "./lib/manifests.mjs";

const PROBES = ["startupProbe", "readinessProbe", "livenessProbe"];

// binaries: {consumer_service: path, producer_service: path}. Returns
// {binaries: {name: {path, flags}}} for checkConsistency.
export function loadBinaries(paths) {
  const binaries = {};
  for (const [name, path] of Object.entries(paths)) {
    binaries[name] = { path, flags: binaryFlags(path) };
  }
  return binaries;
}

function portOf(address) {
  const match = /:(\d+)$/.exec(address ?? "");
  return match ? Number(match[1]) : NaN;
}

// A Service or NetworkPolicy port (number or container port name) as the
// container port number it means, or NaN.
function resolvePort(port, container) {
  if (typeof port === "number") return port;
  if (typeof port === "string" && /^\d+$/.test(port)) return Number(port);
  const named = (container.ports ?? []).find((p) => p.name === port);
  return named ? named.containerPort : NaN;
}

// A container's command and args with $(VAR) resolved for one sample pod.
function resolveArgs(objects, pod, container, problems, where) {
  const envProblems = [];
  const env = containerEnv(objects, pod, container, envProblems);
  for (const p of envProblems) problems.push(`${where}: ${p}`);
  const args = [];
  for (const raw of [...(container.command ?? []).slice(1), ...(container.args ?? [])]) {
    const { value, unresolved } = expand(String(raw), env);
    for (const name of unresolved) {
      problems.push(`${where}: arg "${raw}": $(${name}) is not defined in the container's env`);
    }
    args.push(value);
  }
  return args;
}

// The containers of all workloads, with their resolved args and flag values.
function analyseContainers(objects, binaries, problems) {
  const result = [];
  for (const { object, template } of workloads(objects)) {
    const namespace = namespaceOf(object);
    for (const container of template.spec?.containers ?? []) {
      const where = `${describe(object)} container ${container.name}`;
      const command = container.command ?? [];
      if (command.length === 0) {
        problems.push(`${where}: no command; name the binary (${Object.keys(binaries).join(" or ")}) explicitly`);
        continue;
      }
      const binaryName = basename(command[0]);
      const binary = binaries[binaryName];
      if (!binary) {
        problems.push(`${where}: command ${command[0]} is none of ${Object.keys(binaries).join(", ")}`);
        continue;
      }
      const pod = samplePod(object, template);
      const args = resolveArgs(objects, pod, container, problems, where);

      const values = new Map(binary.flags);
      for (const arg of args) {
        const flag = parseFlagArg(arg);
        if (!flag) {
          problems.push(`${where}: arg "${arg}" is not a --flag; ${binaryName} takes no positional args`);
          continue;
        }
        let { name, value } = flag;
        if (!binary.flags.has(name) && name.startsWith("no") && binary.flags.has(name.slice(2))) {
          name = name.slice(2);
          value = "false";
        }
        if (!binary.flags.has(name)) {
          problems.push(
            `${where}: --${flag.name} is not a flag of ${binaryName} (--helpfull lists: ${[...binary.flags.keys()].join(", ")})`,
          );
          continue;
        }
        values.set(name, value ?? "true");
      }
      const verdict = binaryAcceptsArgs(binary.path, args);
      if (!verdict.ok) {
        problems.push(`${where}: ${binaryName} rejects its args [${args.join(" ")}]: ${verdict.output}`);
      }
      // A producer's id must survive a retry of its pod: the consumer keys
      // the sequence state by it. Resolve the args again for another
      // attempt of the same index and compare.
      let retryValues;
      if (binaryName === "producer_service" && ["Job", "CronJob"].includes(object.kind)) {
        const retryPod = samplePod(object, template, { attempt: 1 });
        const retryArgs = resolveArgs(objects, retryPod, container, [], where);
        retryValues = new Map();
        for (const arg of retryArgs) {
          const flag = parseFlagArg(arg);
          if (flag) retryValues.set(flag.name, flag.value ?? "true");
        }
      }
      result.push({ object, template, container, namespace, binaryName, where, values, retryValues, pod });
    }
  }
  return result;
}

// Is path at or under dir (both absolute, "/"-separated)?
function isUnder(path, dir) {
  const clean = (p) => p.replace(/\/+$/, "") || "/";
  const [p, d] = [clean(path), clean(dir)];
  return p === d || p.startsWith(d === "/" ? "/" : `${d}/`);
}

// Labels that change from one release to the next: they must not be in a
// StatefulSet's volumeClaimTemplates, which cannot be changed once created.
const RELEASE_LABELS = ["app.kubernetes.io/version", "helm.sh/chart"];

// The consumer's durable state: StatefulSet, volume claim, --data_dir on it,
// --log_sync=group, fsGroup, headless serviceName.
// Bytes of a Kubernetes quantity such as 1Gi, 500M or 1073741824; NaN if
// it is not one.
function quantityBytes(quantity) {
  const match = /^([0-9]+(?:\.[0-9]+)?)([KMGTPE]i?)?$/.exec(String(quantity ?? ""));
  if (!match) return NaN;
  const powers = { K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 };
  const unit = match[2] ?? "";
  const base = unit.endsWith("i") ? 1024 : 1000;
  return Number(match[1]) * (unit ? base ** powers[unit[0]] : 1);
}

// The log must stay within the claim holding --data_dir: retention (at
// least the three segments the snapshots may keep) plus the active segment,
// with a tenth of the volume left for snapshots and the filesystem.
function checkRetentionFitsClaim(claimTemplates, container, dataDir, values, where, problems) {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath && isUnder(dataDir, m.mountPath));
  const claim = claimTemplates.find((t) => t.metadata?.name === mount?.name);
  if (!claim) return;  // reported above
  const storage = quantityBytes(claim.spec?.resources?.requests?.storage);
  const retention = Number(values.get("log_retention_bytes") ?? "0");
  const segment = Number(values.get("log_segment_bytes") ?? "0");
  if (Number.isNaN(storage) || Number.isNaN(retention) || Number.isNaN(segment)) {
    problems.push(`${where}: cannot read the claim's storage, --log_retention_bytes or --log_segment_bytes`);
  } else if (retention === 0) {
    problems.push(
      `${where}: --log_retention_bytes=0 keeps the log forever: it fills the ${claim.spec.resources.requests.storage} volume "${claim.metadata.name}" and the consumer stops accepting; set a size that fits`,
    );
  } else if (Math.max(retention, 3 * segment) + segment > 0.9 * storage) {
    problems.push(
      `${where}: --log_retention_bytes=${retention} plus the active segment (--log_segment_bytes=${segment}) does not fit in 90% of the ${claim.spec.resources.requests.storage} volume "${claim.metadata.name}"`,
    );
  }
}

function checkConsumerStorage(objects, consumer, problems) {
  const { object, template, container, namespace, where, values } = consumer;
  if (object.kind !== "StatefulSet") {
    problems.push(
      `${where}: consumer_service runs in a ${object.kind}, not a StatefulSet: its pods have neither a stable name nor a volume of their own, so a producer cannot find again the consumer that holds its state`,
    );
    return;
  }
  const claimTemplates = object.spec?.volumeClaimTemplates ?? [];
  if (claimTemplates.length === 0) {
    problems.push(`${describe(object)}: no volumeClaimTemplates: the consumer's log needs a PersistentVolume per replica`);
  }
  const claimNames = new Set(claimTemplates.map((t) => t.metadata?.name));
  const podVolumes = new Map((template.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const mount of container.volumeMounts ?? []) {
    if (!claimNames.has(mount.name) && !podVolumes.has(mount.name)) {
      problems.push(`${where}: mounts volume "${mount.name}", which neither the pod's volumes nor the volumeClaimTemplates define`);
    }
  }
  for (const claim of claimTemplates) {
    const labels = claim.metadata?.labels ?? {};
    for (const key of RELEASE_LABELS) {
      if (key in labels) {
        problems.push(
          `${describe(object)}: volumeClaimTemplates "${claim.metadata?.name}" carries label ${key}=${labels[key]}; claim templates cannot be changed after creation, so the next release would fail to apply (keep such labels out of templates, kustomize issue 5389)`,
        );
      }
    }
  }

  const dataDir = values.get("data_dir") ?? "";
  if (dataDir === "") {
    problems.push(`${where}: no --data_dir: accepted messages would live in memory only and nothing survives a restart`);
  } else if (!dataDir.startsWith("/")) {
    problems.push(`${where}: --data_dir=${dataDir} is not an absolute path`);
  } else {
    // The innermost mount that holds the directory.
    const mount = (container.volumeMounts ?? [])
      .filter((m) => m.mountPath && isUnder(dataDir, m.mountPath))
      .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
    if (!mount) {
      problems.push(
        `${where}: --data_dir=${dataDir} is on no volume mount (mounts: ${(container.volumeMounts ?? []).map((m) => m.mountPath).join(", ") || "none"}); it would be on the read-only root filesystem, or lost with the container`,
      );
    } else if (!claimNames.has(mount.name)) {
      problems.push(
        `${where}: --data_dir=${dataDir} is on volume "${mount.name}" (${mount.mountPath}), which is not one of the volumeClaimTemplates: it does not outlive the pod`,
      );
    } else if (mount.readOnly) {
      problems.push(`${where}: --data_dir=${dataDir} is on a read-only mount of "${mount.name}"`);
    }
  }
  checkRetentionFitsClaim(claimTemplates, container, dataDir, values, where, problems);
  const logSync = values.get("log_sync") ?? "";
  if (logSync !== "group") {
    problems.push(`${where}: --log_sync=${logSync}: the exactly-once guarantee needs --log_sync=group (a confirmed message must survive a node crash)`);
  }
  const podSecurity = template.spec?.securityContext ?? {};
  const user = container.securityContext?.runAsUser ?? podSecurity.runAsUser;
  if (user !== 0 && podSecurity.fsGroup === undefined) {
    problems.push(
      `${where}: no fsGroup in the pod's securityContext: a freshly provisioned volume belongs to root, and the non-root user ${user ?? "(image's)"} could not create its log there`,
    );
  }

  const serviceName = object.spec?.serviceName;
  const governing = serviceName && findObject(objects, "Service", serviceName, namespace);
  if (!serviceName) {
    problems.push(`${describe(object)}: no serviceName: its pods get no DNS names of their own`);
  } else if (!governing) {
    problems.push(`${describe(object)}: serviceName ${serviceName} is not a Service in the manifests`);
  } else if (governing.spec?.clusterIP !== "None") {
    problems.push(`${describe(object)}: serviceName ${serviceName} is not headless (clusterIP: None): its pods get no DNS names of their own`);
  } else if (!selects(governing.spec?.selector, template.metadata?.labels)) {
    problems.push(`${describe(object)}: serviceName ${serviceName} does not select its pods`);
  }
}

// --producer_acl (optional): like consumer_service itself, it needs mutual
// TLS; and the file must come from a ConfigMap or Secret volume, with the
// key the path names (the root filesystem is the image's).
function checkProducerAcl(objects, consumer, problems) {
  const { template, container, namespace, where, values } = consumer;
  const acl = values.get("producer_acl") ?? "";
  if (acl === "") return;
  const missing = ["tls_cert", "tls_key", "tls_client_ca"].filter((f) => !values.get(f));
  if (missing.length > 0) {
    problems.push(
      `${where}: --producer_acl needs mutual TLS, but ${missing.map((f) => `--${f}`).join(", ")} ${missing.length > 1 ? "are" : "is"} not set: consumer_service refuses to start`,
    );
  }
  const mount = (container.volumeMounts ?? [])
    .filter((m) => m.mountPath && isUnder(acl, m.mountPath) && acl !== m.mountPath)
    .sort((a, b) => b.mountPath.length - a.mountPath.length)[0];
  if (!mount) {
    problems.push(`${where}: --producer_acl=${acl} is on no volume mount; mount the ConfigMap that holds it (k8s/components/producer-acl)`);
    return;
  }
  const volume = (template.spec?.volumes ?? []).find((v) => v.name === mount.name);
  const key = acl.slice(mount.mountPath.replace(/\/+$/, "").length + 1);
  if (volume?.configMap) {
    const configMap = findObject(objects, "ConfigMap", volume.configMap.name, namespace);
    const keys = volume.configMap.items ? volume.configMap.items.map((i) => i.path) : Object.keys(configMap?.data ?? {});
    if (!configMap) {
      problems.push(`${where}: --producer_acl=${acl} is on volume "${mount.name}" of ConfigMap ${volume.configMap.name}, which is not in the manifests (in namespace ${namespace})`);
    } else if (!keys.includes(key)) {
      problems.push(`${where}: --producer_acl=${acl}: ConfigMap ${volume.configMap.name} mounted at ${mount.mountPath} has no key ${key} (keys: ${keys.join(", ") || "none"})`);
    }
  } else if (!volume?.secret) {
    problems.push(`${where}: --producer_acl=${acl} is on volume "${mount.name}", which is no ConfigMap or Secret`);
  }
}

function checkConsumer(objects, consumer, producers, problems) {
  const { object, template, container, namespace, where, values } = consumer;
  checkConsumerStorage(objects, consumer, problems);
  checkProducerAcl(objects, consumer, problems);
  const labels = template.metadata?.labels ?? {};
  const listenPort = portOf(values.get("address"));
  if (Number.isNaN(listenPort)) {
    problems.push(`${where}: cannot tell the listening port from --address=${values.get("address")}`);
    return;
  }

  const containerPorts = (container.ports ?? []).map((p) => p.containerPort);
  if (!containerPorts.includes(listenPort)) {
    problems.push(`${where}: listens on ${listenPort} (--address) but declares containerPorts [${containerPorts}]`);
  }
  const metricsPort = checkMetricsPort(consumer, listenPort, problems);
  const servedPorts = [listenPort, metricsPort].filter((p) => p !== undefined);
  const served = `${listenPort} (gRPC)${metricsPort === undefined ? "" : ` and ${metricsPort} (metrics)`}`;
  for (const port of containerPorts) {
    if (!servedPorts.includes(port)) problems.push(`${where}: containerPort ${port}: consumer_service listens only on ${served}`);
  }

  for (const kind of PROBES) {
    const probe = container[kind];
    if (!probe) {
      problems.push(`${where}: no ${kind}; use a grpc probe on port ${listenPort}`);
    } else if (!probe.grpc) {
      problems.push(`${where}: ${kind} is not a grpc probe; consumer_service serves grpc.health.v1 on ${listenPort}`);
    } else {
      if (probe.grpc.port !== listenPort) {
        problems.push(`${where}: ${kind} asks port ${probe.grpc.port}, consumer_service listens on ${listenPort}`);
      }
      if ((probe.grpc.service ?? "") !== "") {
        problems.push(`${where}: ${kind} asks health of service "${probe.grpc.service}"; consumer_service reports overall health ("")`);
      }
    }
  }

  // Termination: the kubelet runs preStop, then sends SIGTERM, then waits
  // for the rest of terminationGracePeriodSeconds before SIGKILL.
  const grace = template.spec?.terminationGracePeriodSeconds ?? 30;
  const preStop = container.lifecycle?.preStop;
  let pause = 0;
  if (preStop?.sleep) pause = preStop.sleep.seconds;
  else if (preStop?.exec && /(^|\/)sleep$/.test(preStop.exec.command?.[0] ?? "")) pause = Number(preStop.exec.command[1]);
  const shutdown = durationSeconds(values.get("shutdown_grace") ?? "");
  if (Number.isNaN(shutdown)) {
    problems.push(`${where}: cannot read --shutdown_grace=${values.get("shutdown_grace")}`);
  } else if (!(grace > pause + shutdown)) {
    problems.push(
      `${where}: terminationGracePeriodSeconds ${grace} leaves no time to exit after the preStop pause (${pause}s) and --shutdown_grace (${shutdown}s)`,
    );
  }

  const inNamespace = (kind) => objects.filter((o) => o.kind === kind && namespaceOf(o) === namespace);

  // Services in front of the consumer.
  const services = inNamespace("Service").filter((s) => s.spec?.selector && selects(s.spec.selector, labels));
  if (!services.some((s) => s.spec.clusterIP === "None")) {
    problems.push(`${where}: no headless Service (clusterIP: None) selects the consumer pods`);
  }
  if (!services.some((s) => s.spec.clusterIP !== "None")) {
    problems.push(`${where}: no ClusterIP Service selects the consumer pods`);
  }
  for (const service of services) {
    for (const port of service.spec.ports ?? []) {
      const target = resolvePort(port.targetPort ?? port.port, container);
      if (!servedPorts.includes(target)) {
        problems.push(
          `${describe(service)}: port ${port.port} leads to ${port.targetPort ?? port.port} (${target}), consumer_service listens on ${served}`,
        );
      }
    }
  }

  // NetworkPolicy: some rule must admit producers to the gRPC port, and
  // one Prometheus (another namespace) to the metrics port; every port a
  // rule names must be one of the two.
  const policies = inNamespace("NetworkPolicy").filter((p) => selects(p.spec?.podSelector ?? {}, labels));
  if (policies.length === 0) problems.push(`${where}: no NetworkPolicy selects the consumer pods`);
  for (const policy of policies) {
    for (const rule of policy.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        const resolved = resolvePort(port.port, container);
        if (!servedPorts.includes(resolved)) {
          problems.push(`${describe(policy)}: admits port ${port.port} (${resolved}), consumer_service listens on ${served}`);
        }
      }
    }
  }
  const scrapable = policies.some((policy) =>
    (policy.spec?.ingress ?? []).some(
      (rule) =>
        (rule.from ?? []).some((peer) => peer.namespaceSelector) &&
        (rule.ports ?? []).some((port) => resolvePort(port.port, container) === metricsPort),
    ),
  );
  if (metricsPort !== undefined && policies.length > 0 && !scrapable) {
    problems.push(
      `${where}: no NetworkPolicy rule admits another namespace (Prometheus's) to the metrics port ${metricsPort}: scrapes would be dropped`,
    );
  }
  checkPodMonitors(objects, consumer, metricsPort, problems);
  for (const producer of producers.filter((p) => p.namespace === namespace)) {
    const producerLabels = producer.template.metadata?.labels ?? {};
    const admitted = policies.some((policy) =>
      (policy.spec?.ingress ?? []).some(
        (rule) =>
          (rule.from ?? []).some((peer) => !peer.namespaceSelector && !peer.ipBlock && selects(peer.podSelector, producerLabels)) &&
          (rule.ports ?? []).some((port) => resolvePort(port.port, container) === listenPort),
      ),
    );
    if (policies.length > 0 && !admitted) {
      problems.push(`${producer.where}: no NetworkPolicy rule admits its pods to the consumer's port ${listenPort}`);
    }
  }

  // PodDisruptionBudget.
  const budgets = inNamespace("PodDisruptionBudget").filter((b) => selects(b.spec?.selector, labels));
  if (budgets.length === 0) problems.push(`${where}: no PodDisruptionBudget selects the consumer pods`);
  const replicas = object.kind === "Deployment" || object.kind === "StatefulSet" ? object.spec?.replicas ?? 1 : undefined;
  for (const budget of budgets) {
    if (replicas !== undefined && typeof budget.spec.minAvailable === "number" && budget.spec.minAvailable >= replicas) {
      problems.push(`${describe(budget)}: minAvailable ${budget.spec.minAvailable} with ${replicas} replicas blocks every drain`);
    }
  }
  return listenPort;
}

// --metrics_address: its port, or undefined when metrics are off. It must
// be reachable from other pods (every interface), differ from the gRPC
// port, and be the container port named "metrics".
function checkMetricsPort(consumer, listenPort, problems) {
  const { container, where, values } = consumer;
  const address = values.get("metrics_address") ?? "";
  const named = (container.ports ?? []).find((p) => p.name === "metrics");
  if (address === "") {
    if (named) problems.push(`${where}: declares a "metrics" port ${named.containerPort} but --metrics_address is empty: nothing listens there`);
    return undefined;
  }
  const port = portOf(address);
  const host = address.slice(0, address.lastIndexOf(":"));
  if (Number.isNaN(port) || port === 0) {
    problems.push(`${where}: --metrics_address=${address} needs a fixed port for Prometheus to scrape`);
    return undefined;
  }
  if (port === listenPort) {
    problems.push(`${where}: --metrics_address=${address} clashes with the gRPC port ${listenPort} (--address): one of them cannot listen`);
  }
  if (host !== "0.0.0.0") {
    problems.push(`${where}: --metrics_address=${address} listens on ${host} only; Prometheus reaches the pod on its IP: use 0.0.0.0:${port}`);
  }
  if (!named) {
    problems.push(`${where}: --metrics_address=${address} but no container port is named "metrics" (what the PodMonitor and the Service name)`);
  } else if (named.containerPort !== port) {
    problems.push(`${where}: container port "metrics" is ${named.containerPort}, but --metrics_address=${address} listens on ${port}`);
  }
  return port;
}

// Each PodMonitor that selects the consumer pods scrapes their metrics
// port by its name, on /metrics.
function checkPodMonitors(objects, consumer, metricsPort, problems) {
  const { container, template, namespace, where } = consumer;
  const monitors = objects.filter(
    (o) => o.kind === "PodMonitor" && namespaceOf(o) === namespace && selects(o.spec?.selector, template.metadata?.labels),
  );
  for (const monitor of monitors) {
    if (metricsPort === undefined) {
      problems.push(`${describe(monitor)}: selects the consumer pods, but ${where} serves no metrics (no --metrics_address)`);
      continue;
    }
    for (const endpoint of monitor.spec?.podMetricsEndpoints ?? []) {
      const resolved = resolvePort(endpoint.port ?? endpoint.portNumber, container);
      if (resolved !== metricsPort) {
        problems.push(`${describe(monitor)}: scrapes port ${endpoint.port ?? endpoint.portNumber} (${resolved}), the consumer's metrics are on ${metricsPort}`);
      }
      if ((endpoint.path ?? "/metrics") !== "/metrics") {
        problems.push(`${describe(monitor)}: scrapes ${endpoint.path}; consumer_service serves /metrics only`);
      }
    }
  }
  const unmatched = objects.filter(
    (o) => o.kind === "PodMonitor" && !monitors.includes(o) && !objects.some((w) => w.kind === "StatefulSet" && selects(o.spec?.selector, w.spec?.template?.metadata?.labels)),
  );
  for (const monitor of unmatched) problems.push(`${describe(monitor)}: selects no consumer pods`);
}

// The time a consumer replica may need to come back: the termination
// grace period (the old pod may use all of it) plus what the startup probe
// allows for replaying the log.
function consumerRestartSeconds(consumer) {
  const grace = consumer.template.spec?.terminationGracePeriodSeconds ?? 30;
  const startup = consumer.container.startupProbe;
  const allowance = startup
    ? (startup.initialDelaySeconds ?? 0) + (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3)
    : 0;
  return grace + allowance;
}

function checkProducer(objects, producer, consumers, problems) {
  const { object, namespace, where, values, retryValues } = producer;
  const target = values.get("target") ?? "";
  const shards = Number(values.get("consumer_shards") ?? "1");
  const shape = "dns:///<StatefulSet>-{shard}.<its headless Service>:<port>";

  const producerId = values.get("producer_id") ?? "";
  const retryId = retryValues?.get("producer_id");
  if (retryValues && retryId !== producerId) {
    problems.push(
      `${where}: --producer_id changes from one pod to the next (${producerId}, then ${retryId ?? "(unset)"}): a retried pod would start a new sequence under a new id; derive it from the Job and its completion index (completionMode: Indexed)`,
    );
  }

  const match = /^dns:\/\/\/([A-Za-z0-9.{}-]+):(\d+)$/.exec(target);
  if (!match) {
    problems.push(`${where}: --target=${target} is not ${shape}`);
    return;
  }
  const [, host, portText] = match;
  const port = Number(portText);
  const parts = host.split(".");
  const hasPlaceholder = host.includes("{shard}");
  if (shards > 1 && !hasPlaceholder) {
    problems.push(
      `${where}: --target=${target} has no {shard} but --consumer_shards=${shards}: producer_service refuses that; give ${shape} so that each producer id reaches the one consumer replica that holds its state`,
    );
    return;
  }
  if (shards <= 1 && hasPlaceholder) {
    problems.push(`${where}: --target=${target} has {shard} but --consumer_shards=${shards}: producer_service refuses that`);
    return;
  }
  // With one shard the target names replica 0 directly.
  const podPattern = shards > 1 ? /^([a-z0-9][a-z0-9-]*)-\{shard\}$/ : /^([a-z0-9][a-z0-9-]*)-0$/;
  const podMatch = podPattern.exec(parts[0]);
  if (!podMatch || parts.length < 2 || parts.slice(1).some((p) => p.includes("{shard}"))) {
    problems.push(
      `${where}: --target host ${host} is not <StatefulSet>-${shards > 1 ? "{shard}" : "0"}.<headless Service>: a producer must reach the consumer replica that holds its state by its per-pod DNS name, not any pod behind a Service`,
    );
    return;
  }
  const statefulSetName = podMatch[1];
  const serviceName = parts[1];
  const serviceNamespace = parts.length > 2 ? parts[2] : namespace;
  if (parts.length > 3 && parts[3] !== "svc") {
    problems.push(`${where}: --target host ${host} is not a pod's DNS name (<pod>.<service>[.<namespace>[.svc[.<cluster domain>]]])`);
    return;
  }

  const service = findObject(objects, "Service", serviceName, serviceNamespace);
  if (!service) {
    problems.push(`${where}: --target names Service ${serviceNamespace}/${serviceName}, which is not in the manifests`);
    return;
  }
  if (service.spec?.clusterIP !== "None") {
    problems.push(`${where}: --target names ${describe(service)}, which is not headless (clusterIP: None): its pods have no DNS names of their own`);
  }
  const consumer = consumers.find(
    (c) => c.object.kind === "StatefulSet" && c.object.metadata?.name === statefulSetName && c.namespace === serviceNamespace,
  );
  if (!consumer) {
    problems.push(`${where}: --target names pods of StatefulSet ${serviceNamespace}/${statefulSetName}, which is no StatefulSet running consumer_service`);
    return;
  }
  const statefulSet = consumer.object;
  if (statefulSet.spec?.serviceName !== serviceName) {
    problems.push(
      `${where}: --target uses Service ${serviceName}, but ${describe(statefulSet)} names its pods under serviceName ${statefulSet.spec?.serviceName}: ${host} does not resolve`,
    );
  }
  const replicas = statefulSet.spec?.replicas ?? 1;
  if (shards !== replicas) {
    problems.push(
      `${where}: --consumer_shards=${shards} but ${describe(statefulSet)} has ${replicas} replicas: ${shards > replicas ? "producers hashed to the missing replicas would reach no consumer" : "some replicas would get no producers"}; keep them equal`,
    );
  }
  if (!selects(service.spec?.selector, consumer.template.metadata?.labels)) {
    problems.push(`${where}: ${describe(service)} does not select the pods of ${describe(statefulSet)}`);
  }
  // A pod's DNS name resolves to the pod's own address: the target port is
  // the container's port itself (no Service port mapping in between).
  const listenPort = portOf(consumer.values.get("address"));
  if (port !== listenPort) {
    problems.push(
      `${where}: --target port ${port}: a pod's DNS name leads straight to the pod, where ${consumer.where} listens on ${listenPort}`,
    );
  }

  // --deadline: longer than a consumer restart, shorter than the Job.
  const deadline = durationSeconds(values.get("deadline") ?? "");
  const restart = consumerRestartSeconds(consumer);
  if (Number.isNaN(deadline)) {
    problems.push(`${where}: cannot read --deadline=${values.get("deadline")}`);
  } else {
    if (deadline <= restart) {
      problems.push(
        `${where}: --deadline ${deadline}s is shorter than a consumer restart (termination grace + startup probe allowance: ${restart}s): producers would give up during an ordinary rolling update`,
      );
    }
    const active = object.kind === "Job" ? object.spec?.activeDeadlineSeconds : undefined;
    if (active !== undefined && deadline >= active) {
      problems.push(
        `${where}: --deadline ${deadline}s is not below the Job's activeDeadlineSeconds ${active}: the Job would kill the producer before it can end with its own error`,
      );
    }
  }
}

// Returns the list of problems (empty: consistent).
export function checkConsistency(objects, binaries) {
  const problems = [];
  const containers = analyseContainers(objects, binaries, problems);
  const consumers = containers.filter((c) => c.binaryName === "consumer_service");
  const producers = containers.filter((c) => c.binaryName === "producer_service");
  if (consumers.length === 0) problems.push("no workload runs consumer_service");
  if (producers.length === 0) problems.push("no workload runs producer_service");
  for (const consumer of consumers) checkConsumer(objects, consumer, producers, problems);
  for (const producer of producers) checkProducer(objects, producer, consumers, problems);
  return problems;
}

function parseCommandLine(argv) {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { consumer: { type: "string" }, producer: { type: "string" } },
    allowPositionals: true,
  });
  if (!values.consumer || !values.producer || positionals.length === 0) {
    console.error("usage: node consistency.mjs --consumer BIN --producer BIN RENDERED.yaml...");
    process.exit(2);
  }
  return { ...values, files: positionals };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const options = parseCommandLine(process.argv.slice(2));
  const binaries = loadBinaries({ consumer_service: options.consumer, producer_service: options.producer });
  let total = 0;
  for (const file of options.files) {
    const problems = checkConsistency(loadObjects(file), binaries);
    for (const problem of problems) console.log(`${basename(file)}: ${problem}`);
    total += problems.length;
  }
  console.log(`consistency: ${options.files.length} file(s) checked, ${total} problems`);
  process.exit(total === 0 ? 0 : 1);
}
