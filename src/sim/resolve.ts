import { die } from "../core/errors.ts";
import { builtinScenarios, DEFAULT_SCENARIO, builtinScenario } from "./builtin/index.ts";
import type { Scenario } from "./scenario.ts";
import { loadScenarioFile } from "./file/files.ts";
import { loadSwarmScenario } from "./swarm/scenario.ts";

/**
 * Scenario loaders beyond the built-ins (scenario files) register here; the CLI asks this module,
 * so it never needs to know where a scenario comes from.
 */
export type ScenarioLoader = (ref: string) => Scenario | undefined;
const loaders: ScenarioLoader[] = [];
export function addScenarioLoader(loader: ScenarioLoader): void {
  loaders.push(loader);
}
addScenarioLoader(loadScenarioFile);
addScenarioLoader(loadSwarmScenario);

/** A built-in name, or whatever a registered loader accepts (e.g. a YAML file path). */
export function resolveScenario(ref: string | undefined): Scenario {
  if (ref === undefined) return DEFAULT_SCENARIO;
  const builtin = builtinScenario(ref);
  if (builtin !== undefined) return builtin;
  for (const load of loaders) {
    const s = load(ref);
    if (s !== undefined) return s;
  }
  const names = builtinScenarios().map((s) => s.name).join(", ");
  return die("ARGUMENT_INVALID", `unknown scenario '${ref}': not a built-in (${names}), a scenario file, nor a swarm world (swarm:SEED)`);
}
