/**
 * A scenario that is one script: a single actor on the seeded scheduler (scheduler.ts), its steps
 * spaced by latencies from the `timing` stream, ties and waits resolved by the scheduler as for
 * any actor. The protected-VM and guest-code built-ins are written this way.
 */
import type { Driver } from "../scenario.ts";
import type { Prng } from "../prng.ts";
import { scheduler, type ActorSpec } from "./scheduler.ts";
import type { Program } from "./program.ts";

/** Steps of one actor are 1-20 µs apart (a thread doing one ioctl or RM call after another). */
const LATENCY_NS = { minNs: 1_000, maxNs: 20_000 } as const;

/** One sequential actor running `program` once. */
export function scriptDriver(name: string, program: Program, stream: (name: string) => Prng): Driver {
  return actorsDriver([{ name, program }], stream);
}

/**
 * Several actors (e.g. crosvm's main thread and a vCPU thread running guest code), each with its own
 * timing stream (`timing`, then `timing:<name>` for the others), interleaved by the scheduler.
 */
export function actorsDriver(actors: readonly { readonly name: string; readonly program: Program }[], stream: (name: string) => Prng): Driver {
  const specs: ActorSpec[] = actors.map((a, i) => ({ name: a.name, latency: { stream: stream(i === 0 ? "timing" : `timing:${a.name}`), ...LATENCY_NS }, session: once(a.program) }));
  return scheduler(specs, stream("sched"));
}

function once(p: Program): () => Program | null {
  let used = false;
  return () => {
    if (used) return null;
    used = true;
    return p;
  };
}
