/**
 * Named model defects a scenario can switch on (`faults: [name]` in a scenario file). Each is a
 * deliberate bug in the model (a reclaim that skips sanitising, a stage-2 unmap that is forgotten)
 * that a scenario injects to show the invariants and the time-travel tools catching it.
 *
 * The registry starts empty: the engineers who own the affected rooms add entries here, and the
 * model reads the switched-on names from `MachineConfig.faults` (stored in the trace header, so a
 * replay applies the same defects). A scenario naming a fault that is not listed is rejected with
 * the file, line and path of the name.
 */
import { MODEL_DEFECTS, MODEL_DEFECT_NAMES } from "../model/faults.ts";

export interface KnownFault {
  /** kebab-case, e.g. `reclaim-skips-sanitize`. */
  readonly name: string;
  /** One sentence: what the defect does. */
  readonly description: string;
}

// The model's defects (src/model/faults.ts, issue #6): each has a built-in scenario bug-<name>.
export const KNOWN_FAULTS: readonly KnownFault[] = MODEL_DEFECT_NAMES.map((name) => ({ name, description: MODEL_DEFECTS[name] }));

export const isKnownFault = (name: string): boolean => KNOWN_FAULTS.some((f) => f.name === name);
