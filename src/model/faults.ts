/**
 * Named model defects: deliberate bugs a scenario switches on through `MachineConfig.faults`
 * (stored in the trace header, so a replay applies the same defects). Each reproduces a classic
 * isolation bug at the exact spot the real bug would live; the model asks `defectOn(s, name)`
 * there. With no defect switched on the model behaves as Gunyah/pvmfw do.
 *
 * src/sim/faults.ts lists the same names for scenario validation (KNOWN_FAULTS); the built-in
 * scenario `bug-<name>` shows each one caught by an invariant (docs/protected-vms.md).
 */

export const MODEL_DEFECTS = {
  "reclaim-without-sanitise":
    "MEM_RECLAIM returns lent pages to their owner without zeroing them, even when the parcel is marked for sanitising (a protected VM's data leaks to the host).",
  "host-s2-kept-after-lend":
    "MEM_LEND/MEM_DONATE forget to remove the owner's stage-2 mapping: the host keeps reaching memory it gave a protected VM.",
  "smmu-map-kept-after-reclaim":
    "Releasing a VM's memory (VM reset, MEM_RELEASE) does not refresh the SMMU contexts of that VM's streams: a device keeps a mapping of memory that goes back to the host.",
  "rollback-check-skipped":
    "pvmfw skips its anti-rollback check: a payload signed with an older rollback index boots.",
  "virq-wrong-vm":
    "The VMM's irqfd raises a device interrupt in the wrong VM (the host instead of the guest the device serves).",
  "demand-page-kept-in-host":
    "Providing a demand-paged page to a protected VM (guest_memfd lend binding) leaves it mapped in the host's stage-2: the host still reaches a page the pVM now owns.",
} as const;

export type ModelDefect = keyof typeof MODEL_DEFECTS;

export const MODEL_DEFECT_NAMES = Object.keys(MODEL_DEFECTS) as ModelDefect[];

/**
 * Is the named defect switched on for this machine? Takes any slice view of the machine (the RM's
 * handlers see `VmRoomsState`, which at run time is the whole Machine with its `config`).
 * Cheap: `faults` is absent or a few names.
 */
export function defectOn(s: object, name: ModelDefect): boolean {
  const f = (s as { config?: { faults?: readonly string[] } }).config?.faults;
  return f !== undefined && f.includes(name);
}
