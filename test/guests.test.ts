/**
 * The guest programs (guests/, docs/guests.md): the committed images are what the sources build to;
 * each runs to completion under the model with every invariant after every event; what it prints
 * is in `hvsim log`; the same scenario and seed give the same bytes; replay re-executes and
 * verifies every vcpu_exec on both paths.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Outcome } from "../src/core/event.ts";
import { replay, type ReplayItem } from "../src/core/replay.ts";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import { encodeHandover } from "../src/model/pvmfw/boot.ts";
import { verifyAvbImage } from "../src/model/pvmfw/avb.ts";
import { allInvariants, checkScenario } from "../src/sim/check.ts";
import { memorySink } from "../src/trace/source.ts";
import { builtinScenario } from "../src/sim/builtin/index.ts";
import { payloadImage } from "../src/sim/builtin/pvm-payload.ts";
import { cli, readerOf, recordBytes, tempDir, runScenario } from "./helpers.ts";
import type { Scenario } from "../src/sim/scenario.ts";

const GUESTS = ["linux-like", "minimal", "pvm-payload"];
const scenario = (name: string): Scenario => builtinScenario(name)!;

describe("guests/build.sh", () => {
  it("rebuilds every committed image byte for byte (Debian's aarch64-linux-gnu-gcc)", () => {
    const out = tempDir();
    execFileSync("sh", ["guests/build.sh", out], { stdio: "pipe" });
    expect(readdirSync(out).sort()).toEqual(GUESTS.map((g) => `${g}.elf`));
    expect(readdirSync("guests/bin").sort()).toEqual(GUESTS.map((g) => `${g}.elf`));
    for (const g of GUESTS) expect(readFileSync(join(out, `${g}.elf`)).equals(readFileSync(`guests/bin/${g}.elf`)), `${g}.elf differs from what guests/build.sh builds`).toBe(true);
  });
});

/** Runs a built-in on the fast path, keeping every event and outcome. */
function run(scenario: Scenario): { state: Machine; log: { ev: HypEvent; out: Outcome }[] } {
  const { s, log } = runScenario(scenario);
  return { state: s, log };
}

/** What the guest printed, from the console device's transmit queue (as `hvsim log` shows it). */
async function consoleLines(bytes: Uint8Array): Promise<string[]> {
  const file = join(tempDir(), "t.hvt");
  writeFileSync(file, bytes);
  const r = await cli("log", file, "--kind", "vmm_mmio");
  return r.stdout.flatMap((l) => [...l.matchAll(/q1: console "(.*)"\)$/g)].map((m) => JSON.parse(`"${m[1]!}"`) as string));
}

/** CRC-32C (Castagnoli, reflected 0x82F63B78): what the payload computes with CRC32CB. */
function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
const hex16 = (v: number): string => `0x${v.toString(16).padStart(16, "0")}`;

describe("the guests run to completion with every invariant holding, and what they print is in the log", () => {
  it("vm-code-linux: GIC, timer, virtio-blk with interrupts, the RM channel, a borrowed parcel, power-off", async () => {
    const s = scenario("vm-code-linux");
    const r = checkScenario(s, 1, memorySink(), allInvariants());
    expect(r).toMatchObject({ ok: true, events: 431 });
    const lines = await consoleLines(recordBytes(s, { seed: 1 }));
    expect(lines).toEqual([
      "linux-like: booting on Gunyah, DT at 0x00000000801f0000\n",
      "linux-like: GICv3: GICD_TYPER 0x00000000024800ff, redistributor awake, CPU interface on, IRQs unmasked\n",
      expect.stringMatching(/^linux-like: timer: CNTFRQ 62500000 Hz, PPI 27 after \d+ ticks \(armed for 6250\)\n$/),
      "linux-like: virtio-blk: wrote sector 7 (status 0), read it back (status 0): data matches\n",
      "linux-like: rm: channel tx cap 0x0000000000000000, rx cap 0x0000000000000001, VIRQ 1019\n",
      "linux-like: rm: VM_GET_VMID -> 0x0000000000000080\n",
      "linux-like: rm: MEM_SHARED handle 0x0000000000000003 from vm 0x0000000000000003 (lend)\n",
      "linux-like: rm: MEM_ACCEPT mapped 64 KiB at IPA 0x0000000040001000, wrote and read back every page\n",
      "linux-like: rm: MEM_RELEASE and MEM_NOTIFY(RELEASED) done\n",
      "linux-like: 17 interrupts taken (timer 1, virtio-blk 2, console 9); powering off\n",
    ]);
    const { log } = run(s);
    // The guest powered itself off (PSCI SYSTEM_OFF from its own HVC #0), and the RM's exchanges came from its own HVCs.
    expect(log.filter((x) => x.ev.kind === "vcpu_exec").at(-1)!.out).toMatchObject({ after: "off", exit: { kind: "hvc", smccc: true } });
    expect(log.filter((x) => x.ev.kind === "rm_service").map((x) => (x.out.handled as { msg: string }[]).map((h) => h.msg).join())).toEqual(["VM_GET_VMID", "MEM_ACCEPT", "MEM_RELEASE", "MEM_NOTIFY"]);
    expect(log.filter((x) => x.ev.kind === "rm_request" && x.ev.vm === 0x80)).toEqual([]);
    expect(log.find((x) => x.ev.kind === "rm_request" && x.out.msg === "MEM_RECLAIM")!.out.err).toBe("OK"); // the host takes its parcel back
  });

  it("vm-code-minimal: a console line, hypervisor_identify, PSCI", async () => {
    const s = scenario("vm-code-minimal");
    expect(checkScenario(s, 1, memorySink(), allInvariants())).toMatchObject({ ok: true });
    const lines = await consoleLines(recordBytes(s, { seed: 1 }));
    expect(lines).toEqual([
      "minimal: hello from real AArch64 code at EL1\n",
      "minimal: hypervisor_identify api_info 0x5100000000008001, psci version 0x0000000000010001, dtb at 0x00000000801f0000\n",
      "minimal: powering off\n",
    ]);
  });

  it("pvm-boot: pvmfw verifies the signed payload; it reads the DICE handover pvmfw wrote and prints its size and digests", async () => {
    const image = payloadImage();
    expect(verifyAvbImage(image, { trustedPublicKey: new Uint8Array(readFileSync("test/fixtures/avb/pvmfw_key_rsa2048.avbpubkey")), partitionName: "boot" })).toMatchObject({ ok: true, rollbackIndex: 5n });
    const s = scenario("pvm-boot");
    const { state } = run(s);
    const h = state.pvm.vms.byId[0x80]!.handover!;
    const cbor = encodeHandover(h);
    const cert = h.certificates.at(-1)!;
    const lines = await consoleLines(recordBytes(s, { seed: 1 }));
    expect(lines).toEqual([
      "pvm-payload: pvmfw verified us and jumped here, DT at 0x00000000801f0000\n",
      `pvm-payload: DICE handover at 0x7fe00000: ${cbor.length} bytes of CBOR, chain of ${h.certificates.length + 1} entries; ` +
        `crc32c CDI_Attest ${hex16(crc32c(h.cdiAttest))}, CDI_Seal ${hex16(crc32c(h.cdiSeal))}, our certificate (${cert.length} bytes) ${hex16(crc32c(cert))}\n`,
      "pvm-payload: rm: vm 0x0000000000000080 shared its bounce buffers (8 KiB at 0x81200000) with the host: handle 0x0000000000000006\n",
      "pvm-payload: virtio-blk: 4 sectors written and read back, 4 of 4 match\n",
      "pvm-payload: rm: the host released them (MEM_RELEASED from vm 0x0000000000000003); MEM_RECLAIM done\n",
      "pvm-payload: 17 interrupts taken; powering off\n",
    ]);
  });
});

describe("determinism and replay of real code", () => {
  for (const name of ["vm-code-linux", "pvm-boot"]) {
    it(`${name}: same seed, same bytes; replay re-executes every vcpu_exec on the fast and the pure path`, () => {
      const bytes = recordBytes(scenario(name), { seed: 1 });
      expect(recordBytes(scenario(name), { seed: 1 }).equals(bytes)).toBe(true);
      const header = readerOf(bytes).header;
      const items = (): ReplayItem[] => [...readerOf(bytes).items()] as ReplayItem[];
      const count = readerOf(bytes).footer()!;
      const execs = count.countsByKind.vcpu_exec ?? 0;
      expect(execs).toBeGreaterThan(100);
      for (const path of ["fast", "pure"] as const) {
        const r = replay(hvModel, hvModel.genesis(header.config as never), items(), { path });
        expect(r.finding).toBeNull();
        expect(r.verified).toBe(count.events);
        // One instruction retired more in one vcpu_exec's stored outcome: replay names that event.
        const tampered = items().map((it) => {
          if (it.type !== "block") return it;
          const k = it.events.findIndex((e) => e.kind === "vcpu_exec" && e.seq > 200);
          if (k < 0) return it;
          const outcomes = it.outcomes.map((o, i) => (i === k ? { ...o, retired: (o.retired as number) + 1 } : o));
          return { ...it, outcomes };
        });
        const firstExec = items().flatMap((it) => (it.type === "block" ? it.events : [])).find((e) => e.kind === "vcpu_exec" && e.seq > 200)!;
        expect(replay(hvModel, hvModel.genesis(header.config as never), tampered, { path }).finding).toMatchObject({ type: "divergence", seq: firstExec.seq, kind: "vcpu_exec" });
      }
    });
  }
});
