import type { Machine } from "../machine.ts";
import type { TimerTickEvent } from "./events.ts";
import type { Outcome } from "../../core/event.ts";

/**
 * timer_tick: the envelope has already moved `s.t` forward; here whatever is due by now fires.
 * The rooms that own timers register their due-work functions in `dueWork` (machine.ts), called
 * in registry order, so the order in which simultaneous expiries fire is fixed.
 */
export type DueWork = (s: Machine) => readonly string[];

export function makeOnTimerTick(dueWork: readonly DueWork[]) {
  return function onTimerTick(s: Machine, _ev: TimerTickEvent): Outcome {
    const fired: string[] = [];
    for (const work of dueWork) fired.push(...work(s));
    return { fired };
  };
}
