// Bundles a tool or benchmark the way the CLI is bundled (tools/build-cli.ts), so that what is
// measured is the code users run (no tsx loader, no esbuild keepNames), and optionally runs it:
//   node bin/run-ts.mjs tools/bundle.ts tools/bench/record-profile.ts       # -> dist/tools/record-profile.mjs
//   node bin/run-ts.mjs tools/bundle.ts --run tools/bench/bench.ts --json  # bundle, then run with the arguments
//   node --cpu-prof dist/tools/record-profile.mjs 300000
import { spawnSync } from "node:child_process";
import { basename, join, resolve } from "node:path";
import { bundle } from "./build-cli.ts";

const args = process.argv.slice(2);
const run = args[0] === "--run";
const entry = run ? args[1] : args[0];
if (entry === undefined) {
  console.error("usage: node bin/run-ts.mjs tools/bundle.ts [--run] FILE.ts [ARGS...]");
  process.exit(2);
}
const out = resolve("dist", "tools");
const file = join(out, basename(entry).replace(/\.ts$/, ".mjs"));
await bundle(resolve(entry), out, basename(file));
if (!run) console.log(file);
else process.exitCode = spawnSync(process.execPath, [file, ...args.slice(2)], { stdio: "inherit" }).status ?? 1;
