// Helpers shared by the checks: reading rendered manifests, resolving a
// container's $(VAR) args the way the kubelet does, matching selectors, and
// reading a binary's flags from its absl --helpfull output.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

// All objects of a multi-document YAML file (kubectl kustomize output).
export function loadObjects(path) {
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(path, "utf8"))) {
    if (doc.errors.length > 0) {
      throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const object = doc.toJS();
    if (object != null) objects.push(object);
  }
  return objects;
}

export function describe(object) {
  const ns = object.metadata?.namespace ? `${object.metadata.namespace}/` : "";
  return `${object.kind} ${ns}${object.metadata?.name}`;
}

// Workload kinds and where their pod spec is.
const POD_TEMPLATE_PATHS = {
  Pod: (o) => ({ metadata: o.metadata, spec: o.spec }),
  Deployment: (o) => o.spec?.template,
  StatefulSet: (o) => o.spec?.template,
  DaemonSet: (o) => o.spec?.template,
  ReplicaSet: (o) => o.spec?.template,
  Job: (o) => o.spec?.template,
  CronJob: (o) => o.spec?.jobTemplate?.spec?.template,
};

// [{object, template: {metadata, spec}}] for every object that runs pods.
export function workloads(objects) {
  const result = [];
  for (const object of objects) {
    const get = POD_TEMPLATE_PATHS[object.kind];
    if (get) result.push({ object, template: get(object) ?? {} });
  }
  return result;
}

export function namespaceOf(object) {
  return object.metadata?.namespace ?? "default";
}

export function findObject(objects, kind, name, namespace) {
  return objects.find(
    (o) =>
      o.kind === kind &&
      o.metadata?.name === name &&
      (namespace === undefined || namespaceOf(o) === namespace),
  );
}

// Does a label selector (matchLabels/matchExpressions, or a Service's plain
// map) select these labels? An empty selector selects everything.
export function selects(selector, labels = {}) {
  if (selector == null) return false;
  const isLabelSelector =
    "matchLabels" in selector || "matchExpressions" in selector;
  const matchLabels = isLabelSelector ? selector.matchLabels ?? {} : selector;
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) return false;
  }
  for (const expr of isLabelSelector ? selector.matchExpressions ?? [] : []) {
    const has = Object.hasOwn(labels, expr.key);
    const value = labels[expr.key];
    switch (expr.operator) {
      case "In":
        if (!has || !expr.values.includes(value)) return false;
        break;
      case "NotIn":
        if (has && expr.values.includes(value)) return false;
        break;
      case "Exists":
        if (!has) return false;
        break;
      case "DoesNotExist":
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// A sample pod of a workload, as its controller would create it: name,
// namespace, and the labels and annotations the controller adds to the pod
// template's (what the downward API can read). index: the StatefulSet
// ordinal or the Job completion index; attempt: tells apart two pods of the
// same index (a Job's retries, a Deployment's replicas).
export function samplePod(object, template, { index = 0, attempt = 0 } = {}) {
  const suffix = ["x7k2p", "q4m9z", "b8n3d"][attempt % 3];
  const owner = object.metadata?.name ?? "unnamed";
  const labels = { ...(template?.metadata?.labels ?? {}) };
  const annotations = { ...(template?.metadata?.annotations ?? {}) };
  let name;
  switch (object.kind) {
    case "Pod":
      name = owner;
      break;
    case "StatefulSet":
      name = `${owner}-${index}`;
      labels["statefulset.kubernetes.io/pod-name"] = name;
      labels["apps.kubernetes.io/pod-index"] = String(index);
      break;
    case "Job":
    case "CronJob": {
      const job = object.kind === "Job" ? object : { metadata: { name: `${owner}-28999999` }, spec: object.spec?.jobTemplate?.spec };
      const jobName = job.metadata.name;
      const uid = "00000000-0000-0000-0000-000000000001";
      Object.assign(labels, {
        "job-name": jobName,
        "batch.kubernetes.io/job-name": jobName,
        "controller-uid": uid,
        "batch.kubernetes.io/controller-uid": uid,
      });
      if (job.spec?.completionMode === "Indexed") {
        labels["batch.kubernetes.io/job-completion-index"] = String(index);
        annotations["batch.kubernetes.io/job-completion-index"] = String(index);
        name = `${jobName}-${index}-${suffix}`;
      } else {
        name = `${jobName}-${suffix}`;
      }
      break;
    }
    default:
      name = `${owner}-5d9c8b7f6-${suffix}`;
  }
  return { name, namespace: namespaceOf(object), labels, annotations };
}

// Sample values for downward-API fields, for resolving args offline.
const FIELD_SAMPLES = {
  "metadata.name": (pod) => pod.name,
  "metadata.namespace": (pod) => pod.namespace,
  "metadata.uid": () => "00000000-0000-0000-0000-000000000000",
  "spec.nodeName": () => "node-1",
  "spec.serviceAccountName": () => "default",
  "status.hostIP": () => "192.0.2.10",
  "status.podIP": () => "192.0.2.20",
};

// The container's environment as the kubelet builds it: envFrom first, then
// env in order (an env value may use $(VAR) of earlier ones). pod is a
// sample pod, {name, namespace, labels, annotations} (see samplePod). Unresolvable references are reported in
// `problems`.
export function containerEnv(objects, pod, container, problems) {
  const env = new Map();
  const configMapData = (name, what) => {
    const cm = findObject(objects, "ConfigMap", name, pod.namespace);
    if (!cm) problems.push(`${what}: ConfigMap ${name} is not in the manifests`);
    return cm?.data ?? {};
  };
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) {
      const data = configMapData(source.configMapRef.name, "envFrom");
      for (const [k, v] of Object.entries(data)) env.set((source.prefix ?? "") + k, v);
    }
  }
  for (const entry of container.env ?? []) {
    if ("value" in entry) {
      env.set(entry.name, expand(entry.value ?? "", env).value);
      continue;
    }
    const from = entry.valueFrom ?? {};
    if (from.configMapKeyRef) {
      const { name, key } = from.configMapKeyRef;
      const data = configMapData(name, `env ${entry.name}`);
      if (!Object.hasOwn(data, key)) {
        problems.push(`env ${entry.name}: ConfigMap ${name} has no key ${key}`);
      } else {
        env.set(entry.name, data[key]);
      }
    } else if (from.fieldRef) {
      const path = from.fieldRef.fieldPath;
      const sample = FIELD_SAMPLES[path];
      const keyed = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(path ?? "");
      if (keyed) {
        const value = pod[keyed[1]]?.[keyed[2]];
        if (value === undefined) {
          problems.push(`env ${entry.name}: ${path} is not set on the pods (neither the pod template nor the controller sets it)`);
        } else {
          env.set(entry.name, value);
        }
      } else if (!sample) {
        problems.push(`env ${entry.name}: unknown fieldRef ${from.fieldRef.fieldPath}`);
      } else {
        env.set(entry.name, sample(pod));
      }
    } else {
      // secretKeyRef, resourceFieldRef: a value exists at run time.
      env.set(entry.name, `<${entry.name}>`);
    }
  }
  return env;
}

// Kubernetes' $(VAR) expansion: $$ is a literal $, an undefined reference
// stays as written.
export function expand(text, env) {
  const unresolved = [];
  const value = text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name) => {
    if (match === "$$") return "$";
    if (env.has(name)) return env.get(name);
    unresolved.push(name);
    return match;
  });
  return { value, unresolved };
}

// Flags of an absl binary, from --helpfull: name -> default value (string,
// quotes removed). --helpfull exits 1 by design, so the exit code is ignored.
export function binaryFlags(binary) {
  const run = spawnSync(binary, ["--helpfull"], { encoding: "utf8" });
  if (run.error) throw new Error(`cannot run ${binary}: ${run.error.message}`);
  const text = `${run.stdout}\n${run.stderr}`;
  const flags = new Map();
  const blocks = text.split(/\n(?= {4}--)/);
  for (const block of blocks) {
    const match = /^ {4}--([A-Za-z_][A-Za-z0-9_]*) \(/.exec(block);
    if (!match) continue;
    const defaults = [...block.matchAll(/default: (.*?);\s*(?=\n|$)/gs)];
    let value = defaults.length > 0 ? defaults[defaults.length - 1][1].replace(/\s*\n\s*/g, "") : undefined;
    if (value !== undefined && /^".*"$/s.test(value)) value = value.slice(1, -1);
    flags.set(match[1], value);
  }
  if (flags.size === 0) throw new Error(`${binary} --helpfull listed no flags`);
  return flags;
}

// Let the binary itself judge flag names and values: absl parses every flag,
// reports unknown ones and illegal values and exits 1, and only then handles
// --version (print, exit 0). Nothing is started.
export function binaryAcceptsArgs(binary, args) {
  const run = spawnSync(binary, [...args, "--version"], { encoding: "utf8" });
  const output = `${run.stdout ?? ""}${run.stderr ?? ""}`.trim();
  const errors = output.split("\n").filter((line) => line.startsWith("ERROR"));
  return { ok: run.status === 0, output: errors.length > 0 ? errors.join("; ") : output };
}

// "--name=value" / "--name" -> {name, value}; null when not a flag.
export function parseFlagArg(arg) {
  const match = /^--?([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(arg);
  return match ? { name: match[1], value: match[2] } : null;
}

// absl duration ("10s", "1m30s", "500ms", "1.5h") in seconds.
export function durationSeconds(text) {
  const units = { ns: 1e-9, us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  let match;
  const body = text.replace(/^[+-]/, "");
  while ((match = re.exec(body)) !== null) {
    total += Number(match[1]) * units[match[2]];
    consumed = re.lastIndex;
  }
  if (consumed !== body.length || body.length === 0) return NaN;
  return text.startsWith("-") ? -total : total;
}
