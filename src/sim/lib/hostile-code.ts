/**
 * Hostile guest code: a secondary VM whose image is seeded random instruction words, for the claim
 * that no guest program can make the model throw, fault outside the architecture or Gunyah's error
 * codes, or break isolation (issue 12). The image is raw bytes at the image region's base:
 *   +0x0000  b prologue
 *   +0x0800  VBAR_EL1: 16 vectors, each "ELR += 4, eret", sending ELR back into the random body when
 *            it left the VM's 2 MiB image (so a wild branch or a fault outside costs one exception,
 *            not a walk through unmapped space), so the code keeps running after what it takes
 *   +0x1000  prologue: VBAR_EL1, then X0..X30 seeded (small numbers, capability IDs, addresses in
 *            the image, the device and GIC windows, or any 64 bits)
 *   then     the body: random words, one in eight replaced by something random words rarely are
 *            (an HVC into Gunyah's table or SMCCC with a PSCI/Gunyah function ID, SMC, a random
 *            HVC immediate, an ICC_* or CNTV_* access, an IRQ unmask, a load or store in the
 *            virtio-mmio or GIC window, WFI), and a branch back to its start at the end.
 * The seed picks everything, so a failing seed is its own repro.
 */
import { createHash } from "node:crypto";
import { DEFAULT_PLATFORM } from "../../model/machine.ts";
import type { Scenario } from "../scenario.ts";
import { hvErrorName } from "../../model/abi/errors.ts";
import { record } from "../record.ts";
import { TraceReader } from "../../trace/reader.ts";
import { memorySink, memorySource } from "../../trace/source.ts";
import { prng, type Prng } from "../prng.ts";
import { loadImage, runCpuGuest } from "./cpu-guest.ts";
import { hostCollectExit, hostCreate, hostRelease, hostStart, type HostVm } from "./host.ts";
import type { Program } from "./program.ts";
import { scriptDriver } from "./script.ts";
import { DEFAULT_VM_PLAN } from "./vm-plan.ts";

const BASE = DEFAULT_VM_PLAN.image.gpa;
const VECTORS = 0x800;
const PROLOGUE = 0x1000;

const movz = (rd: number, imm: number, hw: number): number => (0xd2800000 | (hw << 21) | ((imm & 0xffff) << 5) | rd) >>> 0;
const movk = (rd: number, imm: number, hw: number): number => (0xf2800000 | (hw << 21) | ((imm & 0xffff) << 5) | rd) >>> 0;
const branch = (from: number, to: number): number => (0x14000000 | (((to - from) >> 2) & 0x3ffffff)) >>> 0;
const sysreg = (read: boolean, op1: number, crn: number, crm: number, op2: number, rt: number): number =>
  (0xd5180000 | (read ? 1 << 21 : 0) | (op1 << 16) | (crn << 12) | (crm << 8) | (op2 << 5) | rt) >>> 0;
const hvc = (imm: number): number => (0xd4000002 | ((imm & 0xffff) << 5)) >>> 0;
const smc = (imm: number): number => (0xd4000003 | ((imm & 0xffff) << 5)) >>> 0;
const WFI = 0xd503207f;
const ERET = 0xd69f03e0;
const ISB = 0xd5033fdf;
const DAIFCLR_IRQ = 0xd50342ff;

/** Sets a register to a 64-bit value (hi, lo as 32-bit halves). */
const mov64 = (rd: number, hi: number, lo: number): number[] => [movz(rd, hi >>> 16, 3), movk(rd, hi, 2), movk(rd, lo >>> 16, 1), movk(rd, lo, 0)];

/**
 * Every vector: ELR_EL1 += 4; if that is outside the image region, ELR_EL1 = the body's start; eret.
 * x29 and x30 are the handler's scratch (the random code loses them, as it loses everything).
 */
function vector(bodyStart: number): number[] {
  return [
    0xd538403e, // mrs x30, elr_el1
    0x910013de, // add x30, x30, #4
    movz(29, BASE >>> 16, 1),
    0xcb1d03dd, // sub x29, x30, x29
    0xd355ffbd, // lsr x29, x29, #21  (non-zero: outside the 2 MiB image)
    0xb400007d, // cbz x29, +12 (to the msr)
    movz(30, (BASE + bodyStart) >>> 16, 1),
    movk(30, BASE + bodyStart, 0),
    0xd518403e, // msr elr_el1, x30
    ERET,
  ];
}

/** PSCI and Gunyah SMCCC function IDs a kernel uses (not SYSTEM_OFF/RESET/CPU_OFF: those end the run at once). */
const SMCCC_IDS = [0x8000_0000, 0x8000_0001, 0x8400_0000, 0x8400_000a, 0xc400_0001, 0xc400_0003, 0xc400_0004, 0x8600_ff01, 0xc600_8000];
/** The vGIC's ICC_ registers (op1 0) and the virtual timer's CNTV_ and counter registers (op1 3). */
const SYSREGS: readonly (readonly [number, number, number, number])[] = [
  [0, 12, 12, 0], [0, 12, 12, 1], [0, 4, 6, 0], [0, 12, 12, 7], [0, 12, 11, 5], [0, 12, 12, 5], [0, 12, 12, 4], [0, 12, 12, 3], [0, 12, 8, 0], [0, 12, 8, 1],
  [3, 14, 3, 0], [3, 14, 3, 1], [3, 14, 3, 2], [3, 14, 0, 2], [3, 14, 0, 0],
];

function register(r: Prng): [number, number] {
  switch (r.rangeInclusive(0, 5)) {
    case 0: return [0, r.rangeInclusive(0, 8)];
    case 1: return [0, BASE + r.rangeInclusive(0, 0x1f_ffff)];
    case 2: return [0, 0x0a00_0000 + r.rangeInclusive(0, 0x1fff)];
    case 3: return [0, 0x0800_0000 + r.rangeInclusive(0, 0xc_ffff)];
    case 4: return [0, 0x8100_0000 + r.rangeInclusive(0, 0xf_ffff)];
    default: return [r.u32(), r.u32()];
  }
}

/** One body piece: a random word, or (one in eight) something random words rarely are. */
function piece(r: Prng): number[] {
  if (r.rangeInclusive(0, 7) !== 0) return [r.u32()];
  const rt = r.rangeInclusive(0, 28);
  switch (r.rangeInclusive(0, 9)) {
    case 0: return [hvc(0x6000 + r.rangeInclusive(0, 0x3f))];
    case 1: {
      const id = r.pick(SMCCC_IDS) + (r.chance({ numerator: 1, denominator: 2 }) ? 0 : r.rangeInclusive(0, 0x3f));
      return [movz(0, id >>> 16, 1), movk(0, id, 0), hvc(0)];
    }
    case 2: return [r.chance({ numerator: 1, denominator: 2 }) ? smc(0) : smc(r.u32())];
    case 3: return [hvc(r.u32())];
    case 4:
    case 5: {
      const [op1, crn, crm, op2] = r.pick(SYSREGS);
      return [sysreg(r.chance({ numerator: 1, denominator: 2 }), op1, crn, crm, op2, rt)];
    }
    case 6: return [DAIFCLR_IRQ];
    case 7:
    case 8: {
      // a 32-bit load or store in the virtio-mmio or the GIC window
      const window = r.chance({ numerator: 1, denominator: 2 }) ? 0x0a00_0000 + r.rangeInclusive(0, 0x1ff) * 4 : 0x0800_0000 + r.pick([0, 0xa_0000, 0xb_0000]) + r.rangeInclusive(0, 0x3ff) * 4;
      const load = r.chance({ numerator: 1, denominator: 2 });
      return [movz(rt, window >>> 16, 1), movk(rt, window, 0), ((load ? 0xb9400000 : 0xb9000000) | (rt << 5) | r.rangeInclusive(0, 28)) >>> 0];
    }
    default: return [r.rangeInclusive(0, 7) === 0 ? WFI : DAIFCLR_IRQ];
  }
}

/** The hostile image for a seed: `bodyWords` words of body after the fixed prefix. */
export function hostileImage(seed: number, bodyWords: number): Uint8Array {
  const r = prng(seed, "hostile-code");
  const words: number[] = [];
  const at = (offset: number): void => {
    while (words.length < offset / 4) words.push(0);
  };
  words.push(branch(0, PROLOGUE));
  const prologue: number[] = [movz(0, (BASE + VECTORS) >>> 16, 1), movk(0, BASE + VECTORS, 0), sysreg(false, 0, 12, 0, 0, 0), ISB];
  for (let x = 0; x <= 30; x++) prologue.push(...mov64(x, ...register(r)));
  const bodyStart = PROLOGUE + prologue.length * 4;
  at(VECTORS);
  for (let v = 0; v < 16; v++) {
    at(VECTORS + v * 0x80);
    words.push(...vector(bodyStart));
  }
  at(PROLOGUE);
  words.push(...prologue);
  while (words.length * 4 < bodyStart + bodyWords * 4) words.push(...piece(r));
  words.push(branch(words.length * 4, bodyStart));
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w, true));
  return out;
}

/** How one hostile guest is run: its body's size, instructions per `vcpu_exec`, the instructions in all. */
export interface HostileOptions {
  readonly bodyWords: number;
  readonly budget: number;
  readonly instructions: number;
}
export const HOSTILE_DEFAULTS: HostileOptions = { bodyWords: 4096, budget: 4096, instructions: 5_000 };

function* hostileVm(image: Uint8Array, o: HostileOptions): Program {
  const vm: HostVm = { fd: 0, vmid: 0 };
  yield* hostCreate(vm, DEFAULT_VM_PLAN);
  yield* loadImage(vm, image, BASE);
  yield* hostStart(vm);
  yield* runCpuGuest(vm, 0, { budget: o.budget, maxExits: o.instructions, maxInstructions: o.instructions });
  yield* hostCollectExit(vm);
  yield* hostRelease(vm);
}

/** A secondary VM running the seed's hostile image for at most `instructions` instructions. */
export function hostileScenario(seed: number, o: HostileOptions = HOSTILE_DEFAULTS): Scenario {
  const image = hostileImage(seed, o.bodyWords);
  const name = `hostile-code-${seed}`;
  return {
    name,
    description: `A secondary VM running ${o.bodyWords} seeded random instruction words (seed ${seed}) for at most ${o.instructions} instructions.`,
    hash: createHash("sha256").update(JSON.stringify({ revision: 1, name, ...o })).update(image).digest("hex"),
    config: { platform: DEFAULT_PLATFORM },
    maxEvents: 4 * o.instructions + 1000,
    makeDriver: (stream) => scriptDriver(name, hostileVm(image, o), stream),
  };
}

/** What one hostile run did: instructions, exits by kind, calls seen, how it ended; `thrown` is a model bug. */
export interface HostileFigures {
  instructions: number;
  events: number;
  execs: number;
  exits: Record<string, number>;
  calls: Record<string, number>;
  unknownExits: string[];
  /** Hypercalls (and HVC/SMC outside Gunyah's table) whose X0 on return is not one of Gunyah's error codes. */
  unknownErrors: string[];
  ended: string;
  thrown: string | null;
}

/** The exits a `vcpu_exec` may report (src/model/guest/exec.ts handleStop): architectural or Gunyah's. */
export const KNOWN_EXITS: readonly string[] = ["budget", "hvc", "smc", "brk", "wfi", "wfe", "stage2_fault", "exception", "stalled"];

/** Tallies a trace's `vcpu_exec` outcomes (rows as the trace reader gives them). */
export function tallyHostile(rows: Iterable<{ readonly ev: { readonly kind: string }; readonly outcome: Readonly<Record<string, unknown>> }>, f: HostileFigures): void {
  for (const { ev, outcome } of rows) {
    f.events++;
    if (ev.kind !== "vcpu_exec") continue;
    f.execs++;
    f.instructions += typeof outcome.retired === "number" ? outcome.retired : 0;
    f.ended = `the vCPU ${String(outcome.after)} after its last run`;
    const exit = outcome.exit as { kind?: unknown; call?: unknown; imm?: unknown; smccc?: unknown; resolution?: unknown } | undefined;
    const kind = typeof exit?.kind === "string" ? exit.kind : String(exit?.kind);
    f.exits[kind] = (f.exits[kind] ?? 0) + 1;
    if (!KNOWN_EXITS.includes(kind)) f.unknownExits.push(kind);
    if (kind === "stage2_fault") {
      const how = `stage-2 fault: ${String(exit?.resolution)}`;
      f.calls[how] = (f.calls[how] ?? 0) + 1;
    }
    if (kind === "hvc" || kind === "smc") {
      const call = exit?.smccc === true ? `${kind} smccc` : typeof exit?.call === "string" ? `hvc ${exit.call}` : `${kind} outside Gunyah's table (UNIMPLEMENTED)`;
      f.calls[call] = (f.calls[call] ?? 0) + 1;
      const x0 = Array.isArray((exit as { x?: unknown }).x) ? ((exit as { x: unknown[] }).x[0] as bigint | number | undefined) : undefined;
      if (exit?.smccc !== true && (x0 === undefined || hvErrorName(x0) === undefined)) f.unknownErrors.push(`${call}: X0 = ${String(x0)}`);
    }
  }
}

export const emptyFigures = (): HostileFigures => ({ instructions: 0, events: 0, execs: 0, exits: {}, calls: {}, unknownExits: [], unknownErrors: [], ended: "", thrown: null });

/**
 * Runs seeds from `first` until `total` instructions retired, each recorded with every invariant
 * checked after every event. A throw from the reducer is caught and reported with its seed (a
 * model bug, never expected); so is an invariant violation.
 */
export function runHostileSeeds(first: number, total: number, o: HostileOptions, f: HostileFigures, progress?: (seed: number, instructions: number) => void) {
  const ended: Record<string, number> = {};
  const thrown: string[] = [];
  const violations: string[] = [];
  let seed = first;
  for (; f.instructions < total; seed++) {
    const sink = memorySink();
    let why: string;
    try {
      const r = record(hostileScenario(seed, o), sink, { seed, checkInvariants: true });
      if (r.violation !== null) violations.push(`seed ${seed}: ${r.violation.invariant} at event ${r.violation.seq} (${r.violation.kind}): ${r.violation.detail}`);
      why = r.stoppedBy;
    } catch (e) {
      thrown.push(`seed ${seed}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      why = "thrown";
    }
    const before = f.instructions;
    tallyHostile(TraceReader.open(memorySource(sink.bytes())).events() as Iterable<{ ev: { kind: string }; outcome: Record<string, unknown> }>, f);
    const last = f.instructions === before ? "no instruction retired" : `${why}, ${f.ended}`;
    ended[last] = (ended[last] ?? 0) + 1;
    progress?.(seed, f.instructions);
  }
  return { first, last: seed - 1, ended, thrown, violations };
}
