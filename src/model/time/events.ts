import type { Envelope } from "../../core/event.ts";

/**
 * Virtual time advances to `t` (the envelope's time); whatever is due by then fires: arch-timer
 * compare values reached, scheduler timeslices expired. Outcome: `{ fired: [...] }`, what fired.
 */
export interface TimerTickEvent extends Envelope {
  readonly kind: "timer_tick";
}
