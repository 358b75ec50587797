#!/usr/bin/env node
// Runs one TypeScript file (tools, benchmarks) through tsx: node bin/run-ts.mjs FILE [ARGS...]
import { register } from "tsx/esm/api";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
register();
const file = process.argv[2];
if (!file) {
  console.error("usage: node bin/run-ts.mjs FILE.ts [ARGS...]");
  process.exit(2);
}
process.argv.splice(1, 2, resolve(file));
await import(pathToFileURL(resolve(file)).href);
