/**
 * Scenario files on disk: the ones shipped in the repository's scenarios/ folder (built-ins that
 * users can copy and edit) and any path a user names. The only part of src/sim that reads files;
 * everything after reading is the pure compiler (compile.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { INPUT_BYTES_MAX, readRegularFile } from "./read-file.ts";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { die } from "../../core/errors.ts";
import type { Scenario } from "../scenario.ts";
import { compileScenarioFile } from "./compile.ts";
import { YAML_LIMITS } from "./load.ts";

/** The repository's scenarios/ folder (src/sim/file -> ../../../scenarios). */
export const SHIPPED_DIR = fileURLToPath(new URL("../../../scenarios/", import.meta.url));

/** Shipped scenario files, by name order, as `scenarios/<name>.yaml` paths relative to the repository. */
export function shippedScenarioFiles(): string[] {
  if (!existsSync(SHIPPED_DIR)) return [];
  return readdirSync(SHIPPED_DIR)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => `scenarios/${f}`);
}

/** Compiles the shipped scenarios (a broken shipped file is a bug: it fails loudly, with its line). */
export function shippedScenarios(): Scenario[] {
  return shippedScenarioFiles().map((rel) => {
    const file = join(SHIPPED_DIR, rel.slice("scenarios/".length));
    return compileScenarioFile(rel, readFileSync(file, "utf8"), imagesBeside(file));
  });
}

/** A reference that names a file: a path with a directory part or a .yaml/.yml extension. */
export const looksLikeFile = (ref: string): boolean => /\.ya?ml$/i.test(ref) || ref.includes("/") || ref.includes("\\");

/** The loader `resolveScenario` asks: a scenario file path, or undefined when the reference is not one. */
export function loadScenarioFile(ref: string): Scenario | undefined {
  if (!looksLikeFile(ref)) return undefined;
  if (!existsSync(ref)) die("ARGUMENT_INVALID", `${ref}: no such scenario file`);
  const st = statSync(ref);
  if (!st.isFile()) die("ARGUMENT_INVALID", `${ref}: not a file`);
  // Checked before reading: a huge file is refused without holding it (or its parse) in memory.
  if (st.size > YAML_LIMITS.bytes) die("SCENARIO_INVALID", `${ref}: ${st.size} bytes, more than the ${YAML_LIMITS.bytes} a scenario file may have`, { path: ref });
  return compileScenarioFile(ref, readFileSync(ref, "utf8"), imagesBeside(ref));
}

/** A VM's `image:` path is relative to the folder of the scenario file that names it. */
const imagesBeside = (file: string) => (path: string): Uint8Array => readRegularFile(resolve(dirname(file), path), INPUT_BYTES_MAX.image);
