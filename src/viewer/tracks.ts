import { HYP_PID, vmPid, type ChromeEvent } from "../export/perfetto.ts";
import type { EventPlace } from "../export/timeline.ts";

/**
 * The timeline's tracks, named and keyed as the Perfetto export lays them out (src/export/perfetto.ts):
 * process 1 "hypervisor" with the machine-wide row and one track per physical CPU, and one process
 * per VM with its VM-wide row and one track per vCPU. Tracks are learnt as the trace is read (a
 * VM created late brings its tracks then); the list only grows, so the page's rows never jump.
 */
export type TrackKind = "machine" | "cpu" | "vm" | "vcpu";

export interface Track {
  readonly id: string;
  readonly kind: TrackKind;
  readonly label: string;
  /** The process it belongs to, as Perfetto names it: "hypervisor", "VM 3", "VM 255 (RM)". */
  readonly group: string;
  readonly vm: number | null;
  readonly cpu: number | null;
  readonly vcpu: number | null;
}

const RM_VMID = 255;
const vmGroup = (vm: number): string => (vm === RM_VMID ? `VM ${vm} (RM)` : `VM ${vm}`);

/** The Perfetto (pid, tid) of an event's own track: the rule of PerfettoBuilder's trackOf. */
export function placeTrack(place: EventPlace): [number, number] {
  if (place.vm !== null) return [vmPid(place.vm), place.vcpu === null ? 0 : place.vcpu + 1];
  if (place.cpu !== null) return [HYP_PID, place.cpu + 1];
  return [HYP_PID, 0];
}

export function trackOf(pid: number, tid: number): Track {
  if (pid === HYP_PID) {
    if (tid === 0) return { id: "machine", kind: "machine", label: "machine events", group: "hypervisor", vm: null, cpu: null, vcpu: null };
    return { id: `cpu:${tid - 1}`, kind: "cpu", label: `pCPU ${tid - 1}`, group: "hypervisor", vm: null, cpu: tid - 1, vcpu: null };
  }
  const vm = pid - vmPid(0);
  if (tid === 0) return { id: `vm:${vm}`, kind: "vm", label: "VM events", group: vmGroup(vm), vm, cpu: null, vcpu: null };
  return { id: `vcpu:${vm}:${tid - 1}`, kind: "vcpu", label: `vCPU ${tid - 1}`, group: vmGroup(vm), vm, cpu: null, vcpu: tid - 1 };
}

const KIND_ORDER: Readonly<Record<TrackKind, number>> = { machine: 0, cpu: 1, vm: 0, vcpu: 1 };

/** Hypervisor first, then VMs by VMID; within each, the process-wide row, then CPUs or vCPUs by number. */
function compareTracks(a: Track, b: Track): number {
  const ga = a.vm ?? -1;
  const gb = b.vm ?? -1;
  if (ga !== gb) return ga - gb;
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  return (a.cpu ?? a.vcpu ?? 0) - (b.cpu ?? b.vcpu ?? 0);
}

export class TrackRegistry {
  private readonly byId = new Map<string, Track>();
  private sorted: Track[] | null = [];

  /** The track of a Perfetto (pid, tid), learnt if new. */
  learn(pid: number, tid: number): Track {
    const t = trackOf(pid, tid);
    const known = this.byId.get(t.id);
    if (known !== undefined) return known;
    this.byId.set(t.id, t);
    this.sorted = null;
    return t;
  }

  /** Learns the tracks a Perfetto builder names or draws on (thread names and slices). */
  learnFrom(e: ChromeEvent): void {
    if ((e.ph === "M" && e.name === "thread_name") || e.ph === "X") this.learn(e.pid, e.tid);
  }

  list(): readonly Track[] {
    if (this.sorted === null) this.sorted = [...this.byId.values()].sort(compareTracks);
    return this.sorted;
  }
}

/** Interned slice names ("running", "WFI", "vm3/vcpu1"): a slice is three numbers. */
export class Names {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  id(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

/**
 * Slices per track in event-index space, as flat [start, end, name] triples in start order (the
 * order a Perfetto builder closes them in: slices on one track never overlap).
 */
export class SliceStore {
  private readonly byTrack = new Map<string, number[]>();

  constructor(readonly names: Names) {}

  /** Takes a builder's "X" slice (its ts and dur are event indices here: see `sampleEvent`). */
  add(trackId: string, e: ChromeEvent): void {
    let list = this.byTrack.get(trackId);
    if (list === undefined) this.byTrack.set(trackId, (list = []));
    const start = e.ts!;
    list.push(start, start + e.dur!, this.names.id(e.name));
  }

  /**
   * Slices overlapping [from, to] reduced to what `width` pixels can show: a slice that ends in
   * the pixel column the previous kept slice ended in is dropped, so a track yields at most about
   * `width` slices however many events the range spans.
   */
  query(trackId: string, from: number, to: number, width: number): number[] {
    const list = this.byTrack.get(trackId);
    if (list === undefined) return [];
    const n = list.length / 3;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid * 3 + 1]! <= from) lo = mid + 1;
      else hi = mid;
    }
    const out: number[] = [];
    const scale = width / Math.max(1, to - from + 1);
    let lastPx = -1;
    for (let k = lo; k < n && list[k * 3]! <= to; k++) {
      const px = Math.floor((list[k * 3 + 1]! - from) * scale);
      if (px <= lastPx && out.length > 0) continue;
      lastPx = px;
      out.push(list[k * 3]!, list[k * 3 + 1]!, list[k * 3 + 2]!);
    }
    return out;
  }

  tracks(): IterableIterator<string> {
    return this.byTrack.keys();
  }
}
