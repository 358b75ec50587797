/**
 * A swarm world as a Scenario: `swarm:SEED` (and `swarm:SEED:DEFECT` with one of the model's
 * defects switched on) names it everywhere a scenario is named (`hvsim check swarm:17 --seed 17`,
 * `hvsim record`, `hvsim debug`). The world is drawn from SEED; the run's seed (`--seed`) draws the
 * timing and the random arguments, so one world can be explored under many runs. `hvsim fuzz
 * --swarm` runs world N with run seed N.
 */
import { createHash } from "node:crypto";
import { die } from "../../core/errors.ts";
import { MODEL_DEFECT_NAMES, type ModelDefect } from "../../model/faults.ts";
import type { MachineConfig } from "../../model/machine.ts";
import { pvmConfig } from "../builtin/pvm-common.ts";
import type { Scenario } from "../scenario.ts";
import { swarmDriver, type EventObserver } from "./driver.ts";
import { payloadsDigest, TRUSTED_KEY_FILE } from "./payloads.ts";
import { newRun, type SwarmRun } from "./runtime.ts";
import { RAM_BASE, drawWorld, type World } from "./world.ts";

export interface SwarmRefParts {
  readonly seed: number;
  readonly defect: ModelDefect | null;
}

/** `swarm:SEED` or `swarm:SEED:DEFECT`; undefined when `ref` is not a swarm reference at all. */
export function parseSwarmRef(ref: string): SwarmRefParts | undefined {
  if (!ref.startsWith("swarm:")) return undefined;
  const m = /^swarm:(\d{1,15})(?::([a-z0-9-]+))?$/.exec(ref);
  if (m === null) return die("ARGUMENT_INVALID", `scenario '${ref}': expected swarm:SEED or swarm:SEED:DEFECT (e.g. swarm:17, swarm:17:${MODEL_DEFECT_NAMES[0] ?? "DEFECT"})`);
  return { seed: Number(m[1]), defect: m[2] === undefined ? null : defectNamed(m[2]) };
}

/** A model defect by name, or a one-line error listing them. */
export function defectNamed(name: string): ModelDefect {
  if ((MODEL_DEFECT_NAMES as readonly string[]).includes(name)) return name as ModelDefect;
  return die("ARGUMENT_INVALID", `unknown model defect '${name}' (known: ${MODEL_DEFECT_NAMES.join(", ")})`);
}

export const swarmRef = (seed: number, defect: string | null): string => (defect === null ? `swarm:${seed}` : `swarm:${seed}:${defect}`);

export interface SwarmHooks {
  /** Called with each run's bookkeeping when its driver is made (liveness, hostile counts). */
  readonly onRun?: (run: SwarmRun) => void;
  readonly observe?: EventObserver;
}

export function worldConfig(world: World, defect: ModelDefect | null): MachineConfig {
  const base = pvmConfig(TRUSTED_KEY_FILE, defect === null ? [] : [defect]);
  return { ...base, platform: { ...base.platform, name: "qemu-virt", cpus: world.platform.cpus, ram: [{ base: RAM_BASE, size: world.platform.ramBytes }] } };
}

export function swarmScenario(seed: number, defect: ModelDefect | null = null, hooks: SwarmHooks = {}): Scenario & { readonly world: World } {
  const world = drawWorld(seed);
  const h = createHash("sha256").update(JSON.stringify({ world, defect })).update(payloadsDigest());
  return {
    name: defect === null ? `swarm-${seed}` : `swarm-${seed}-${defect}`,
    description: describeWorld(world) + (defect === null ? "" : ` Model defect switched on: ${defect}.`),
    hash: h.digest("hex"),
    config: worldConfig(world, defect),
    maxEvents: world.maxEvents,
    world,
    makeDriver: (stream) => {
      const run = newRun(world);
      hooks.onRun?.(run);
      return swarmDriver(run, stream, hooks.observe);
    },
  };
}

/** One sentence about the world: its VMs, the features it switched on. */
export function describeWorld(w: World): string {
  const vms = w.vms.map((v) => `${v.name} (${v.kind}, ${v.vcpus} vCPU, ${v.memory / 1024} KiB, ${v.devices.length} devices${v.streams.length > 0 ? `, stream ${v.streams.join("/")}` : ""}${v.demand !== null ? `, ${v.demand.pages} pages on demand` : ""}, ${v.boots.length} boot${v.boots.length === 1 ? "" : "s"})`);
  return `Swarm world ${w.seed}: ${w.platform.cpus} CPUs, ${w.platform.ramBytes / 0x10_0000} MiB; ${vms.join(", ")}; features ${w.features.join(", ")}.`;
}

/** The loader `resolveScenario` asks (src/sim/resolve.ts). */
export function loadSwarmScenario(ref: string): Scenario | undefined {
  const parts = parseSwarmRef(ref);
  return parts === undefined ? undefined : swarmScenario(parts.seed, parts.defect);
}
