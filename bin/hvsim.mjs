#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx so that `npx hvsim` works right after
// `npm install`, with no build step to remember.
import { register } from "tsx/esm/api";
register();
// `hvsim log big.hvt | head`: the reader went away; that is the end of the output, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
