import { describe, expect, it } from "vitest";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { cli, hasStackTrace, tempDir } from "./helpers.ts";

const fx = (name: string) => fileURLToPath(new URL(`./fixtures/avb/${name}`, import.meta.url));
const key = fx("pvmfw_key_rsa2048.avbpubkey");

describe("hvsim avb verify", () => {
  it("exits 0 with the rollback index and digest for a correctly signed image", async () => {
    const r = await cli("avb", "verify", fx("kernel_signed_ri5.img"), "--key", key);
    expect(r.code).toBe(0);
    expect(r.stdout[1]).toBe("  rollback index   5 (location 0)");
    expect(r.stdout[2]).toMatch(/^ {2}vbmeta digest {4}sha256:[0-9a-f]{64}$/);
    const j = await cli("avb", "verify", fx("kernel_signed_ri3.img"), "--key", key, "--json");
    expect(JSON.parse(j.stdout[0]!)).toMatchObject({ ok: true, rollbackIndex: "0x3", algorithm: "SHA256_RSA2048", partitionName: "boot" });
  });

  it("exits 1 with AVB's own result name when the key, the bytes or the rollback index are wrong", async () => {
    const other = await cli("avb", "verify", fx("kernel_signed_otherkey.img"), "--key", key);
    expect(other.code).toBe(1);
    expect(other.stderr[0]).toMatch(/: PUBLIC_KEY_REJECTED \(ERROR_PUBLIC_KEY_REJECTED\): /);

    const flipped = Buffer.from(readFileSync(fx("kernel_signed_ri5.img")));
    flipped[1234]! ^= 1;
    const f = join(tempDir(), "flipped.img");
    writeFileSync(f, flipped);
    const v = await cli("avb", "verify", f, "--key", key, "--json");
    expect(v.code).toBe(1);
    expect(JSON.parse(v.stdout[0]!)).toMatchObject({ ok: false, result: "ERROR_VERIFICATION", cliName: "VERIFICATION" });

    const rb = await cli("avb", "verify", fx("kernel_signed_ri3.img"), "--key", key, "--rollback", "4");
    expect(rb.code).toBe(1);
    expect(rb.stderr[0]).toMatch(/: ROLLBACK_INDEX \(ERROR_ROLLBACK_INDEX\): /);
  });

  it("exits 2 for a file that is not an AVB image at all, or a missing file, without a stack trace", async () => {
    const f = join(tempDir(), "zeros.img");
    writeFileSync(f, Buffer.alloc(1024));
    const r = await cli("avb", "verify", f, "--key", key);
    expect(r.code).toBe(2);
    expect(r.stderr[0]).toMatch(/: NOT_AVB_IMAGE \(/);
    const missing = await cli("avb", "verify", join(tempDir(), "nope.img"), "--key", key);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toEqual([expect.stringMatching(/^hvsim: image .*nope\.img: no such file$/)]);
    expect(hasStackTrace([...r.stderr, ...missing.stderr])).toBe(false);
  });
});
