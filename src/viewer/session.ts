import { basename } from "node:path";
import { die } from "../core/errors.ts";
import type { EventBase } from "../core/event.ts";
import type { Invariant } from "../core/invariants.ts";
import { describeEvent, formatNs } from "../export/describe.ts";
import { toJsonValue } from "../core/json.ts";
import { EVENT_KINDS } from "../model/events.ts";
import type { Machine } from "../model/machine.ts";
import { allInvariants } from "../sim/check.ts";
import { diffStates, withoutEnvelope, type Change } from "../timetravel/diff.ts";
import { seekerForTrace } from "../timetravel/open.ts";
import { brief, formatPath, parsePath } from "../timetravel/paths.ts";
import type { Seeker } from "../timetravel/seeker.ts";
import type { TraceReader } from "../trace/reader.ts";
import { CPU_VIEWS, type CpuSnapshot, type CpuView } from "./cpu-view.ts";
import { Scan, type ScanStatus } from "./scan.ts";
import { TimelineRecorder, timelineView, type TimelineView } from "./timeline.ts";
import { Names, TrackRegistry } from "./tracks.ts";
import { ancestorsOf, treeNode, type TreeNode } from "./tree.ts";

export interface ViewerOptions {
  /** Events between the seek engine's in-memory checkpoints (it doubles them when its cache fills). */
  readonly interval?: number;
  /** Bound on in-memory checkpoints: with `interval`, what bounds the server's memory. */
  readonly maxCheckpoints?: number;
  /** Vcpu panel providers (default: this build's, `CPU_VIEWS`). */
  readonly cpuViews?: readonly CpuView[];
  /** Invariants for the panel (default: every model invariant, as `hvsim check` runs them). */
  readonly invariants?: readonly Invariant<Machine>[];
}

/** A range shorter than this is drawn from every event, on demand; longer ones from the overview. */
export const EXACT_EVENTS_MAX = 8192;
/** The overview samples run states at most this many times over the whole trace. */
const OVERVIEW_SAMPLES = 8192;
/** Rows a filtered event query reads at most in each direction before it says where it stopped. */
const FILTER_SCAN_MAX = 200_000;
/** Changed paths the page opens the tree to; an event that rewrites a whole VM marks the rest without opening them. */
const AUTO_OPEN = 12;
/** Recent states kept whole, so the requests one position makes (tree, change, invariants) seek once. */
const STATE_CACHE = 8;

export interface EventRow {
  readonly seq: number;
  readonly kind: string;
  /** The line `hvsim log` prints for it. */
  readonly line: string;
}

export interface EventFilter {
  readonly kind?: string;
  readonly vm?: number;
}

export interface EventWindow {
  readonly rows: readonly EventRow[];
  /** No matching event before the first row / after the last. */
  readonly startReached: boolean;
  readonly endReached: boolean;
  /** The indices the query read: a filtered query stops after FILTER_SCAN_MAX events each way. */
  readonly scanned: readonly [number, number];
}

export interface ChangeView {
  readonly at: number;
  readonly event: unknown;
  readonly outcome: unknown;
  readonly line: string | null;
  readonly t: number;
  /** `t` as the log prints it. */
  readonly time: string;
  readonly changes: readonly DisplayChange[];
  readonly truncated: boolean;
  /** Paths with a changed path below them (the page marks them so a collapsed tree shows where to look). */
  readonly ancestors: readonly string[];
  /** The ancestors of the first few changed paths: what the page opens so they are in view. */
  readonly open: readonly string[];
}

export interface DisplayChange {
  readonly path: string;
  readonly before: string;
  readonly after: string;
}

/** Two byte arrays (page contents, disk sectors) differ somewhere: show the bytes from the first difference. */
function bytesAt(b: Uint8Array, other: Uint8Array): string {
  let i = 0;
  while (i < b.length && i < other.length && b[i] === other[i]) i++;
  const hex = Buffer.from(b.subarray(i, i + 8)).toString("hex").replace(/(..)(?!$)/g, "$1 ");
  return `<${b.length} bytes> at 0x${i.toString(16)}: ${hex}${i + 8 < b.length ? " …" : ""}`;
}

const shown = (v: unknown, other: unknown): string =>
  v instanceof Uint8Array ? bytesAt(v, other instanceof Uint8Array ? other : new Uint8Array(0)) : brief(v, 300);

const display = (changes: readonly Change[]): DisplayChange[] =>
  changes.map((c) => ({ path: formatPath(c.path), before: shown(c.before, c.after), after: shown(c.after, c.before) }));

const matches = (ev: EventBase, f: EventFilter): boolean =>
  (f.kind === undefined || ev.kind === f.kind) && (f.vm === undefined || (ev as unknown as { vm?: unknown }).vm === f.vm);

/**
 * Everything the viewer's API answers, over one trace: a view of the seek engine's answers with no
 * HTTP in it (the server parses requests, this computes replies) and no rendering (the page draws).
 */
export class ViewerSession {
  readonly seeker: Seeker<Machine>;
  readonly scan: Scan;
  readonly name: string;
  private readonly names = new Names();
  private readonly tracks = new TrackRegistry();
  private readonly overview: TimelineRecorder;
  private readonly states = new Map<number, Machine>();
  private readonly invariants: readonly Invariant<Machine>[];
  private readonly cpuViews: readonly CpuView[];
  private readonly exactCache = new Map<string, TimelineView>();

  constructor(
    readonly reader: TraceReader,
    options: ViewerOptions = {},
  ) {
    this.name = basename(reader.source.name);
    this.seeker = seekerForTrace(reader, {
      verifyOutcomes: true,
      interval: options.interval ?? 1024,
      maxCheckpoints: options.maxCheckpoints ?? 256,
    });
    this.invariants = options.invariants ?? allInvariants();
    this.cpuViews = options.cpuViews ?? CPU_VIEWS;
    const resolution = Math.max(1, 2 ** Math.ceil(Math.log2(Math.max(1, this.seeker.count / OVERVIEW_SAMPLES))));
    this.overview = new TimelineRecorder(this.tracks, this.names, resolution);
    this.scan = new Scan(this.seeker, this.overview, resolution, this.invariants);
  }

  get count(): number {
    return this.seeker.count;
  }

  summary(): Record<string, unknown> {
    const h = this.reader.header;
    const footer = this.reader.footer();
    const damage = this.seeker.store.damage;
    const d = this.divergence();
    return {
      name: this.name,
      scenario: h.scenario.name,
      seed: h.seed,
      modelVersion: h.modelVersion,
      generator: h.generator,
      events: this.count,
      countsByKind: footer?.countsByKind ?? null,
      kinds: EVENT_KINDS,
      damage: damage === null ? null : { offset: damage.offset, block: damage.block, message: damage.message },
      divergence: d === null ? null : { seq: d.seq, kind: d.kind },
      invariants: this.invariants.length,
      cpuViews: this.cpuViews.length,
      vms: [...new Set(this.tracks.list().flatMap((t) => (t.vm === null ? [] : [t.vm])))],
      scan: this.scan.status(),
    };
  }

  /** The earliest divergence known: from the background scan (every event) or a seek that saw one first. */
  private divergence(): { seq: number; kind: string } | null {
    const a = this.scan.status().divergence;
    const b = this.seeker.divergence;
    return a === null || (b !== null && b.seq < a.seq) ? b : a;
  }

  scanStatus(): ScanStatus {
    return this.scan.status();
  }

  /** The state after event n, from a small cache of recent positions, else from the seek engine. */
  stateAt(n: number): Machine {
    this.checkIndex(n);
    const hit = this.states.get(n);
    if (hit !== undefined) {
      this.states.delete(n);
      this.states.set(n, hit);
      return hit;
    }
    const prev = this.states.get(n - 1);
    const state = prev !== undefined && n >= 0 ? this.seeker.changeAt(n, 0, prev).after : this.seeker.stateAt(n);
    this.remember(n, state);
    return state;
  }

  /** The event at `at` if it matches, `before` matching events before it and `after` after it. */
  events(at: number, before: number, after: number, filter: EventFilter): EventWindow {
    this.checkIndex(at);
    const store = this.seeker.store;
    const row = (i: number): EventRow => {
      const ev = store.event(i);
      return { seq: i, kind: ev.kind, line: describeEvent(ev, store.outcome(i)) };
    };
    const earlier: EventRow[] = [];
    const floor = Math.max(0, at - FILTER_SCAN_MAX);
    let i = at - 1;
    for (; i >= floor && earlier.length < before; i--) if (matches(store.event(i), filter)) earlier.push(row(i));
    const lo = i + 1;
    const later: EventRow[] = [];
    const ceiling = Math.min(this.count - 1, at + FILTER_SCAN_MAX);
    let j = at + 1;
    for (; j <= ceiling && later.length < after; j++) if (matches(store.event(j), filter)) later.push(row(j));
    const hi = j - 1;
    const here = at >= 0 && matches(store.event(at), filter) ? [row(at)] : [];
    return {
      rows: [...earlier.reverse(), ...here, ...later],
      startReached: lo <= 0,
      endReached: hi >= this.count - 1,
      scanned: [Math.min(lo, Math.max(at, 0)), Math.max(hi, at)],
    };
  }

  node(at: number, path: string, offset: number, limit: number): TreeNode {
    return treeNode(this.stateAt(at), parsePath(path), offset, limit);
  }

  /** The event at `at`, its outcome, and the state paths it changed (recomputed on the pure path). */
  change(at: number, limit = 500): ChangeView {
    this.checkIndex(at);
    if (at === -1) return { at, event: null, outcome: null, line: null, t: 0, time: formatNs(0), changes: [], truncated: false, ancestors: [], open: [] };
    const c = this.seeker.changeAt(at, limit, this.stateAt(at - 1));
    if (!this.states.has(at)) this.remember(at, c.after);
    const changes = withoutEnvelope(c.diff.changes);
    return {
      at,
      event: toJsonValue(c.event),
      outcome: toJsonValue(this.seeker.store.outcome(at)),
      line: describeEvent(c.event, this.seeker.store.outcome(at)),
      t: c.event.t,
      time: formatNs(c.event.t),
      changes: display(changes),
      truncated: c.diff.truncated,
      ancestors: ancestorsOf(changes.map((ch) => ch.path)),
      open: ancestorsOf(changes.slice(0, AUTO_OPEN).map((ch) => ch.path)),
    };
  }

  diff(a: number, b: number, limit: number): { a: number; b: number; changes: DisplayChange[]; truncated: boolean } {
    const d = diffStates(this.stateAt(a), this.stateAt(b), limit);
    return { a, b, changes: display(withoutEnvelope(d.changes)), truncated: d.truncated };
  }

  /** Each invariant on the state after `at`, and the background check's first violation so far. */
  invariantsAt(at: number): Record<string, unknown> {
    const state = this.stateAt(at);
    const list = this.invariants.map((inv) => {
      const v = inv.check(state);
      return { name: inv.name, description: inv.description, holds: v === null, ...(v === null ? {} : { violation: toJsonValue(v) }) };
    });
    return { at, invariants: list, scan: this.scan.status() };
  }

  timeline(from: number, to: number, width: number): TimelineView {
    this.checkIndex(from);
    this.checkIndex(to);
    if (to < from) die("ARGUMENT_INVALID", `timeline range ${from}..${to} is empty (to must be >= from)`);
    const status = this.scan.status();
    if (to - from + 1 > EXACT_EVENTS_MAX || (this.scan.resolution === 1 && status.overviewTo >= to)) {
      return timelineView(this.overview, this.names, from, to, width, this.scan.resolution, status.overviewTo);
    }
    return this.exactTimeline(Math.max(0, from), to, width);
  }

  /** Registers and disassembly at the PC for one vCPU, when a provider recognises the state. */
  cpu(at: number, vm: number, vcpu: number): { available: false } | ({ available: true } & CpuSnapshot) {
    const state = this.stateAt(at);
    for (const view of this.cpuViews) {
      const snap = view(state, vm, vcpu);
      if (snap !== null) return { available: true, ...snap };
    }
    return { available: false };
  }

  /** A short range drawn from every event (run states sampled at most once per pixel). */
  private exactTimeline(from: number, to: number, width: number): TimelineView {
    const key = `${from}:${to}:${width}`;
    const cached = this.exactCache.get(key);
    if (cached !== undefined) return cached;
    const rec = new TimelineRecorder(this.tracks, this.names, 1);
    const stride = Math.max(1, Math.ceil((to - from + 1) / width));
    const store = this.seeker.store;
    if (from === 0) rec.start(this.seeker.genesis);
    this.seeker.walk(
      from,
      to,
      (i, state, ev) => {
        rec.event(i, ev, store.outcome(i));
        if ((i - from) % stride === 0 || i === to) rec.sample(i, state);
        return false;
      },
      (state) => rec.finish(to + 1, state),
    );
    const view = timelineView(rec, this.names, from, to, width, stride, to);
    if (this.exactCache.size >= 16) this.exactCache.delete(this.exactCache.keys().next().value!);
    this.exactCache.set(key, view);
    return view;
  }

  private remember(n: number, state: Machine): void {
    this.states.set(n, state);
    if (this.states.size > STATE_CACHE) this.states.delete(this.states.keys().next().value!);
  }

  private checkIndex(n: number): void {
    if (!(Number.isInteger(n) && n >= -1 && n < this.count)) {
      die("ARGUMENT_INVALID", `event index ${n} is out of range: this trace has events 0..${this.count - 1} (-1 is genesis)`);
    }
  }
}
