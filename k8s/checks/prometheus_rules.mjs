// Writes the rule groups of every PrometheusRule in rendered manifests as
// plain Prometheus rule files, for `promtool check rules` and `promtool
// test rules` (the operator's spec.groups is exactly a rule file's
// content); and, given the consumer binary, checks that every consumer_*
// metric the rules name is one a real consumer exposes, by scraping one
// (with a log, so that the log's metrics are there).
//
//   node prometheus_rules.mjs --out-dir DIR [--consumer BIN] RENDERED.yaml
// writes DIR/<PrometheusRule name>.rules.yaml; exit 0: written (and every
// name exposed), 1: problems listed.
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { describe, loadObjects } from "./lib/manifests.mjs";

const { values, positionals } = parseArgs({
  options: { "out-dir": { type: "string" }, consumer: { type: "string" } },
  allowPositionals: true,
});
if (!values["out-dir"] || positionals.length !== 1) {
  console.error("usage: node prometheus_rules.mjs --out-dir DIR [--consumer BIN] RENDERED.yaml");
  process.exit(2);
}

// The sample names of a scrape of a real consumer_service: each family,
// and a histogram's _bucket, _sum and _count.
async function exposedNames(binary) {
  const dataDir = mkdtempSync(join(tmpdir(), "rules-consumer-"));
  const child = spawn(
    binary,
    ["--address=127.0.0.1:0", "--metrics_address=127.0.0.1:0", "--print_messages=false", `--data_dir=${dataDir}`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      let stderr = "";
      const timer = setTimeout(() => reject(new Error(`no "metrics on" line within 30 s:\n${stderr}`)), 30000);
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
        const match = /metrics on (http:\/\/\S+\/metrics)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
      child.on("exit", (code) => reject(new Error(`${binary} exited with ${code}:\n${stderr}`)));
    });
    const text = await (await fetch(url)).text();
    const names = new Set();
    for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      names.add(name);
      if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    }
    return names;
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on("exit", resolve)));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const problems = [];
const rules = loadObjects(positionals[0]).filter((o) => o.kind === "PrometheusRule");
if (rules.length === 0) problems.push(`${positionals[0]}: no PrometheusRule`);
mkdirSync(values["out-dir"], { recursive: true });
for (const rule of rules) {
  const file = join(values["out-dir"], `${rule.metadata.name}.rules.yaml`);
  writeFileSync(file, stringify({ groups: rule.spec?.groups ?? [] }));
  console.log(`${describe(rule)} -> ${file}`);
}
if (values.consumer && rules.length > 0) {
  const exposed = await exposedNames(values.consumer);
  for (const rule of rules) {
    for (const group of rule.spec?.groups ?? []) {
      for (const entry of group.rules ?? []) {
        for (const [name] of String(entry.expr).matchAll(/\bconsumer_[a-z0-9_]+/g)) {
          if (!exposed.has(name)) {
            problems.push(`${describe(rule)}: ${entry.alert ?? entry.record} uses ${name}, which consumer_service does not expose`);
          }
        }
      }
    }
  }
  console.log(`metric names checked against a scrape of ${values.consumer} (${exposed.size} names)`);
}
for (const problem of problems) console.log(problem);
process.exit(problems.length === 0 ? 0 : 1);
