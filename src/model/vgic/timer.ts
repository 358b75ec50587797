import { GIC } from "../abi/constants.ts";
import type { Machine } from "../machine.ts";
import { objectAs } from "../object/objects.ts";
import type { ThreadObject } from "../vcpu/state.ts";
import { assertIrq } from "./virq.ts";

/**
 * The virtual arch timer (reference §6.6, §7.1): CNTV_CTL_EL0 (bit0 ENABLE, bit1 IMASK, bit2
 * ISTATUS) and CNTV_CVAL_EL0. Its condition (CNTVCT ≥ CVAL) drives PPI 27 as a level; the counter
 * runs at the platform frequency (62.5 MHz on QEMU, GH:config/platform/qemu.conf). The virtual
 * count is derived from virtual time: CNTVCT = floor(t × freq / 10^9), exact integer arithmetic.
 */

export const counterAt = (s: Machine, t: number): bigint => (BigInt(t) * BigInt(s.config.platform.timerFreqHz)) / 1_000_000_000n;

/** First ns at which CNTVCT ≥ cval (ceil of cval × 10^9 / freq), capped to a safe integer. */
function dueAt(s: Machine, cval: bigint): number {
  const f = BigInt(s.config.platform.timerFreqHz);
  const ns = (cval * 1_000_000_000n + f - 1n) / f;
  return ns > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(ns);
}

/** The guest wrote CNTV_CTL_EL0 or CNTV_CVAL_EL0: re-arm, fire at once, or drop the level. */
export function programTimer(s: Machine, t: ThreadObject): { dueNs: number | null; fired: boolean } {
  const v = t.vtimer;
  const enabled = (v.ctl & 1) === 1;
  const masked = (v.ctl & 2) === 2;
  const vic = objectAs(s, t.vic, "vic");
  const level = t.gicr.irqs[GIC.VIRTUAL_TIMER_PPI];
  if (!enabled || counterAt(s, s.t) < v.cval) {
    v.ctl &= ~4;
    if (level !== undefined) level.level = false;
  }
  if (!enabled || masked) {
    v.dueNs = -1;
    return { dueNs: null, fired: false };
  }
  const due = dueAt(s, v.cval);
  if (due <= s.t) {
    v.dueNs = -1;
    v.ctl |= 4;
    if (vic !== undefined) assertIrq(s, vic, t, GIC.VIRTUAL_TIMER_PPI, false);
    return { dueNs: null, fired: true };
  }
  v.dueNs = due;
  return { dueNs: due, fired: false };
}

/** timer_tick due work: every armed virtual timer whose compare value is reached raises PPI 27. */
export function vtimerDue(s: Machine): string[] {
  const fired: string[] = [];
  for (const id of s.sched.threads) {
    const t = s.objects.byId[id];
    if (t === undefined || t.type !== "thread" || t.vtimer.dueNs < 0 || t.vtimer.dueNs > s.t) continue;
    t.vtimer.dueNs = -1;
    t.vtimer.ctl |= 4;
    const vic = objectAs(s, t.vic, "vic");
    const r = vic === undefined ? null : assertIrq(s, vic, t, GIC.VIRTUAL_TIMER_PPI, false);
    fired.push(`vm${t.vm}/vcpu${t.index}:vtimer(virq ${GIC.VIRTUAL_TIMER_PPI}${r?.woke ? ", woke" : ""})`);
  }
  return fired;
}
