/**
 * Rewrites test/fixtures/pinned-traces.json: the SHA-256 of the trace of each pinned (scenario,
 * seed) pair. Run it only when a change to trace bytes is deliberate (a model change that bumps
 * MODEL_VERSION, a new event field, a scenario edit), and say why in the commit:
 *
 *   node bin/run-ts.mjs tools/pin-traces.ts
 */
import { writeFileSync } from "node:fs";
import { PINNED_CASES, PINNED_FILE, traceSha256 } from "../test/pinned-traces.ts";

const pins = PINNED_CASES.map((c) => ({ ...c, sha256: traceSha256(c) }));
const file = {
  "//": "Trace SHA-256 per (scenario, seed, maxEvents). A mismatch means determinism or the model changed. If deliberate: node bin/run-ts.mjs tools/pin-traces.ts",
  pins,
};
writeFileSync(PINNED_FILE, `${JSON.stringify(file, null, 2)}\n`);
for (const p of pins) console.log(`${p.sha256.slice(0, 16)}  ${p.scenario} --seed ${p.seed} --max-events ${p.maxEvents}`);
