import type { Scenario } from "../scenario.ts";
import { smokeScenario } from "./smoke.ts";
import { hypSecondaryScenario } from "./hyp-secondary.ts";
import { vmSecondaryScenario } from "./vm-secondary.ts";
import { vmRestartScenario } from "./vm-restart.ts";

/**
 * Built-in scenarios by name, in the order `hvsim scenarios` lists them. The first is the default
 * that `hvsim record` and `hvsim run` use when no scenario is named.
 */
export const BUILTIN_SCENARIOS: readonly Scenario[] = [smokeScenario, hypSecondaryScenario, vmSecondaryScenario, vmRestartScenario];

export const DEFAULT_SCENARIO = BUILTIN_SCENARIOS[0]!;

export function builtinScenario(name: string): Scenario | undefined {
  return BUILTIN_SCENARIOS.find((s) => s.name === name);
}
