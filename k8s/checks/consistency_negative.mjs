// Proves that consistency.mjs catches mismatches: each case breaks one thing
// in a copy of a correct rendering and expects a matching problem.
//
//   node consistency_negative.mjs --list
//   node consistency_negative.mjs --consumer BIN --producer BIN --case NAME RENDERED.yaml
import { parseArgs } from "node:util";
import { checkConsistency, loadBinaries } from "./consistency.mjs";
import { loadObjects } from "./lib/manifests.mjs";

const kind = (objects, k) => objects.filter((o) => o.kind === k);
const consumerContainer = (objects) => kind(objects, "Deployment")[0].spec.template.spec.containers[0];
const producerContainer = (objects) => kind(objects, "Job")[0].spec.template.spec.containers[0];
const setArg = (container, flag, value) => {
  container.args = container.args.map((a) => (a.startsWith(`--${flag}=`) ? `--${flag}=${value}` : a));
};
const headless = (objects) => kind(objects, "Service").find((s) => s.spec.clusterIP === "None");

// name -> [mutation, expected problem (regexp)]
const CASES = {
  "unknown-flag": [(o) => consumerContainer(o).args.push("--adress=0.0.0.0:50051"), /--adress is not a flag of consumer_service/],
  "illegal-flag-value": [
    (o) => {
      kind(o, "ConfigMap").find((c) => "COUNT" in (c.data ?? {})).data.COUNT = "five";
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
    (o) => setArg(producerContainer(o), "target", "dns:///consumer:50051"),
    /not headless/,
  ],
  "target-no-dns-scheme": [
    (o) => setArg(producerContainer(o), "target", "consumer-headless:50051"),
    /is not dns:\/\/\//,
  ],
  "target-port": [(o) => setArg(producerContainer(o), "target", "dns:///consumer-headless:50052"), /--target port 50052/],
  "service-target-port": [(o) => (headless(o).spec.ports[0].targetPort = 8080), /leads to 8080/],
  "termination-grace": [
    (o) => (kind(o, "Deployment")[0].spec.template.spec.terminationGracePeriodSeconds = 12),
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
