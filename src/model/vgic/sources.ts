import type { Machine } from "../machine.ts";
import type { VirqSource } from "./state.ts";
import { virtioSourcePending } from "../virtio_mmio/handlers.ts";

/**
 * `virq_check_pending` per source type (reference §7.3): called after the guest EOIs a level VIRQ;
 * false clears the level. Doorbell: (flags & enable) ≠ 0; msgqueue receive: count ≥ not-empty
 * threshold; send: count ≤ not-full threshold. Other sources are one-shot.
 */
export function sourcePending(s: Machine, src: VirqSource): boolean {
  const o = s.objects.byId[src.object];
  if (o === undefined) return false;
  if (src.kind === "doorbell" && o.type === "doorbell") return (o.flags & o.enableMask) !== 0n;
  if (src.kind === "msgqueue_receive" && o.type === "msgqueue") return o.queue.length >= o.notEmptyThreshold;
  if (src.kind === "msgqueue_send" && o.type === "msgqueue") return o.queue.length <= o.notFullThreshold;
  if ((src.kind === "virtio_mmio_backend" || src.kind === "virtio_mmio_frontend") && o.type === "virtio_mmio") return virtioSourcePending(o, src.kind);
  return false;
}
