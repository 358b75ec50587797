// Bundles a tool or benchmark the way the CLI is bundled, to profile the code users run:
//   node bin/run-ts.mjs tools/bundle.ts tools/bench/record-profile.ts   # -> dist/tools/record-profile.mjs
//   node --cpu-prof dist/tools/record-profile.mjs 300000
import { basename, join, resolve } from "node:path";
import { bundle } from "./build-cli.ts";

const entry = process.argv[2];
if (entry === undefined) {
  console.error("usage: node bin/run-ts.mjs tools/bundle.ts FILE.ts");
  process.exit(2);
}
const out = join(resolve("dist", "tools"));
const name = basename(entry).replace(/\.ts$/, ".mjs");
await bundle(resolve(entry), out, name);
console.log(join(out, name));
