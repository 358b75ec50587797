/**
 * The fields each event kind's handler reads, and their types, as a table a trace reader checks
 * every decoded event against (src/trace/schema.ts): an event edited by hand with a field of the
 * wrong type (`call: null`, `args: "zz"`) is a named trace error where it is read, never a crash in
 * a handler or a describer. The types are those of the event interfaces in each room's events.ts;
 * test/trace-integrity.test.ts checks that every event the simulator records passes. Fields not
 * listed are left alone (the handler ignores them), and a kind not listed is left to the model.
 */

/**
 * nat: a safe integer >= 0; u64: a bigint register value; u64s: a list of them; bytes: a byte
 * array; ranges: a list of {addr, size} (host pages behind a memory region).
 */
type FieldType = "nat" | "u64" | "u64s" | "bytes" | "text" | "bool" | "ranges";
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
  rm_service: { vm: "nat" },
  rm_vm_halt: { ...vcpuOf, cause: "text" },
  smmu_bind: { stream: "nat", vm: "nat" },
  smmu_txn: { stream: "nat", iova: "nat", access: "text", sizeBytes: "nat" },
  vmm_ioctl: {
    op: "text", fd: "nat?", label: "nat?", flags: "nat?", guestPhysAddr: "nat?", memorySize: "nat?", userspaceAddr: "nat?",
    size: "nat?", dtb: "bytes?", id: "nat?", level: "bool?", addr: "nat?", len: "nat?", vm: "nat?", vcpu: "nat?", backing: "ranges?",
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
/** More pieces than a 4 GiB region has pages is no mapping pin_user_pages could give. */
const RANGES_MAX = 1 << 20;
const isNat = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
const isRange = (r: unknown): boolean => typeof r === "object" && r !== null && isNat((r as { addr?: unknown }).addr) && isNat((r as { size?: unknown }).size);
const isU64 = (v: unknown): boolean => typeof v === "bigint" && v >= -(1n << 63n) && v < U64_LIMIT;

function fits(t: FieldType, v: unknown): boolean {
  switch (t) {
    case "nat":
      return isNat(v);
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
    case "ranges":
      return Array.isArray(v) && v.length <= RANGES_MAX && v.every(isRange);
  }
}

const WHAT: Record<FieldType, string> = {
  nat: "a non-negative integer",
  u64: "a 64-bit register value",
  u64s: "a list of at most 32 register values",
  bytes: "bytes",
  text: "a name",
  bool: "true or false",
  ranges: "a list of {addr, size} page ranges",
};

interface CompiledField {
  readonly name: string;
  readonly type: FieldType;
  readonly optional: boolean;
  /** Its type's check says nothing of what the value holds inside (page ranges are objects). */
  readonly opaque: boolean;
}

/** The table by kind, then by field name, with how many fields are required (this runs on every event read). */
const COMPILED = new Map(
  Object.entries(EVENT_FIELDS).map(([kind, fields]) => {
    const byName = new Map<string, CompiledField>();
    for (const [name, spec] of Object.entries(fields)) {
      const type = spec.replace("?", "") as FieldType;
      byName.set(name, { name, type, optional: spec.endsWith("?"), opaque: type === "ranges" });
    }
    return [kind, { byName, required: [...byName.values()].filter((f) => !f.optional).length }];
  }),
);

const noProblem = (): null => null;

/**
 * Null when the event's fields have the types its kind's handler reads; else `field: expected ...`.
 * One pass over the fields the event has: a field of the kind's table is checked against its type,
 * and any other field (and a page range's insides) goes to `other`, which the trace reader passes
 * its plain-data check as (`field` then the problem it returns: `args[2]: ...`, `x.y: ...`), so a
 * decoded event is walked once.
 */
export function eventFieldsProblem(ev: Readonly<Record<string, unknown>>, other: (v: unknown) => string | null = noProblem): string | null {
  const table = COMPILED.get(ev.kind as string);
  let required = 0;
  for (const k in ev) {
    const v = ev[k];
    const f = table?.byName.get(k);
    if (f !== undefined && v !== undefined) {
      if (!fits(f.type, v)) return expectedField(ev, f);
      if (!f.optional) required += 1;
      if (!f.opaque) continue;
    }
    const p = other(v);
    if (p !== null) return `${k}${p}`;
  }
  if (table !== undefined && required !== table.required) {
    for (const f of table.byName.values()) if (!f.optional && ev[f.name] === undefined) return expectedField(ev, f);
  }
  return null;
}

const expectedField = (ev: Readonly<Record<string, unknown>>, f: CompiledField): string => `${f.name}: expected ${WHAT[f.type]} (a ${ev.kind as string} event's ${f.name})`;
