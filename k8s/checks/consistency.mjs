// Consistency check of rendered manifests against the real binaries: the
// manifests may only use what consumer_service and producer_service accept.
//   - every container runs one of the two binaries, by explicit command;
//   - every arg, once $(VAR) is resolved from env/ConfigMap/downward API as
//     the kubelet would, is a flag listed by the binary's --helpfull, and the
//     binary itself accepts the whole arg list (names and values);
//   - the consumer's listening port (--address, or its default) is the
//     containerPort, the port of all three gRPC probes, the target port of
//     the Services, and the NetworkPolicy's port;
//   - the producer's --target is dns:///<headless Service>:<its port> and
//     that Service leads to the consumer's listening port;
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
      const envProblems = [];
      // A pod of a Deployment or Job is named <owner>-<suffix>.
      const pod = { name: template.metadata?.name ?? `${object.metadata?.name}-x7k2p`, namespace };
      const env = containerEnv(objects, pod, container, envProblems);
      for (const p of envProblems) problems.push(`${where}: ${p}`);

      const args = [];
      for (const raw of [...command.slice(1), ...(container.args ?? [])]) {
        const { value, unresolved } = expand(String(raw), env);
        for (const name of unresolved) {
          problems.push(`${where}: arg "${raw}": $(${name}) is not defined in the container's env`);
        }
        args.push(value);
      }

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
      result.push({ object, template, container, namespace, binaryName, where, values });
    }
  }
  return result;
}

function checkConsumer(objects, consumer, producers, problems) {
  const { object, template, container, namespace, where, values } = consumer;
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
  for (const port of containerPorts) {
    if (port !== listenPort) problems.push(`${where}: containerPort ${port}: consumer_service listens only on ${listenPort}`);
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
      if (target !== listenPort) {
        problems.push(
          `${describe(service)}: port ${port.port} leads to ${port.targetPort ?? port.port} (${target}), consumer_service listens on ${listenPort}`,
        );
      }
    }
  }

  // NetworkPolicy: some rule must admit producers to the gRPC port; every
  // port a rule names must be the gRPC port.
  const policies = inNamespace("NetworkPolicy").filter((p) => selects(p.spec?.podSelector ?? {}, labels));
  if (policies.length === 0) problems.push(`${where}: no NetworkPolicy selects the consumer pods`);
  for (const policy of policies) {
    for (const rule of policy.spec?.ingress ?? []) {
      for (const port of rule.ports ?? []) {
        const resolved = resolvePort(port.port, container);
        if (resolved !== listenPort) {
          problems.push(`${describe(policy)}: admits port ${port.port} (${resolved}), consumer_service listens on ${listenPort}`);
        }
      }
    }
  }
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

function checkProducer(objects, producer, consumers, problems) {
  const { namespace, where, values } = producer;
  const target = values.get("target") ?? "";
  const match = /^dns:\/\/\/([A-Za-z0-9.-]+):(\d+)$/.exec(target);
  if (!match) {
    problems.push(`${where}: --target=${target} is not dns:///<headless Service>:<port>; without DNS resolution of every pod address there is no client-side balancing`);
    return;
  }
  const [, host, portText] = match;
  const port = Number(portText);
  const parts = host.split(".");
  const serviceName = parts[0];
  const serviceNamespace = parts.length > 1 ? parts[1] : namespace;
  if (parts.length > 2 && parts[2] !== "svc") {
    problems.push(`${where}: --target host ${host} is not a Service name (<name>[.<namespace>[.svc[.<cluster domain>]]])`);
    return;
  }
  const service = findObject(objects, "Service", serviceName, serviceNamespace);
  if (!service) {
    problems.push(`${where}: --target names Service ${serviceNamespace}/${serviceName}, which is not in the manifests`);
    return;
  }
  if (service.spec?.clusterIP !== "None") {
    problems.push(`${where}: --target names ${describe(service)}, which is not headless (clusterIP: None): every stream would pin to one pod`);
  }
  const servicePort = (service.spec?.ports ?? []).find((p) => p.port === port);
  if (!servicePort) {
    problems.push(`${where}: --target port ${port} is not a port of ${describe(service)} (${(service.spec?.ports ?? []).map((p) => p.port)})`);
    return;
  }
  const backends = consumers.filter(
    (c) => c.namespace === serviceNamespace && service.spec?.selector && selects(service.spec.selector, c.template.metadata?.labels),
  );
  if (backends.length === 0) {
    problems.push(`${where}: ${describe(service)} selects no consumer_service pods`);
  }
  for (const consumer of backends) {
    const listenPort = portOf(consumer.values.get("address"));
    const reached = resolvePort(servicePort.targetPort ?? servicePort.port, consumer.container);
    if (reached !== listenPort) {
      problems.push(`${where}: --target reaches port ${reached} of ${consumer.where}, which listens on ${listenPort}`);
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
