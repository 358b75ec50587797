/**
 * A swarm actor runs its program one step (an op) per scheduler session, so a step that became
 * impossible before it was issued (possible.ts) drops only that op, not the actor's whole life. The
 * guard sees the step about to be issued: the program wrapper below remembers the last one yielded.
 */
import type { Machine } from "../../model/machine.ts";
import type { Outcome } from "../../core/event.ts";
import { isStep, type Program, type Step } from "../lib/program.ts";
import type { ActorSpec } from "../lib/scheduler.ts";
import { stepPossible } from "./possible.ts";
import type { SwarmRun } from "./runtime.ts";

export interface OpActor {
  readonly name: string;
  readonly latency: ActorSpec["latency"];
  /** The next op's program, or null when the actor is done. */
  next(): Program | null;
  /** Checked with every step: false ends the op (e.g. the guest's VM went down under it). */
  alive?(s: Machine): boolean;
  readonly proxied?: ActorSpec["proxied"];
}

export function opActor(run: SwarmRun, a: OpActor): ActorSpec {
  const box: { step: Step | null } = { step: null };
  let done = false;
  return {
    name: a.name,
    latency: a.latency,
    session: () => {
      if (done) return null;
      const p = a.next();
      if (p === null) {
        done = true;
        run.finished.add(a.name);
        return null;
      }
      return tracked(p, box);
    },
    guard: (s) => (a.alive === undefined || a.alive(s)) && (box.step === null || stepPossible(s, box.step)),
    ...(a.proxied === undefined ? {} : { proxied: a.proxied }),
  };
}

/** Runs `p`, remembering the step it is waiting to have issued; closing it closes `p` (its finally blocks run). */
function* tracked(p: Program, box: { step: Step | null }): Program {
  try {
    let r = p.next(undefined as unknown as Outcome);
    while (r.done !== true) {
      const action = r.value;
      box.step = isStep(action) ? action : null;
      const outcome = yield action;
      box.step = null;
      r = p.next(outcome);
    }
  } finally {
    box.step = null;
    p.return(undefined);
  }
}

/** A program from a list of op programs, run in order (the actor's `next`). */
export function sequence(ops: (() => Program | null)[]): () => Program | null {
  let i = 0;
  return () => {
    while (i < ops.length) {
      const p = ops[i++]!();
      if (p !== null) return p;
    }
    return null;
  };
}
