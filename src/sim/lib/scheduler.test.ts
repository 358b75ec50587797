import { describe, expect, it } from "vitest";
import type { Machine } from "../../model/machine.ts";
import { prng, streams } from "../prng.ts";
import { scheduler, type ActorSpec } from "./scheduler.ts";
import { sleep, wait, type Program } from "./program.ts";

const tick = { kind: "timer_tick" } as const;
const fixed = (name: string, ns: number) => ({ stream: prng(1, name), minNs: ns, maxNs: ns });

function actor(name: string, latencyNs: number, body: () => Program): ActorSpec {
  let done = false;
  return { name, latency: fixed(name, latencyNs), session: () => (done ? null : ((done = true), body())) };
}

/** Drives a scheduler against a fake state and returns "actor@t" per event. */
function drain(actors: ActorSpec[], state: { flag: boolean } = { flag: false }, names?: string[]): string[] {
  const d = scheduler(actors, prng(1, "sched"));
  const out: string[] = [];
  for (let i = 0; i < 50; i++) {
    const p = d.next(state as unknown as Machine);
    if (p === null) break;
    out.push(`${names?.shift() ?? "?"}@${p.t}`);
    d.observe?.({ ...p, seq: i } as never, {}, state as unknown as Machine);
  }
  return out;
}

describe("scheduler", () => {
  it("runs the actor with the earliest clock; sleeps move only that actor's clock", () => {
    const seen: string[] = [];
    const a = actor("a", 10, function* () { seen.push("a"); yield tick; seen.push("a"); yield tick; });
    const b = actor("b", 3, function* () { yield sleep(5); seen.push("b"); yield tick; seen.push("b"); yield tick; });
    const times = drain([a, b]).map((x) => Number(x.split("@")[1]));
    expect(times).toEqual([0, 5, 8, 10]);
  });

  it("a wait released by another actor's bookkeeping is seen in the same step", () => {
    const shared = { released: false };
    const host = actor("host", 1, function* () { yield wait("guest released", () => shared.released); yield tick; });
    const guest = actor("guest", 1, function* () { yield tick; shared.released = true; });
    expect(drain([host, guest])).toHaveLength(2);
  });

  it("a failing guard ends the session before its step is issued", () => {
    const state = { flag: true };
    let sessions = 0;
    const g: ActorSpec = {
      name: "g",
      latency: fixed("g", 1),
      session: () => (sessions++ < 2 ? (function* (): Program { yield tick; state.flag = false; yield tick; })() : null),
      guard: (s) => (s as unknown as { flag: boolean }).flag,
    };
    expect(drain([g], state)).toHaveLength(1); // the second step of session 1 is dropped; session 2 is guarded out too
  });

  it("ties are broken by the sched stream, the same way for the same seed", () => {
    const mk = () => ["x", "y", "z"].map((n) => actor(n, 7, function* () { yield { kind: "timer_tick" }; }));
    const order = (seed: number) => {
      const d = scheduler(mk(), streams(seed)("sched"));
      const ts: number[] = [];
      for (let p = d.next({} as Machine); p !== null; p = d.next({} as Machine)) ts.push(p.t), d.observe?.(p as never, {}, {} as Machine);
      return ts;
    };
    expect(order(4)).toEqual([0, 0, 0]);
    expect(order(4)).toEqual(order(4));
  });
});
