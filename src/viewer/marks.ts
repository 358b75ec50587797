import type { EventBase, Outcome } from "../core/event.ts";

/**
 * What the timeline marks on a track: hypercalls (and SMCCC calls, the other way a guest calls
 * EL2), stage-2 faults, interrupts (a hardware IRQ, a guest acknowledging or completing a
 * virtual one) and RM messages (a request, a halt, or an ioctl whose outcome lists the RM calls
 * the driver made inside it). A bit each, so a bucket of many events is one number.
 */
export const MARK = { hypercall: 1, fault: 2, irq: 4, rm: 8 } as const;
export type MarkName = keyof typeof MARK;

const BY_KIND: Readonly<Record<string, number>> = {
  hypercall: MARK.hypercall,
  smccc_call: MARK.hypercall,
  stage2_fault: MARK.fault,
  irq: MARK.irq,
  virq_ack: MARK.irq,
  virq_eoi: MARK.irq,
  rm_request: MARK.rm,
  rm_vm_halt: MARK.rm,
};

export function markOf(ev: EventBase, outcome: Outcome): number {
  let m = BY_KIND[ev.kind] ?? 0;
  const rm = outcome.rm;
  if (Array.isArray(rm) && rm.length > 0) m |= MARK.rm;
  return m;
}

/**
 * Marks per track in buckets of `bucket` events (1: every event), kept as one mask per (bucket,
 * track). `query` merges buckets into pixel columns, so a response is bounded by the width.
 */
export class MarkStore {
  private readonly buckets = new Map<number, Map<string, number>>();

  constructor(readonly bucket: number) {}

  add(index: number, trackId: string, mask: number): void {
    const b = Math.floor(index / this.bucket);
    let m = this.buckets.get(b);
    if (m === undefined) this.buckets.set(b, (m = new Map()));
    m.set(trackId, (m.get(trackId) ?? 0) | mask);
  }

  /**
   * Marks in [from, to] as [first index, span in events, track index, mask] quadruples, one per
   * track and pixel column at most. `trackIndex` maps a track id to its row in the response.
   */
  query(from: number, to: number, width: number, trackIndex: (id: string) => number): number[] {
    const len = Math.max(1, to - from + 1);
    const column = Math.max(this.bucket, Math.ceil(len / Math.max(1, width)));
    const merged = new Map<string, number>();
    for (let b = Math.floor(from / this.bucket); b * this.bucket <= to; b++) {
      const m = this.buckets.get(b);
      if (m === undefined) continue;
      const col = Math.floor((b * this.bucket - from) / column);
      for (const [track, mask] of m) {
        const key = `${col}\u0000${track}`;
        merged.set(key, (merged.get(key) ?? 0) | mask);
      }
    }
    const out: number[] = [];
    for (const [key, mask] of merged) {
      const [col, track] = key.split("\u0000") as [string, string];
      const start = Math.max(from, from + Number(col) * column);
      out.push(start, Math.min(column, to - start + 1), trackIndex(track), mask);
    }
    return out;
  }
}
