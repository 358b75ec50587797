#!/usr/bin/env node
// Entry point: runs the TypeScript sources through tsx so that `npx hvsim` works right after
// `npm install`, with no build step to remember.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv);
