/**
 * A scenario file, compiled: parse and validate (shape, then meaning), place the VMs, and build
 * the Scenario the recorder runs: the machine config and a driver made of one host actor and one
 * guest actor per VM, interleaved by the seeded scheduler. The scenario's hash is the SHA-256 of
 * the file's text and of every guest image it names (in VM order), so a trace names exactly the
 * file and the code it came from.
 */
import { createHash } from "node:crypto";
import { die, isHvsimError } from "../../core/errors.ts";
import { basename, extname } from "node:path";
import type { MachineConfig } from "../../model/machine.ts";
import type { Prng } from "../prng.ts";
import type { Scenario } from "../scenario.ts";
import { scheduler, type ActorSpec } from "../lib/scheduler.ts";
import { imagePieces } from "../lib/cpu-guest.ts";
import { loadYamlSource, positionOf, reportIssues, type YamlSource } from "./load.ts";
import { scenarioSchema, type ScenarioSpec } from "./scenario-schema.ts";
import { semanticIssues, walkGuest, walkHost } from "./semantic.ts";
import { layout, type Layout } from "./layout.ts";
import { newRuntime, type VmRuntime } from "./runtime.ts";
import { guestActor } from "./guest-program.ts";
import { hostActor } from "./host-program.ts";
import { formatPath, type Path } from "./schema.ts";

/** Default stop when the file names none: enough for every shipped scenario that ends on its own. */
export const DEFAULT_MAX_EVENTS = 100_000;

/** Latencies between one actor's steps (ns): a VMM ioctl costs more than a guest's next exit. */
const HOST_LATENCY_NS = { minNs: 5_000, maxNs: 50_000 };
const VCPU_LATENCY_NS = { minNs: 1_000, maxNs: 20_000 };

/**
 * Reads a guest image a VM names (`image:`, as written: the caller resolves it against the file's
 * folder); throws on a file it cannot read. Absent: a file that names an image cannot be compiled.
 */
export type ImageReader = (path: string) => Uint8Array;

export function compileScenarioFile(fileName: string, text: string, readImage?: ImageReader): Scenario {
  const { value: spec, source } = loadYamlSource(fileName, text, scenarioSchema);
  const placed = layout(spec);
  const issues = semanticIssues(spec, placed, (p) => rawAt(source, p));
  if (issues.length > 0) reportIssues(source, issues);
  const where = locator(source, spec);
  const images = spec.vms.map((vm, i) => (vm.image === undefined ? undefined : guestImage(source, i, vm.image, placed.plans[i]!.image, readImage)));
  const hash = createHash("sha256").update(text);
  for (const image of images) if (image !== undefined) hash.update(image);
  return {
    name: spec.name ?? basename(fileName, extname(fileName)),
    description: spec.description,
    hash: hash.digest("hex"),
    config: machineConfig(spec),
    maxEvents: spec.stop.maxEvents ?? DEFAULT_MAX_EVENTS,
    ...(spec.stop.untilNs === undefined ? {} : { untilNs: spec.stop.untilNs }),
    source: fileName,
    makeDriver: (stream) => driverFor(spec, placed, images, stream, where),
  };
}

/** Names a step by where it is written (`file:line:col: path`), for errors found while running. */
export type Where = (step: object) => string;

/**
 * Every loop and every step that can fail while running, by position: run-time errors (and the
 * scheduler's bound on a loop that does nothing) name the file, line and path that caused them.
 */
function locator(source: YamlSource, spec: ScenarioSpec): Where {
  const at = new WeakMap<object, string>();
  const note = (step: object, path: Path): void => {
    const { line, col } = positionOf(source, path);
    at.set(step, `${source.fileName}:${line}:${col}: ${formatPath(path)}`);
  };
  walkHost(spec.host, ["host"], note);
  spec.vms.forEach((vm, i) => walkGuest(vm.guest, ["vms", i, "guest"], note));
  return (step) => at.get(step) ?? source.fileName;
}

/**
 * A VM's guest image, read and checked now (not when the recording reaches `create`): it parses,
 * an ELF's entry is the image region's base, and every segment lies in the VM's memory. Each
 * problem is one line naming the file, the position of `image:`, the VM and the image's path.
 */
function guestImage(source: YamlSource, vm: number, path: string, region: { readonly gpa: number; readonly size: number }, readImage: ImageReader | undefined): Uint8Array {
  const at: Path = ["vms", vm, "image"];
  const fail = (what: string): never => {
    const { line, col } = positionOf(source, at);
    return die("SCENARIO_INVALID", `${source.fileName}:${line}:${col}: ${formatPath(at)}: ${path}: ${what}`, { path: formatPath(at), line });
  };
  if (readImage === undefined) return fail("guest images are read only from scenario files on disk");
  let image: Uint8Array;
  try {
    image = readImage(path);
  } catch (e) {
    if (isHvsimError(e)) return fail(e.message);
    const code = (e as { code?: unknown }).code;
    return fail(code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory, not an image" : `cannot be read (${typeof code === "string" ? code : String(e)})`);
  }
  try {
    for (const p of imagePieces(image, region.gpa)) {
      if (p.address < region.gpa || p.address + p.bytes.length > region.gpa + region.size) {
        fail(`the segment at 0x${p.address.toString(16)} (${p.bytes.length} bytes) lies outside the VM's memory (0x${region.gpa.toString(16)}, ${region.size} bytes)`);
      }
    }
  } catch (e) {
    if (isHvsimError(e) && !e.message.startsWith(source.fileName)) fail(e.message);
    throw e;
  }
  return image;
}

function machineConfig(spec: ScenarioSpec): MachineConfig {
  const p = spec.platform;
  return {
    platform: { name: p.name, cpus: p.cpus, timerFreqHz: 62_500_000, ram: p.ram.map((r) => ({ ...r })), hwirqs: { ...p.irqLines } },
    ...(spec.faults.length === 0 ? {} : { faults: [...spec.faults] }),
  };
}

/** Fresh run-time state per recording: two recordings of one Scenario never share anything. */
function driverFor(spec: ScenarioSpec, placed: Layout, images: readonly (Uint8Array | undefined)[], stream: (name: string) => Prng, where: Where) {
  const vms: Record<string, VmRuntime> = {};
  spec.vms.forEach((vm, i) => (vms[vm.name] = newRuntime(vm, placed.plans[i]!, images[i])));
  const { base, slotBytes, slots } = placed.pool;
  const pool = { slotBytes, free: Array.from({ length: slots }, (_, i) => base + i * slotBytes) };
  const actors: ActorSpec[] = [hostActor(spec.host, vms, pool, { stream: stream("host"), ...HOST_LATENCY_NS }, where)];
  for (const vm of spec.vms) {
    const streams = { data: stream(`guest:${vm.name}`), device: stream(`device:${vm.name}`), irq: stream(`irq:${vm.name}`) };
    actors.push(guestActor(vms[vm.name]!, streams, { stream: stream(`vcpu:${vm.name}`), ...VCPU_LATENCY_NS }, where));
  }
  return scheduler(actors, stream("sched"), stream("runner"));
}

/** The value at a path as written in the file, quoted like the schema's messages. */
function rawAt(source: YamlSource, path: Path): string {
  const v = source.doc.getIn(path, false);
  if (v === undefined || v === null) return "nothing";
  if (typeof v === "string") return `'${v}'`;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "a mapping or list";
}
