/**
 * The fields each event kind's handler reads, and their types, as a table a trace reader checks
 * every decoded event against (src/trace/schema.ts): an event edited by hand with a field of the
 * wrong type (`call: null`, `args: "zz"`) is a named trace error where it is read, never a crash in
 * a handler or a describer. The types are those of the event interfaces in each room's events.ts;
 * test/trace-integrity.test.ts checks that every event the simulator records passes. Fields not
 * listed are left alone (the handler ignores them), and a kind not listed is left to the model.
 */

/** nat: a safe integer >= 0; u64: a bigint register value; u64s: a list of them; bytes: a byte array. */
type FieldType = "nat" | "u64" | "u64s" | "bytes" | "text" | "bool";
type Field = FieldType | `${FieldType}?`;

const vcpuOf = { vm: "nat", vcpu: "nat" } as const;

export const EVENT_FIELDS: Readonly<Record<string, Readonly<Record<string, Field>>>> = {
  hypercall: { ...vcpuOf, call: "nat", args: "u64s", data: "bytes?" },
  smccc_call: { ...vcpuOf, conduit: "text", args: "u64s", data: "bytes?" },
  /** The budget's range (1..EXEC_BUDGET_MAX) is the handler's to check: it is a trace error there. */
  vcpu_exec: { ...vcpuOf, budget: "nat" },
  timer_tick: {},
  stage2_fault: { ...vcpuOf, ipa: "nat", access: "text", sizeBytes: "nat", value: "u64?", reg: "nat?", fsc: "text?" },
  guest_access: { ...vcpuOf, ipa: "nat", access: "text", sizeBytes: "nat" },
  vcpu_wfi: vcpuOf,
  sysreg_write: { ...vcpuOf, reg: "text", value: "u64" },
  irq: { hwirq: "nat" },
  virq_ack: vcpuOf,
  virq_eoi: { ...vcpuOf, virq: "nat" },
  rm_request: { vm: "nat", msgId: "nat", rpcSeq: "nat", payload: "bytes" },
  rm_vm_halt: { ...vcpuOf, cause: "text" },
  smmu_bind: { stream: "nat", vm: "nat" },
  smmu_txn: { stream: "nat", iova: "nat", access: "text", sizeBytes: "nat" },
  vmm_ioctl: {
    op: "text", fd: "nat?", label: "nat?", flags: "nat?", guestPhysAddr: "nat?", memorySize: "nat?", userspaceAddr: "nat?",
    size: "nat?", dtb: "bytes?", id: "nat?", level: "bool?", addr: "nat?", len: "nat?", vm: "nat?", vcpu: "nat?",
  },
  vmm_load_image: { fd: "nat", guestPhysAddr: "nat", image: "bytes" },
  vmm_add_device: { fd: "nat", base: "nat", deviceId: "nat", irq: "nat", capacitySectors: "nat" },
  vmm_mmio: vcpuOf,
  vm_mem_write: { vm: "nat", ipa: "nat", data: "bytes" },
  pvm_load_image: { vm: "nat", gpa: "nat", image: "bytes", instanceId: "text" },
  pvmfw_boot: vcpuOf,
  host_read: { ipa: "nat", sizeBytes: "nat" },
  pv_time: vcpuOf,
};

const U64_LIMIT = 1n << 64n;
const isU64 = (v: unknown): boolean => typeof v === "bigint" && v >= -(1n << 63n) && v < U64_LIMIT;

function fits(t: FieldType, v: unknown): boolean {
  switch (t) {
    case "nat":
      return Number.isSafeInteger(v) && (v as number) >= 0;
    case "u64":
      return isU64(v);
    case "u64s":
      return Array.isArray(v) && v.length <= 32 && v.every(isU64);
    case "bytes":
      return v instanceof Uint8Array;
    case "text":
      return typeof v === "string" && v.length <= 256;
    case "bool":
      return typeof v === "boolean";
  }
}

const WHAT: Record<FieldType, string> = {
  nat: "a non-negative integer",
  u64: "a 64-bit register value",
  u64s: "a list of at most 32 register values",
  bytes: "bytes",
  text: "a name",
  bool: "true or false",
};

/** The table as lists to walk per event (this runs on every event read). */
const COMPILED = new Map(
  Object.entries(EVENT_FIELDS).map(([kind, fields]) => [
    kind,
    Object.entries(fields).map(([name, spec]) => ({ name, type: spec.replace("?", "") as FieldType, optional: spec.endsWith("?") })),
  ]),
);

/** Null when the event's fields have the types its kind's handler reads; else `field: expected ...`. */
export function eventFieldsProblem(ev: Readonly<Record<string, unknown>>): string | null {
  const fields = COMPILED.get(ev.kind as string);
  if (fields === undefined) return null;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    const v = ev[f.name];
    if (v === undefined ? !f.optional : !fits(f.type, v)) return `${f.name}: expected ${WHAT[f.type]} (a ${ev.kind as string} event's ${f.name})`;
  }
  return null;
}
