/**
 * The scenario file format (docs/scenarios.md): the platform, the VMs and what runs in them, what
 * the host VMM does and when, injected faults, and when to stop. Parsed into ScenarioSpec; sizes
 * and times become integers (bytes, ns) here, so later stages never see units.
 */
import type { Ratio } from "../prng.ts";
import { duration, either, int, list, map, obj, oneOf, opt, orNull, ratio, req, size, str, variant, type Schema } from "./schema.ts";

export type DownHowName = "poweroff" | "reset" | "panic" | "watchdog" | "fault";

export type GuestStep =
  | { readonly op: "boot" }
  | { readonly op: "block-io"; readonly count: number; readonly writes: Ratio; readonly device: number }
  | { readonly op: "console"; readonly text: string }
  | { readonly op: "sleep"; readonly ns: number }
  | { readonly op: "timer"; readonly everyNs: number; readonly count: number; readonly body: readonly GuestStep[] }
  | { readonly op: "loop"; readonly count: number; readonly body: readonly GuestStep[] }
  | { readonly op: "if-boot"; readonly boot: number; readonly body: readonly GuestStep[] }
  | { readonly op: "accept" }
  | { readonly op: "release" }
  | { readonly op: "dma"; readonly stream: number; readonly region: "image" | "shared" | "parcel" | "outside"; readonly offset: number; readonly access: "read" | "write"; readonly size: number }
  | { readonly op: "shutdown"; readonly how: DownHowName };

export type HostStep =
  | { readonly op: "create" | "start" | "wait-exit" | "destroy" | "restart" | "stop" | "reclaim"; readonly vm: string }
  | { readonly op: "lend" | "share"; readonly vm: string; readonly size: number }
  | { readonly op: "assign"; readonly vm: string; readonly stream: number }
  | { readonly op: "sleep"; readonly ns: number }
  | { readonly op: "loop"; readonly count: number; readonly body: readonly HostStep[] };

export interface DeviceSpec {
  readonly type: string;
  readonly capacity?: number;
  readonly irq?: number;
}

export interface VmSpec {
  readonly name: string;
  readonly kind: "secondary" | "protected";
  readonly vcpus: number;
  readonly memory: number;
  readonly shared: number;
  readonly devices: readonly DeviceSpec[];
  readonly attrs: readonly string[];
  readonly image?: string;
  readonly guest: readonly GuestStep[];
}

export interface ScenarioSpec {
  readonly name?: string;
  readonly description: string;
  readonly platform: {
    readonly name: string;
    readonly cpus: number;
    readonly ram: readonly { base: number; size: number }[];
    readonly smmuStreams: readonly number[];
    readonly irqLines: { first: number; count: number };
  };
  readonly vms: readonly VmSpec[];
  readonly host: readonly HostStep[];
  readonly faults: readonly string[];
  readonly stop: { readonly maxEvents?: number; readonly untilNs?: number };
}

/** `count: forever` loops until a stop condition ends the run. */
export const FOREVER = Number.MAX_SAFE_INTEGER;
const count = either("a count (an integer from 0) or 'forever'", int(0), map(oneOf(["forever"] as const), () => FOREVER));
const vmName = str(/^[a-z][a-z0-9-]{0,31}$/, "a VM name (lower case letters, digits and '-')");
const PAGE = 4096;

const guestStep: Schema<GuestStep> = (v, path, ctx) => guestVariant(v, path, ctx);
const guestBody = list(guestStep, { max: 1000 });
const guestVariant = variant<GuestStep>("guest step", {
  boot: orNull(map(obj({}), () => ({ op: "boot" as const })), { op: "boot" }),
  "block-io": map(obj({ count: req(int(1)), writes: opt(ratio), device: opt(int(0, 15)) }), (o) => ({
    op: "block-io" as const, count: o.count, writes: o.writes ?? { numerator: 1, denominator: 2 }, device: o.device ?? 0,
  })),
  console: map(str(/^[\x20-\x7e]{1,200}$/, "printable text of 1 to 200 characters"), (text) => ({ op: "console" as const, text })),
  sleep: map(duration, (ns) => ({ op: "sleep" as const, ns })),
  timer: map(obj({ every: req(duration), count: req(count), do: req(guestBody) }), (o) => ({ op: "timer" as const, everyNs: o.every, count: o.count, body: o.do })),
  loop: map(obj({ count: req(count), do: req(guestBody) }), (o) => ({ op: "loop" as const, count: o.count, body: o.do })),
  "if-boot": map(obj({ boot: req(int(1)), do: req(guestBody) }), (o) => ({ op: "if-boot" as const, boot: o.boot, body: o.do })),
  accept: orNull(map(obj({}), () => ({ op: "accept" as const })), { op: "accept" }),
  release: orNull(map(obj({}), () => ({ op: "release" as const })), { op: "release" }),
  dma: map(
    obj({ stream: req(int(0, 0xffff)), region: req(oneOf(["image", "shared", "parcel", "outside"] as const)), offset: opt(size()), access: req(oneOf(["read", "write"] as const)), size: req(int(1, 0x10000)) }),
    (o) => ({ op: "dma" as const, stream: o.stream, region: o.region, offset: o.offset ?? 0, access: o.access, size: o.size }),
  ),
  shutdown: map(oneOf(["poweroff", "reset", "panic", "watchdog", "fault"] as const), (how) => ({ op: "shutdown" as const, how })),
});

const hostStep: Schema<HostStep> = (v, path, ctx) => hostVariant(v, path, ctx);
const onVm = <O extends string>(op: O) => map(vmName, (vm) => ({ op, vm }));
const give = <O extends "lend" | "share">(op: O) => map(obj({ vm: req(vmName), size: req(size(PAGE, PAGE)) }), (o) => ({ op, vm: o.vm, size: o.size }));
const hostVariant = variant<HostStep>("host step", {
  create: onVm("create"),
  start: onVm("start"),
  "wait-exit": onVm("wait-exit"),
  destroy: onVm("destroy"),
  restart: onVm("restart"),
  stop: onVm("stop"),
  reclaim: onVm("reclaim"),
  lend: give("lend"),
  share: give("share"),
  assign: map(obj({ vm: req(vmName), stream: req(int(0, 0xffff)) }), (o) => ({ op: "assign" as const, vm: o.vm, stream: o.stream })),
  sleep: map(duration, (ns) => ({ op: "sleep" as const, ns })),
  loop: map(obj({ count: req(count), do: req(list(hostStep, { max: 1000 })) }), (o) => ({ op: "loop" as const, count: o.count, body: o.do })),
});

const device = obj({ type: req(str()), capacity: opt(size(512)), irq: opt(int(32, 1019)) });

const vm: Schema<VmSpec> = map(
  obj({
    name: req(vmName),
    kind: opt(oneOf(["secondary", "protected"] as const)),
    vcpus: opt(int(1, 8)),
    memory: req(size(PAGE)),
    shared: opt(size(PAGE)),
    devices: opt(list(device, { max: 8 })),
    attrs: opt(list(oneOf(["no-shutdown", "no-reset", "crash-fatal"] as const))),
    image: opt(str()),
    guest: opt(guestBody),
  }),
  (o) => ({
    name: o.name, kind: o.kind ?? "secondary", vcpus: o.vcpus ?? 1, memory: o.memory, shared: o.shared ?? 0x10_0000,
    devices: o.devices ?? [], attrs: o.attrs ?? [], ...(o.image === undefined ? {} : { image: o.image }), guest: o.guest ?? [],
  }),
);

const platform = obj({
  name: opt(str()),
  cpus: opt(int(1, 8)),
  ram: opt(list(obj({ base: req(size(PAGE)), size: req(size(PAGE)) }), { min: 1, max: 8 })),
  "smmu-streams": opt(list(int(0, 0xffff), { max: 64 })),
  "irq-lines": opt(obj({ first: req(int(32, 1019)), count: req(int(1, 988)) })),
});

export const DEFAULT_RAM = [{ base: 0x8000_0000, size: 0x4000_0000 }];

export const scenarioSchema: Schema<ScenarioSpec> = map(
  obj({
    name: opt(str(/^[a-z][a-z0-9-]{0,63}$/, "a scenario name (lower case letters, digits and '-')")),
    description: req(str(/\S/, "a one-line description")),
    platform: opt(platform),
    vms: req(list(vm, { min: 1, max: 16 })),
    host: req(list(hostStep, { min: 1, max: 1000 })),
    faults: opt(list(str())),
    stop: opt(obj({ "max-events": opt(int(1)), until: opt(duration) })),
  }),
  (o) => ({
    ...(o.name === undefined ? {} : { name: o.name }),
    description: o.description.trim().replace(/\s+/g, " "),
    platform: {
      name: o.platform?.name ?? "qemu-virt",
      cpus: o.platform?.cpus ?? 4,
      ram: o.platform?.ram ?? DEFAULT_RAM,
      smmuStreams: o.platform?.["smmu-streams"] ?? [],
      irqLines: o.platform?.["irq-lines"] ?? { first: 32, count: 32 },
    },
    vms: o.vms,
    host: o.host,
    faults: o.faults ?? [],
    stop: { ...(o.stop?.["max-events"] === undefined ? {} : { maxEvents: o.stop["max-events"] }), ...(o.stop?.until === undefined ? {} : { untilNs: o.stop.until }) },
  }),
);
