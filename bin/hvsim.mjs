#!/usr/bin/env node
// Entry point. Runs dist/cli/hvsim.mjs, the JavaScript that `npm ci` built from the sources
// (tools/build-cli.ts), so no TypeScript is compiled at start. In a source checkout without a
// build, or where a source is newer than the build, it runs the sources through tsx instead.
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const distDir = fileURLToPath(new URL("../dist/cli/", import.meta.url));

/** The build is current when its manifest is at least as new as every source it was built from. */
function builtIsCurrent() {
  try {
    const built = statSync(join(distDir, "inputs.json")).mtimeMs;
    if (statSync(join(distDir, "hvsim.mjs")).mtimeMs > built) return false;
    const { inputs } = JSON.parse(readFileSync(join(distDir, "inputs.json"), "utf8"));
    for (const input of inputs) if (statSync(join(distDir, input)).mtimeMs > built) return false;
    return true;
  } catch {
    return false;
  }
}

// `hvsim log big.hvt | head`: the reader went away; that is the end of the output, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
let main;
if (process.env.HVSIM_FROM_SOURCE !== "1" && builtIsCurrent()) {
  ({ main } = await import("../dist/cli/hvsim.mjs"));
} else {
  const { register } = await import("tsx/esm/api");
  register();
  ({ main } = await import("../src/cli/main.ts"));
}
process.exitCode = await main(process.argv);
