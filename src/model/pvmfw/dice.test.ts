import { createHash, hkdfSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { fixture } from "../../../test/fixtures/avb/fixtures.ts";
import { verifyAvbImage } from "./avb.ts";
import { cborDecode, splitCborArray } from "./dice-cbor.ts";
import {
  CONFIG_KEY,
  CWT,
  DICE_MODE,
  diceExtend,
  diceRoot,
  encodeBcc,
  pvmfwDiceInputs,
  verifyBcc,
  type DiceInputs,
  type DiceLayer,
} from "./dice.ts";
import { diceCertificateId, ed25519PublicFromSeed } from "./dice-format.ts";

const uds = new Uint8Array(32).map((_, i) => i);
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

const romInputs: DiceInputs = {
  codeHash: fill(64, 0x11),
  configValue: fill(64, 0x22),
  authorityHash: fill(64, 0x33),
  mode: DICE_MODE.NORMAL,
  hidden: fill(64, 0x44),
};

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** A 3-certificate chain: ROM-ish layer, pvmfw layer (from the real ri5 image), payload layer. */
function threeLayers(): DiceLayer {
  const r = verifyAvbImage(fixture("kernel_signed_ri5.img"), { trustedPublicKey: fixture("pvmfw_key_rsa2048.avbpubkey") });
  if (!r.ok) throw new Error(r.detail);
  const pvmfw = diceExtend(diceRoot(uds), romInputs);
  const vmEntry = diceExtend(
    pvmfw,
    pvmfwDiceInputs({
      kernelDigest: Buffer.from(r.hashDigest, "hex"),
      trustedPublicKey: r.publicKey,
      rollbackIndex: r.rollbackIndex,
      debug: false,
      salt: fill(64, 0x55),
      profileName: "android.15",
    }),
  );
  return diceExtend(vmEntry, { ...romInputs, codeHash: fill(64, 0x66), configDescriptor: Uint8Array.of(0xa0) });
}

describe("DICE derivation", () => {
  it("derives Ed25519 keys as RFC 8032 does (test vector 1)", () => {
    const seed = Buffer.from("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "hex");
    expect(hex(ed25519PublicFromSeed(seed))).toBe("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  });

  it("follows DiceMainFlow: HKDF-SHA512 over the current CDIs with hashed inputs as salt", () => {
    const root = diceRoot(uds);
    const child = diceExtend(root, romInputs);
    const h = (...p: Uint8Array[]) => createHash("sha512").update(Buffer.concat(p)).digest();
    const mode = Uint8Array.of(1);
    const attestSalt = h(romInputs.codeHash, romInputs.configValue as Uint8Array, romInputs.authorityHash, mode, fill(64, 0x44));
    const sealSalt = h(romInputs.authorityHash, mode, fill(64, 0x44));
    expect(hex(child.cdiAttest)).toBe(Buffer.from(hkdfSync("sha512", uds, attestSalt, "CDI_Attest", 32)).toString("hex"));
    expect(hex(child.cdiSeal)).toBe(Buffer.from(hkdfSync("sha512", uds, sealSalt, "CDI_Seal", 32)).toString("hex"));
    expect(child.id).toMatch(/^[0-7][0-9a-f]{39}$/); // 20 bytes, top bit cleared
    expect(child.id).toBe(diceCertificateId(child.publicKey));
  });

  it("is deterministic", () => {
    expect(encodeBcc(threeLayers().chain)).toEqual(encodeBcc(threeLayers().chain));
  });

  it("changes CDI_Attest and the leaf key with the code hash, but not CDI_Seal", () => {
    const root = diceRoot(uds);
    const a = diceExtend(root, romInputs);
    const b = diceExtend(root, { ...romInputs, codeHash: fill(64, 0x12) });
    expect(hex(a.cdiAttest)).not.toBe(hex(b.cdiAttest));
    expect(hex(a.publicKey)).not.toBe(hex(b.publicKey));
    expect(hex(a.cdiSeal)).toBe(hex(b.cdiSeal));
  });

  it("changes CDI_Seal with the authority, mode or hidden input", () => {
    const root = diceRoot(uds);
    const a = hex(diceExtend(root, romInputs).cdiSeal);
    expect(hex(diceExtend(root, { ...romInputs, authorityHash: fill(64, 1) }).cdiSeal)).not.toBe(a);
    expect(hex(diceExtend(root, { ...romInputs, mode: DICE_MODE.DEBUG }).cdiSeal)).not.toBe(a);
    expect(hex(diceExtend(root, { ...romInputs, hidden: fill(64, 1) }).cdiSeal)).not.toBe(a);
  });

  it("rejects wrongly sized inputs", () => {
    expect(() => diceRoot(new Uint8Array(16))).toThrow(RangeError);
    expect(() => diceExtend(diceRoot(uds), { ...romInputs, codeHash: fill(32, 0) })).toThrow(RangeError);
  });
});

describe("the boot certificate chain", () => {
  it("verifies a good chain and reports each entry", () => {
    const leaf = threeLayers();
    const r = verifyBcc(encodeBcc(leaf.chain));
    if (!r.ok) throw new Error(`${r.index}: ${r.reason}`);
    expect(r.entries.map((e) => e.index)).toEqual([1, 2, 3]);
    expect(r.entries[1]).toMatchObject({ componentName: "vm_entry", mode: DICE_MODE.NORMAL, profileName: "android.15" });
    expect(r.entries[2]?.subject).toBe(leaf.id);
    expect(hex(r.entries[2]?.subjectPublicKey ?? new Uint8Array())).toBe(hex(leaf.publicKey));
    expect(r.entries[1]?.issuer).toBe(r.entries[0]?.subject);
    expect(hex(r.rootPublicKey)).toBe(hex(diceRoot(uds).publicKey));
  });

  it("uses the Open DICE claim keys in the CWT payload", () => {
    const items = splitCborArray(encodeBcc(threeLayers().chain)).items;
    const sign1 = cborDecode(items[2] as Uint8Array) as unknown[];
    const claims = cborDecode(sign1[2] as Uint8Array) as Map<number, unknown>;
    for (const k of [CWT.ISS, CWT.SUB, CWT.CODE_HASH, CWT.CONFIG_DESCRIPTOR, CWT.CONFIG_HASH, CWT.AUTHORITY_HASH, CWT.MODE, CWT.SUBJECT_PUBLIC_KEY, CWT.KEY_USAGE]) {
      expect(claims.has(k), String(k)).toBe(true);
    }
    const config = cborDecode(claims.get(CWT.CONFIG_DESCRIPTOR) as Uint8Array) as Map<number, unknown>;
    expect(config.get(CONFIG_KEY.COMPONENT_NAME)).toBe("vm_entry");
    expect(config.get(CONFIG_KEY.SECURITY_VERSION)).toBe(5);
  });

  it("names the tampered entry for every flipped byte of a certificate", () => {
    const bcc = encodeBcc(threeLayers().chain);
    const items = splitCborArray(bcc).items;
    const start = (items[2] as Uint8Array).byteOffset - bcc.byteOffset;
    const end = start + (items[2] as Uint8Array).length;
    for (let off = start; off < end; off++) {
      const bad = bcc.slice();
      bad[off] = (bad[off] as number) ^ 0x01;
      const r = verifyBcc(bad);
      expect(r.ok ? "ok" : r.index, `offset ${off}`).toBe(2);
    }
  });

  it("blames the first certificate when the root key is altered", () => {
    const bcc = encodeBcc(threeLayers().chain);
    const rootLen = (splitCborArray(bcc).items[0] as Uint8Array).length;
    const bad = bcc.slice();
    bad[1 + rootLen - 1] = (bad[1 + rootLen - 1] as number) ^ 0x01; // last byte of the root key's x
    expect(verifyBcc(bad)).toMatchObject({ ok: false, index: 1 });
  });

  it("refuses garbage, a root-only chain and trailing bytes", () => {
    expect(verifyBcc(new Uint8Array(0))).toMatchObject({ ok: false, index: -1 });
    expect(verifyBcc(Uint8Array.of(0xa0))).toMatchObject({ ok: false, index: -1 });
    expect(verifyBcc(encodeBcc(diceRoot(uds).chain))).toMatchObject({ ok: false, index: -1 });
    const good = encodeBcc(threeLayers().chain);
    expect(verifyBcc(Uint8Array.of(...good, 0))).toMatchObject({ ok: false, index: -1 });
  });
});

describe("pvmfwDiceInputs", () => {
  it("hashes kernel and initrd digests into the code and the trusted key into the authority", () => {
    const key = fixture("pvmfw_key_rsa2048.avbpubkey");
    const kernel = fill(32, 1);
    const i = pvmfwDiceInputs({ kernelDigest: kernel, trustedPublicKey: key, rollbackIndex: 5, debug: true, salt: fill(64, 0) });
    expect(hex(i.codeHash)).toBe(createHash("sha512").update(kernel).update(fill(32, 0)).digest("hex"));
    expect(hex(i.authorityHash)).toBe(createHash("sha512").update(key).digest("hex"));
    expect(i.mode).toBe(DICE_MODE.DEBUG);
  });
});
