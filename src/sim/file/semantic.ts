/**
 * Checks a scenario file's meaning once its shape is right: names refer to things that exist,
 * memory fits the platform, devices and streams are known, faults are registered. Each problem is
 * an Issue with the path of the offending value, reported in the same one-line format as shape
 * errors (`file:line:col: path: expected X, got Y`).
 */
import type { Issue, Path } from "./schema.ts";
import { KNOWN_FAULTS, isKnownFault } from "../faults.ts";
import { DEVICE_INFO, QUEUE_AREA_BYTES } from "../lib/vm-plan.ts";
import { poolEnd, type Layout } from "./layout.ts";
import type { GuestStep, HostStep, ScenarioSpec, VmSpec } from "./scenario-schema.ts";
import { PHYS_ADDR_LIMIT } from "../../model/config.ts";
import { OUTSIDE_IPA } from "./guest-program.ts";

const MiB = 0x10_0000;
const mib = (n: number): string => (n % MiB === 0 ? `${n / MiB}MiB` : `${n} bytes`);
const DEVICE_TYPES = Object.keys(DEVICE_INFO);

/** `raw(path)` gives the value as written in the file (for the `got` part). */
export function semanticIssues(spec: ScenarioSpec, l: Layout, raw: (p: Path) => string): Issue[] {
  const issues: Issue[] = [];
  const bad = (path: Path, expected: string, got = raw(path)): void => void issues.push({ path, expected, got });
  // The model keeps physical ranges sorted by base (src/model/rm/ranges.ts searches them by halves).
  spec.platform.ram.forEach((r, i) => {
    const prev = spec.platform.ram[i - 1];
    if (prev !== undefined && r.base < prev.base + prev.size) bad(["platform", "ram", i, "base"], `a base at or above ${hex(prev.base + prev.size)} (RAM ranges in ascending order, not overlapping)`, hex(r.base));
    if (r.base + r.size > PHYS_ADDR_LIMIT) bad(["platform", "ram", i, "size"], `a range ending at or below ${hex(PHYS_ADDR_LIMIT)} (48-bit physical addresses; base ${hex(r.base)})`, hex(r.size));
  });
  const lines = spec.platform.irqLines;
  if (lines.first + lines.count > 1020) bad(["platform", "irq-lines", "count"], `at most ${1020 - lines.first} lines from ${lines.first} (SPIs end at INTID 1019)`, String(lines.count));
  const names = spec.vms.map((v) => v.name);
  spec.vms.forEach((vm, i) => {
    if (names.indexOf(vm.name) !== i) bad(["vms", i, "name"], "a name no other VM has");
    checkVm(vm, i, spec, bad);
    const plan = l.plans[i]!;
    const ipaEnd = plan.shared.gpa + plan.shared.size;
    if (ipaEnd > PHYS_ADDR_LIMIT) bad(["vms", i, "memory"], `memory and shared that end below ${hex(PHYS_ADDR_LIMIT)} in the guest's address space (they end at ${hex(ipaEnd)})`, hex(vm.memory));
    walkGuest(vm.guest, ["vms", i, "guest"], (step, path) => {
      if (step.op !== "dma") return;
      const base = step.region === "image" ? plan.image.gpa : step.region === "shared" ? plan.shared.gpa : step.region === "outside" ? OUTSIDE_IPA : 0;
      if (base + step.offset + step.size > PHYS_ADDR_LIMIT) bad([...path, "offset"], `an offset that keeps the access below ${hex(PHYS_ADDR_LIMIT)} (48-bit addresses)`, hex(step.offset));
    });
  });
  // An idle loop is named once: the loops inside it are idle too, and saying so adds nothing.
  const idle: Path[] = [];
  const idleLoop = (path: Path): void => {
    if (idle.some((outer) => outer.every((k, i) => path[i] === k))) return;
    idle.push(path);
    bad(path, LOOP_NOTE, "only sleeps or nothing");
  };
  walkHost(spec.host, ["host"], (step, path) => {
    if (step.op === "loop" && step.count > 0 && !hostProposes(step.body)) idleLoop(path);
  });
  spec.vms.forEach((vm, i) =>
    walkGuest(vm.guest, ["vms", i, "guest"], (step, path) => {
      if (step.op === "loop" && step.count > 0 && !guestProposes(step.body)) idleLoop(path);
    }),
  );
  if (l.overflow !== null) {
    const { vm, field, leftBytes } = l.overflow;
    bad(["vms", vm, field], `a size that fits the platform RAM (${mib(leftBytes)} left for this VM)`);
  } else if (poolEnd(l) > spec.platform.ram[0]!.base + spec.platform.ram[0]!.size) {
    bad(["host"], `lend/share sizes that fit the platform RAM (${POOL_NOTE})`, "more than the RAM left");
  }
  walkHost(spec.host, ["host"], (step, path) => {
    if (!("vm" in step)) return;
    const at = step.op === "lend" || step.op === "share" || step.op === "assign" ? [...path, "vm"] : path;
    if (!names.includes(step.vm)) bad(at, `a VM declared under vms (${names.join(", ")})`, `'${step.vm}'`);
    if (step.op === "assign" && !spec.platform.smmuStreams.includes(step.stream)) bad([...path, "stream"], streamsNote(spec));
  });
  spec.faults.forEach((f, i) => {
    if (!isKnownFault(f)) bad(["faults", i], KNOWN_FAULTS.length === 0 ? "no faults: none are defined yet (src/sim/faults.ts)" : `one of the known faults ${KNOWN_FAULTS.map((k) => k.name).join(", ")}`);
  });
  return issues;
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const LOOP_NOTE = "a loop with a step that does something (sleeps and empty loops alone never end; for a pause, one sleep)";

/** Can these steps ever propose an event? Sleeps never do; an empty or never-run loop neither. */
function guestProposes(list: readonly GuestStep[]): boolean {
  return list.some((s) =>
    s.op === "sleep" ? false
    : s.op === "loop" ? s.count > 0 && guestProposes(s.body)
    : s.op === "if-boot" ? guestProposes(s.body)
    : s.op === "timer" ? s.count > 0
    : true,
  );
}

function hostProposes(list: readonly HostStep[]): boolean {
  return list.some((s) => (s.op === "sleep" ? false : s.op === "loop" ? s.count > 0 && hostProposes(s.body) : true));
}
const POOL_NOTE = "8 host slots of the largest size given";
const streamsNote = (spec: ScenarioSpec): string =>
  spec.platform.smmuStreams.length === 0 ? "a stream listed in platform.smmu-streams (none are listed)" : `a stream listed in platform.smmu-streams (${spec.platform.smmuStreams.join(", ")})`;

function checkVm(vm: VmSpec, i: number, spec: ScenarioSpec, bad: (p: Path, expected: string, got?: string) => void): void {
  const at = (...p: Path) => ["vms", i, ...p];
  if (vm.kind === "protected") bad(at("kind"), "secondary (protected VMs need the pvmfw boot chain, which scenario files do not drive yet)");
  if (vm.image !== undefined && vm.guest.length > 0) bad(at("image"), `an image or guest steps, not both (VM '${vm.name}' has both)`);
  if (vm.memory < 256 * 1024) bad(at("memory"), "a size of at least 256KiB (the kernel image and its DTB)");
  vm.devices.forEach((d, j) => {
    if (!DEVICE_TYPES.includes(d.type)) bad(at("devices", j, "type"), `a device type: ${DEVICE_TYPES.join(", ")}`);
    if (d.capacity !== undefined && d.type !== "virtio-blk") bad(at("devices", j, "capacity"), "no capacity (only virtio-blk devices have one)");
    else if (d.capacity !== undefined && d.capacity < 512) bad(at("devices", j, "capacity"), "a capacity of at least one 512-byte sector");
  });
  const irqs = vm.devices.map((d, j) => d.irq ?? 33 + j);
  irqs.forEach((irq, j) => {
    if (irqs.indexOf(irq) !== j) bad(at("devices", j, "irq"), "an interrupt line no other device of this VM uses", String(irq));
  });
  if (vm.shared < vm.devices.length * QUEUE_AREA_BYTES) bad(at("shared"), `at least ${vm.devices.length * QUEUE_AREA_BYTES / 1024}KiB (64KiB of virtio rings per device)`);
  const blk = vm.devices.filter((d) => d.type === "virtio-blk").length;
  const hasConsole = vm.devices.some((d) => d.type === "virtio-console");
  walkGuest(vm.guest, at("guest"), (step, path) => {
    if (step.op === "block-io" && step.device >= blk) bad(blk === 0 ? path : [...path, "device"], blk === 0 ? "a VM with a virtio-blk device for block-io" : `a virtio-blk index below ${blk}`, blk === 0 ? "no virtio-blk device" : undefined);
    if (step.op === "console" && !hasConsole) bad(path, "a VM with a virtio-console device for console", "no virtio-console device");
    if (step.op === "dma" && !spec.platform.smmuStreams.includes(step.stream)) bad([...path, "stream"], streamsNote(spec));
  });
}

export function walkGuest(list: readonly GuestStep[], path: Path, visit: (s: GuestStep, p: Path) => void): void {
  list.forEach((s, i) => {
    const p = [...path, i, s.op];
    visit(s, s.op === "boot" || s.op === "accept" || s.op === "release" ? [...path, i] : p);
    if (s.op === "loop" || s.op === "timer" || s.op === "if-boot") walkGuest(s.body, [...p, "do"], visit);
  });
}

export function walkHost(list: readonly HostStep[], path: Path, visit: (s: HostStep, p: Path) => void): void {
  list.forEach((s, i) => {
    const p = [...path, i, s.op];
    visit(s, p);
    if (s.op === "loop") walkHost(s.body, [...p, "do"], visit);
  });
}
