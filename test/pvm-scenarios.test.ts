import { describe, expect, it } from "vitest";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hvModel, type Machine } from "../src/model/machine.ts";
import type { HypEvent } from "../src/model/events.ts";
import type { Outcome } from "../src/core/event.ts";
import type { Scenario } from "../src/sim/scenario.ts";
import { allInvariants, checkScenario } from "../src/sim/check.ts";
import { memorySink } from "../src/trace/source.ts";
import { decodeVmExited } from "../src/model/rm/payloads.ts";
import { verifyBcc } from "../src/model/pvmfw/dice.ts";
import { encodeHandover, handoverBcc } from "../src/model/pvmfw/boot.ts";
import { signAvbImage } from "../src/model/pvmfw/avb-sign.ts";
import { BUG_SCENARIOS, pvmBootScenario, pvmCompileScenario, pvmDmaScenario, pvmHostReadScenario, pvmRollbackScenario, pvmTamperedScenario } from "../src/sim/builtin/pvm.ts";
import { pvmScenario, vectorPath } from "../src/sim/builtin/pvm-common.ts";
import { DEFAULT_SCENARIO } from "../src/sim/builtin/index.ts";
import { KNOWN_FAULTS } from "../src/sim/faults.ts";
import { MODEL_DEFECT_NAMES } from "../src/model/faults.ts";
import { fixturePayload, fixturePem } from "./fixtures/avb/fixtures.ts";
import { cli, recordBytes, tempDir, runScenario } from "./helpers.ts";

/** Runs a scenario on the fast path, keeping every event and outcome. */
const run = (scenario: Scenario, seed = 1) => runScenario(scenario, seed);
const boots = (log: { ev: HypEvent; out: Outcome }[]) => log.filter((x) => x.ev.kind === "pvmfw_boot");
/** The NOTIFY_VM_EXITED the host got from a pvmfw refusal, decoded. */
function exitedOf(out: Outcome) {
  const n = (out.notify as { msg: string; data: Uint8Array }[]).find((x) => x.msg === "NOTIFY_VM_EXITED")!;
  return decodeVmExited(n.data);
}
const check = (scenario: Scenario) => checkScenario(scenario, 1, memorySink(), allInvariants());
const withoutDefects = (scenario: Scenario): Scenario => {
  const { faults: _f, ...config } = scenario.config;
  return { ...scenario, config, makeDriver: scenario.makeDriver, hash: scenario.hash, faults: [] } as Scenario;
};

describe("protected-VM boot through pvmfw, on the avbtool vectors", () => {
  it("pvm-boot is the default scenario; pvmfw verifies rollback index 5 and hands over a valid DICE chain", () => {
    expect(DEFAULT_SCENARIO.name).toBe("pvm-boot");
    const { s, log } = run(pvmBootScenario);
    const [b] = boots(log);
    expect(b!.out).toMatchObject({ result: "payload", rollbackIndex: 5n, stored: 0n, chainLength: 3, entry: 0x8000_0000, handoverIpa: 0x7fe0_0000 });
    const pvm = s.pvm.vms.byId[0x80]!;
    expect(pvm.stage).toBe("payload");
    expect(s.pvm.platform!.rollback.indices[0]).toBe(5n); // moved forward after the good boot
    const v = verifyBcc(handoverBcc(pvm.handover!));
    expect(v.ok && v.entries.map((e) => [e.componentName, e.mode])).toEqual([["pvmfw", 1], ["vm_entry", 1]]);
    // The handover bytes sit in the pVM's reserved memory page, labelled as its own data.
    expect(encodeHandover(pvm.handover!).length).toBeLessThan(4096);
    expect(log.length).toBe(435); // the payload is real code (guests/pvm-payload): test/guests.test.ts follows what it does
    // PV time: the record lives in the VM's info area (the RM's page at 0x4000_0000, vCPU 0 at offset
    // 0: GH:hyp/vm/arm_pv_time/src/arm_pv_time.c:60-78); the value is the HYP's stolen-time count.
    const pv = log.find((x) => x.ev.kind === "pv_time")!;
    expect(pv.out).toMatchObject({ ipa: 0x4000_0000 });
    expect(s.pvm.vms.byId[0x80]!.pvtime).toEqual({ ipa: 0x4000_0000, stolenNs: [pv.out.stolenNs] });
  });

  it("a flipped byte and a wrong key are refused, each with its own reason in NOTIFY_VM_EXITED; the genuine payload boots", () => {
    const { log } = run(pvmTamperedScenario);
    const [flipped, otherKey, genuine] = boots(log);
    expect(genuine!.out).toMatchObject({ result: "payload", rollbackIndex: 5n });
    expect(flipped!.out).toMatchObject({ result: "refused", reason: "PayloadVerificationError", uart: "PVM_FIRMWARE_PAYLOAD_VERIFICATION_FAILED", avb: "ERROR_VERIFICATION" });
    expect(otherKey!.out).toMatchObject({ result: "refused", reason: "PayloadVerificationError", avb: "ERROR_PUBLIC_KEY_REJECTED" });
    // exit_type 3 (PSCI_SYSTEM_RESET2); words: flags (bit 15, the 64-bit call; the RM sets no RESTART:
    // RM:src/vm_mgnt/vm_mgnt.c:2143-2145), vendor reset type, pvmfw reason 6, AVB result.
    expect(exitedOf(flipped!.out)).toEqual({ vmid: 0x80, exitType: 3, reason: [0x8000, 0x8000_0001, 6, 3] });
    expect(exitedOf(otherKey!.out)).toEqual({ vmid: 0x80, exitType: 3, reason: [0x8000, 0x8000_0001, 6, 5] });
    // crosvm's VCPU_RUN reports the same exit.
    const status = log.filter((x) => x.ev.kind === "vmm_ioctl" && x.out.exit === "STATUS");
    expect(status.map((x) => [x.out.exitType, x.out.reason])).toEqual([[3, [0x8000, 0x8000_0001, 6, 3]], [3, [0x8000, 0x8000_0001, 6, 5]], [1, [0]]]);
  });

  it("a lower rollback index is refused after a good boot moved the store forward (INVALID_PAYLOAD, ROLLBACK_INDEX)", () => {
    const { s, log } = run(pvmRollbackScenario);
    const [good, old] = boots(log);
    expect(good!.out).toMatchObject({ result: "payload", rollbackIndex: 5n, stored: 0n });
    expect(old!.out).toMatchObject({ result: "refused", reason: "InvalidPayload", uart: "PVM_FIRMWARE_INVALID_PAYLOAD", avb: "ERROR_ROLLBACK_INDEX" });
    expect(exitedOf(old!.out)).toEqual({ vmid: 0x80, exitType: 3, reason: [0x8000, 0x8000_0001, 4, 4] });
    expect(s.pvm.platform!.rollback.indices[0]).toBe(5n); // a refused boot never moves it
  });

  it("images signed in the test boot, and the vm_entry code hash follows the payload", () => {
    const dir = tempDir();
    const pem = fixturePem();
    const chains: string[] = [];
    for (const [i, flip] of [[0, false], [1, true]] as const) {
      const payload = fixturePayload();
      if (flip) payload[7] = payload[7]! ^ 1;
      const file = join(dir, `k${i}.img`);
      writeFileSync(file, signAvbImage({ payload, algorithm: "SHA256_RSA2048", privateKeyPem: pem, rollbackIndex: 9, partitionName: "boot", salt: new Uint8Array(32).fill(1) }));
      const sc = pvmScenario({ name: `t${i}`, description: "test", keyFile: vectorPath("pvmfw_key_rsa2048.avbpubkey"), imageFiles: [file], script: (images) => (function* () {
        const { createPvm, registerPvmfw, startPvm } = pvmCommon;
        yield* registerPvmfw({ seq: 0 });
        const vm = { fd: 0, vmid: 0 };
        yield* createPvm(vm, images[0]!, "x");
        yield* startPvm(vm);
      })() });
      const { s, log } = run(sc);
      expect(boots(log)[0]!.out).toMatchObject({ result: "payload", rollbackIndex: 9n });
      const v = verifyBcc(handoverBcc(s.pvm.vms.byId[0x80]!.handover!));
      expect(v.ok).toBe(true);
      if (v.ok) chains.push(v.entries[1]!.codeHash);
    }
    expect(chains[0]).not.toBe(chains[1]);
  });
});

import * as pvmCommon from "../src/sim/builtin/pvm-common.ts";
import { replay } from "../src/core/replay.ts";
import { stateHash } from "../src/core/hash.ts";
import { readerOf } from "./helpers.ts";

describe("pvm-boot is quick and replays exactly", () => {
  it("records in well under 2 s and replays on the fast and the pure path to the same state", () => {
    const t0 = performance.now();
    const bytes = recordBytes(pvmBootScenario, { seed: 1, blockEvents: 128 });
    expect(performance.now() - t0).toBeLessThan(2000);
    const reader = readerOf(bytes);
    const finals = (["fast", "pure"] as const).map((path) => {
      const r = replay(hvModel, hvModel.genesis(reader.header.config as never), readerOf(bytes).items(), { path });
      expect(r.finding).toBeNull();
      expect(r.verified).toBe(435);
      return stateHash(r.state);
    });
    expect(finals[1]).toBe(finals[0]);
    expect(readerOf(bytes).footer()!.finalHash).toBe(finals[0]);
  });
});

describe("isolation of protected VMs", () => {
  it("the host's read of lent memory aborts; after teardown it reads back zeroed", () => {
    const { log } = run(pvmHostReadScenario);
    const reads = log.filter((x) => x.ev.kind === "host_read").map((x) => x.out);
    expect(reads).toEqual([
      { result: "abort", fault: "translation", injected: "synchronous_external_abort" },
      { result: "ok", pa: 0x9010_0000, label: "zero" },
    ]);
  });

  it("a host-controlled device's DMA into the pVM faults; the pVM's own device reaches its memory only while it runs", () => {
    const { log } = run(pvmDmaScenario);
    const txns = log.filter((x) => x.ev.kind === "smmu_txn").map((x) => x.out);
    expect(txns).toEqual([
      { result: "fault", reason: "translation" },
      { result: "fault", reason: "translation" },
      { result: "ok", pa: 0x9400_8000 },
      { result: "ok", pa: 0x9010_0000 },
      { result: "ok", pa: 0x9010_0000 },
      { result: "fault", reason: "translation" },
    ]);
  });

  it("pvm-compile: the second boot re-derives the DICE sealing key and verifies the first boot's signed output", () => {
    const { s, log } = run(pvmCompileScenario);
    expect(boots(log).map((b) => b.out.result)).toEqual(["payload", "payload"]);
    const consoles = log.filter((x) => x.ev.kind === "vmm_mmio" && typeof x.out.note === "string" && (x.out.note as string).includes("compos")).map((x) => x.out.note);
    expect(consoles.join("|")).toContain("compos: output verified");
    expect(s.rm.vms.ids).toEqual([]);
  });
});

describe("injected defects: hvsim check names the invariant at a fixed event index; without the defect the run is clean", () => {
  const expected: Record<string, [string, number]> = {
    "bug-reclaim-without-sanitise": ["isolation.reclaimed_memory_sanitised", 235],
    "bug-host-s2-kept-after-lend": ["isolation.host_no_pvm_private", 16],
    "bug-smmu-map-kept-after-reclaim": ["isolation.smmu_within_vm", 240],
    "bug-rollback-check-skipped": ["isolation.rollback_respected", 668],
    "bug-virq-wrong-vm": ["isolation.virq_to_owner", 222],
    "bug-demand-page-kept-in-host": ["isolation.host_no_pvm_private", 234],
  };
  it("every model defect is registered and has its scenario", () => {
    expect(KNOWN_FAULTS.map((f) => f.name)).toEqual(MODEL_DEFECT_NAMES);
    expect(BUG_SCENARIOS.map((s) => s.name)).toEqual(MODEL_DEFECT_NAMES.map((n) => `bug-${n}`));
    expect(Object.keys(expected)).toEqual(BUG_SCENARIOS.map((s) => s.name));
  });
  for (const scenario of BUG_SCENARIOS) {
    it(scenario.name, () => {
      const [invariant, index] = expected[scenario.name]!;
      for (let i = 0; i < 2; i++) {
        const r = check(scenario);
        expect(r.ok).toBe(false);
        expect(r.violation).toMatchObject({ invariant, index });
      }
      expect(scenario.faults).toEqual([invariant]);
      const clean = check(withoutDefects(scenario));
      expect(clean).toMatchObject({ ok: true, violation: null });
    });
  }
  it("the CLI contract: exit 1 with the violation as JSON; the default scenario exits 0", async () => {
    const bad = await cli("check", "bug-rollback-check-skipped", "--json");
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout[0]!)).toMatchObject({ ok: false, violation: { invariant: "isolation.rollback_respected", index: 668 } });
    const good = await cli("check", "pvm-boot");
    expect(good.code).toBe(0);
    expect(good.stdout[0]).toMatch(/^ok: 435 events checked against \d+ invariants after every event$/);
  });
});

describe("hvsim bcc verify", () => {
  const dir = tempDir();
  const trace = join(dir, "boot.hvt");
  writeFileSync(trace, recordBytes(pvmBootScenario, { seed: 1 }));

  it("exit 0 with one line per entry for the chain in a trace (final state, or --at N)", async () => {
    const r = await cli("bcc", "verify", trace);
    expect(r.code).toBe(0);
    expect(r.stdout[0]).toBe("DICE chain (VM 128 after event 434): valid, root key + 2 certificates");
    expect(r.stdout[1]).toMatch(/^ {2}\[1\] pvmfw: mode normal, /);
    expect(r.stdout[2]).toMatch(/^ {2}\[2\] vm_entry: mode normal, /);
    expect((await cli("bcc", "verify", trace, "--at", "40")).stdout[0]).toBe("DICE chain (VM 128 after event 40): valid, root key + 2 certificates");
    expect((await cli("bcc", "verify", trace, "--at", "10")).code).toBe(2); // no chain yet
  });

  it("raw CBOR: exit 0 valid, 1 naming the bad entry, 2 for bad input", async () => {
    const { s } = run(pvmBootScenario);
    const h = s.pvm.vms.byId[0x80]!.handover!;
    const good = join(dir, "handover.cbor");
    writeFileSync(good, encodeHandover(h));
    expect((await cli("bcc", "verify", good)).code).toBe(0);
    const chain = handoverBcc(h);
    const bad = chain.slice();
    bad[bad.length - 5] = bad[bad.length - 5]! ^ 1; // inside the last certificate's signature
    const badFile = join(dir, "bad.cbor");
    writeFileSync(badFile, bad);
    const r = await cli("bcc", "verify", badFile);
    expect(r.code).toBe(1);
    expect(r.stderr[0]).toBe("hvsim: DICE chain (CBOR file): invalid at entry 2: signature does not verify under the previous entry's key");
    const junk = join(dir, "junk.bin");
    writeFileSync(junk, "hello");
    expect((await cli("bcc", "verify", junk)).code).toBe(2);
    expect((await cli("bcc", "verify", join(dir, "missing"))).code).toBe(2);
  });
});
