import { createHash } from "node:crypto";
/**
 * One-line descriptions of the RM, VMM, virtio and SMMU events for `hvsim log`: RM messages by their
 * RM names with error names, ioctls by their uapi names, MMIO accesses by virtio register name.
 * Spread into `describers` of src/export/describe.ts.
 */
import { formatRmMessage, VM_STATUS, EXIT_TYPE } from "../abi/rm.ts";

type Ev = { readonly [key: string]: unknown };
type Out = { readonly [key: string]: unknown };
const hex = (v: unknown): string => (typeof v === "number" || typeof v === "bigint" ? `0x${v.toString(16)}` : String(v));
const statusName = Object.fromEntries(Object.entries(VM_STATUS).map(([k, v]) => [v, k]));
const exitName = Object.fromEntries(Object.entries(EXIT_TYPE).map(([k, v]) => [v, k]));

function notes(list: unknown): string {
  const l = (list ?? []) as { to: number; msg: string; data: Uint8Array }[];
  if (l.length === 0) return "";
  return ` => ${l.map((n) => `${n.msg}${detail(n.msg, n.data)}->vm${hex(n.to)}`).join(", ")}`;
}

/** The interesting part of a notification: a VM's new status, an exit's type. */
function detail(msg: string, d: Uint8Array): string {
  if (msg === "NOTIFY_VM_STATUS" && d.length >= 5) return `(${statusName[d[4]!] ?? d[4]})`;
  if (msg === "NOTIFY_VM_EXITED" && d.length >= 4) return `(${exitName[d[2]! | (d[3]! << 8)] ?? "?"})`;
  return "";
}

export const vmRoomDescribers: Record<string, (ev: Ev, outcome: Out) => string> = {
  rm_request(ev, o) {
    const err = o.err === "OK" ? "OK" : `RM_ERROR_${String(o.err)}`;
    return `vm${hex(ev.vm)} -> RM ${formatRmMessage(ev.msgId as number)} seq=${ev.rpcSeq as number}: ${err}${notes(o.notify)}`;
  },
  rm_service(ev, o) {
    const handled = ((o.handled ?? []) as { msg: string; rpcSeq: number; err: string; notify: unknown }[]).map((h) => `${h.msg} seq=${h.rpcSeq}: ${h.err === "OK" ? "OK" : `RM_ERROR_${h.err}`}${notes(h.notify)}`);
    const partial = o.partial === true ? " (a message still reassembling)" : "";
    return `RM takes vm${hex(ev.vm)}'s queue: ${o.packetsIn as number} packet(s)${handled.length > 0 ? ` -> ${handled.join("; ")}` : ""}${partial}`;
  },
  rm_vm_halt(ev, o) {
    return `vm${hex(ev.vm)}/vcpu${ev.vcpu as number} ${String(ev.cause)}${o.exited === true ? "" : " (VM cannot exit)"}${notes(o.notify)}`;
  },
  vmm_ioctl(ev, o) {
    const rm = ((o.rm ?? []) as { msg: string; err: string; notify: unknown }[]).map((r) => (r.err === "OK" ? r.msg : `${r.msg}:RM_ERROR_${r.err}`) + notes(r.notify));
    const exit =
      o.exit === "STATUS" ? ` exit=STATUS status=${o.status as number} ${exitName[o.exitType as number] ?? ""}`
      : o.exit === "MMIO" ? ` exit=MMIO ${o.isWrite === true ? "write" : "read"} ${hex(o.physAddr)}/${o.len as number}${o.isWrite === true ? ` data=${hex(o.data)}` : ""}`
      : o.exit === "IOEVENTFD" ? ` ioeventfd ${hex(o.physAddr)} (kernel resumed: ${String(o.state)})`
      : o.exit === "PAGE_FAULT_HANDLED" ? ` page fault ${hex(o.physAddr)}: demand-paged (${(o.provided as { lend: boolean }).lend ? "lent" : "shared"} from host ${hex((o.provided as { hostAddr: number }).hostAddr)}), RETRY -> ${String(o.state)}`
      : o.exit === "PAGE_FAULT" ? ` exit=PAGE_FAULT ${hex(o.physAddr)} attempt=${o.attempt as number} resume=FAULT`
      : o.exit === "none" ? ` (${String(o.state)})` : "";
    const who = ev.vm !== undefined ? ` vm=${hex(ev.vm)}` : "";
    const vcpu = ev.op === "VCPU_RUN" ? ` vcpu=${ev.vcpu as number}` : "";
    const halt = o.halt === undefined ? "" : ` [RM vCPU halt ${String(o.state)}: ${String(o.halt)}${o.exit === "STATUS" ? "" : " (VM cannot exit)"}${notes(o.rmNotify)}]`;
    return `GH_${String(ev.op)}${ev.fd === undefined ? "" : ` fd=${ev.fd as number}`}${who}${vcpu} -> ${o.ret as number}${exit}${rm.length > 0 ? ` [RM: ${rm.join(", ")}]` : ""}${halt}`;
  },
  vmm_load_image(ev, o) {
    // The image's bytes are in the event; the log names their size and digest, not the bytes.
    const image = ev.image as Uint8Array;
    const digest = createHash("sha256").update(image).digest("hex").slice(0, 16);
    const at = `0x${Number(ev.guestPhysAddr).toString(16)}`;
    return `crosvm fd=${ev.fd} copies ${image.length} bytes (sha256 ${digest}) to GPA ${at} -> ${o.ret === 0 ? "0" : `${o.ret} (not in a registered region)`}`;
  },
  vmm_add_device(ev, o) {
    return `fd=${ev.fd as number} virtio-mmio device ${o.device as number} (id ${ev.deviceId as number}) at ${hex(ev.base)} irq ${ev.irq as number}`;
  },
  vmm_mmio(ev, o) {
    const dir = o.write === true ? `write ${hex(o.value)}` : `read -> ${hex(o.value)}`;
    const irq = o.irq === null || o.irq === undefined ? "" : ` irqfd -> doorbell -> vm${hex((o.irq as { vm: number }).vm)} SPI ${(o.irq as { spi: number }).spi}${o.pending === true ? " pending" : ""}`;
    const note = typeof o.note === "string" && o.note !== "" ? ` (${o.note})` : "";
    return `crosvm vm${hex(ev.vm)}/vcpu${ev.vcpu as number} ${String(o.exit)} ${hex(o.ipa)} ${String(o.reg || "?")} ${dir}${irq}${note}`;
  },
  vm_mem_write(ev, o) {
    return `vm${hex(ev.vm)} stores ${(ev.data as Uint8Array).length} bytes at IPA ${hex(ev.ipa)} (PA ${hex(o.pa)})`;
  },
  smmu_bind(ev) {
    return `stream ${ev.stream as number} -> vm${hex(ev.vm)}`;
  },
  smmu_txn(ev, o) {
    const r = o.result === "ok" ? `OK pa=${hex(o.pa)}` : `FAULT (${String(o.reason)})`;
    return `stream ${ev.stream as number} ${String(ev.access)} ${ev.sizeBytes as number}B at IOVA ${hex(ev.iova)}: ${r}`;
  },
};
