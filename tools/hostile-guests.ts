/**
 * Hostile guest code at scale (issue 12): seeded random instruction words run as a secondary VM's
 * guest (src/sim/lib/hostile-code.ts), every invariant checked after every event, over many seeds
 * until the instructions retired reach a total. Prints the figures: instructions, exits by kind,
 * calls seen, how the runs ended; exits 1 if the model threw, an invariant failed or an exit kind
 * is unknown. test/hostile-guests.test.ts runs a smaller fixed set in the suite.
 *   node bin/run-ts.mjs tools/hostile-guests.ts [--total 1000000] [--per-seed 20000] [--first-seed 1]
 *   node bin/run-ts.mjs tools/hostile-guests.ts --dump 7 > x.bin   (the image of seed 7)
 */
import { parseArgs } from "node:util";
import { HOSTILE_DEFAULTS, emptyFigures, hostileImage, runHostileSeeds } from "../src/sim/lib/hostile-code.ts";

const { values } = parseArgs({ options: { total: { type: "string", default: "1000000" }, "per-seed": { type: "string", default: String(HOSTILE_DEFAULTS.instructions) }, "first-seed": { type: "string", default: "1" }, dump: { type: "string" } } });
if (values.dump !== undefined) {
  process.stdout.write(hostileImage(Number(values.dump), HOSTILE_DEFAULTS.bodyWords));
} else {
  const total = Number(values.total);
  const o = { ...HOSTILE_DEFAULTS, instructions: Number(values["per-seed"]) };
  const started = Date.now();
  const f = emptyFigures();
  const r = runHostileSeeds(Number(values["first-seed"]), total, o, f, (seed, n) => {
    if (seed % 10 === 0) process.stderr.write(`seed ${seed}: ${n} instructions so far\n`);
  });
  const sorted = (m: Record<string, number>) => Object.entries(m).sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${k}: ${v}`).join("\n");
  console.log(`seeds ${r.first}..${r.last} (${r.last - r.first + 1}), ${f.instructions} instructions retired in ${f.execs} vcpu_exec events (${f.events} events in all), ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`exits by kind:\n${sorted(f.exits)}`);
  console.log(`calls and stage-2 faults seen:\n${sorted(f.calls)}`);
  console.log(`runs ended:\n${sorted(r.ended)}`);
  console.log(`model exceptions thrown: ${r.thrown.length}${r.thrown.length === 0 ? "" : `\n  ${r.thrown.join("\n  ")}`}`);
  console.log(`invariant violations: ${r.violations.length}${r.violations.length === 0 ? "" : `\n  ${r.violations.join("\n  ")}`}`);
  console.log(`unknown exit kinds: ${f.unknownExits.length}`);
  console.log(`hypercall returns that are not a Gunyah error code: ${f.unknownErrors.length}${f.unknownErrors.length === 0 ? "" : `\n  ${[...new Set(f.unknownErrors)].slice(0, 20).join("\n  ")}`}`);
  process.exitCode = r.thrown.length + r.violations.length + f.unknownExits.length + f.unknownErrors.length === 0 ? 0 : 1;
}
