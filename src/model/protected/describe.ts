/**
 * One-line descriptions of the protected room's events for `hvsim log` (spread into `describers` of
 * src/export/describe.ts). A payload load names its size and verdict, never its bytes.
 */
type Ev = { readonly [key: string]: unknown };
type Out = { readonly [key: string]: unknown };
const hex = (v: unknown): string => (typeof v === "number" || typeof v === "bigint" ? `0x${v.toString(16)}` : String(v));

export const protectedDescribers: Record<string, (ev: Ev, outcome: Out) => string> = {
  pvm_load_image(ev, o) {
    const img = ev.image as Uint8Array;
    const ri = o.rollbackIndex === null || o.rollbackIndex === undefined ? "" : `, rollback index ${String(o.rollbackIndex)}`;
    return `VMM copies a ${img.length}-byte payload for vm${hex(ev.vm)} to GPA ${hex(ev.gpa)} (instance ${String(ev.instanceId)}): AVB ${String(o.avb)}${ri}, sha256 ${String(o.sha256).slice(0, 16)}…`;
  },
  pvmfw_boot(ev, o) {
    const who = `vm${hex(ev.vm)}/vcpu${String(ev.vcpu)} pvmfw`;
    if (o.result === "payload") return `${who}: payload verified (rollback index ${String(o.rollbackIndex)}, stored ${String(o.stored)}), DICE handover at IPA ${hex(o.handoverIpa)}, jump to ${hex(o.entry)}`;
    return `${who}: REFUSED ${String(o.uart)} (${String(o.avb)}: ${String(o.detail)}) -> PSCI SYSTEM_RESET2`;
  },
  host_read(ev, o) {
    const at = `host reads ${String(ev.sizeBytes)}B at IPA ${hex(ev.ipa)}`;
    return o.result === "ok" ? `${at} -> PA ${hex(o.pa)} holding ${String(o.label)}` : `${at} -> ${String(o.fault)} fault, abort injected`;
  },
  pv_time(ev, o) {
    const hyp = o.hypStolenNs === undefined || o.hypStolenNs === o.stolenNs ? "" : ` (hypervisor counts ${String(o.hypStolenNs)} ns)`;
    return `vm${hex(ev.vm)}/vcpu${String(ev.vcpu)} PV time: guest reads stolen ${String(o.stolenNs)} ns at IPA ${hex(o.ipa)}${hyp}`;
  },
};
