/**
 * Extraction points for timeline exports (Perfetto): small functions that read OPTIONAL state and
 * event fields, so an export works on any state and shows more as the model grows. Each says what
 * it looks for; a state without those fields simply yields nothing (the export falls back to
 * per-(vm, vcpu) instant events).
 */

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const int = (v: unknown): number | null => (typeof v === "number" && Number.isSafeInteger(v) ? v : typeof v === "bigint" ? Number(v) : null);

/** Where an event belongs, from its own fields: `vm` + `vcpu` (a vCPU), `vm` alone, `cpu` (a physical CPU). */
export interface EventPlace {
  readonly vm: number | null;
  readonly vcpu: number | null;
  readonly cpu: number | null;
}

export function eventPlace(ev: object): EventPlace {
  const e = ev as Rec;
  return { vm: int(e.vm), vcpu: int(e.vcpu), cpu: int(e.cpu ?? e.pcpu) };
}

/** Physical CPUs: `state.config.platform.cpus`, else the length of `state.sched.cpus`; 0 if neither. */
export function physicalCpus(state: unknown): number {
  const s = state as Rec;
  const fromConfig = isRec(s.config) && isRec(s.config.platform) ? int(s.config.platform.cpus) : null;
  if (fromConfig !== null) return fromConfig;
  return isRec(s.sched) && Array.isArray(s.sched.cpus) ? s.sched.cpus.length : 0;
}

export interface VcpuRun {
  readonly vm: number;
  readonly vcpu: number;
  /** "running" | "runnable" | "WFI" | "blocked" | "off", or the model's own string. */
  readonly state: string;
  /** The physical CPU it runs on when running, else null. */
  readonly cpu: number | null;
  /**
   * Stolen ns of the stretches that ended (`acct.stolenNs`: what the hypervisor stores in the PV-time
   * record at switch-in), or null without accounting. Steps only when a stretch ends, so a vCPU held
   * back for long costs one counter sample, not one per event.
   */
  readonly stolenNs: number | null;
}

/**
 * vCPUs and their run states. Looks for items of collections `{ ids, byId }` at the top level or one
 * level down (e.g. `state.objects`) that have integer `vm` (> 0) and `index` fields and, if they
 * have a `type`, type "thread". The run state comes from, in order: `acct.status` ("run" ->
 * running, "stolen" -> runnable, "idle" -> WFI when `wfi` is true, off when `power` is "OFF", else
 * blocked), then a string `runState` or `status`. The CPU of a running vCPU: the index of
 * `state.sched.cpus[c]` whose `current` is the item's `id`, else its integer `affinity`.
 */
export function vcpuRuns(state: unknown): VcpuRun[] {
  const out: VcpuRun[] = [];
  const running = runningOn(state);
  for (const coll of collections(state)) {
    for (const id of coll.ids) {
      const item = coll.byId[String(id)];
      if (!isRec(item) || (item.type !== undefined && item.type !== "thread")) continue;
      const vm = int(item.vm);
      const vcpu = int(item.index);
      if (vm === null || vcpu === null || vm <= 0) continue;
      const st = runState(item);
      if (st === null) continue;
      const cpu = st === "running" ? (running.get(int(item.id) ?? -1) ?? int(item.affinity)) : null;
      out.push({ vm, vcpu, state: st, cpu, stolenNs: isRec(item.acct) ? int(item.acct.stolenNs) : null });
    }
  }
  return out;
}

function runState(item: Rec): string | null {
  if (item.power === "OFF") return "off";
  const acct = isRec(item.acct) ? item.acct.status : undefined;
  if (acct === "run") return "running";
  if (acct === "stolen") return "runnable";
  if (acct === "idle") return item.wfi === true ? "WFI" : "blocked";
  for (const k of ["runState", "status"]) if (typeof item[k] === "string") return item[k] as string;
  return null;
}

/** `state.sched.cpus[c].current` -> c, for every CPU with a current thread. */
function runningOn(state: unknown): Map<number, number> {
  const m = new Map<number, number>();
  const sched = (state as Rec).sched;
  if (!isRec(sched) || !Array.isArray(sched.cpus)) return m;
  sched.cpus.forEach((c, cpu) => {
    const cur = isRec(c) ? int(c.current) : null;
    if (cur !== null && cur !== 0) m.set(cur, cpu);
  });
  return m;
}

/** Every `{ ids: [], byId: {} }` at depth 1 or 2 of the state. */
function collections(state: unknown): { ids: unknown[]; byId: Rec }[] {
  const out: { ids: unknown[]; byId: Rec }[] = [];
  const visit = (v: unknown, depth: number): void => {
    if (!isRec(v)) return;
    if (Array.isArray(v.ids) && isRec(v.byId)) {
      out.push({ ids: v.ids, byId: v.byId });
      return;
    }
    if (depth < 2) for (const k of Object.keys(v)) visit(v[k], depth + 1);
  };
  if (isRec(state)) for (const k of Object.keys(state)) visit(state[k], 1);
  return out;
}

/**
 * Memory owned, as counter series name -> bytes. Looks for `state.memdb.ranges[*]` with integer
 * `size` and an `owner` (labelled with `ownerType` when present: "PARTITION 3", "EXTENT 7"), and
 * for VM items (a collection's items with `vmid` or `vm` and an integer `ownedBytes`) labelled
 * "vm N". Empty when the state has neither.
 */
export function ownedBytes(state: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  const memdb = (state as Rec).memdb;
  if (isRec(memdb) && Array.isArray(memdb.ranges)) {
    for (const r of memdb.ranges) {
      if (!isRec(r) || int(r.size) === null || r.owner === undefined) continue;
      const label = typeof r.ownerType === "string" ? `${r.ownerType} ${String(r.owner)}` : `owner ${String(r.owner)}`;
      out[label] = (out[label] ?? 0) + int(r.size)!;
    }
  }
  for (const coll of collections(state)) {
    for (const id of coll.ids) {
      const item = coll.byId[String(id)];
      if (!isRec(item) || int(item.ownedBytes) === null) continue;
      out[`vm ${String(item.vmid ?? item.vm ?? id)}`] = int(item.ownedBytes)!;
    }
  }
  return out;
}
