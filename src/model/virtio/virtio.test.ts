import { produce } from "immer";
import { describe, expect, it } from "vitest";
import { mmioRead, mmioWrite, newDevice, type Dma } from "./device.ts";
import { REG, STATUS, DEVICE_ID, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from "./regs.ts";

/** Guest memory as a sparse byte map; `holes` are addresses the device cannot reach. */
function fakeDma(holes: (a: number) => boolean = () => false): Dma & { mem: Map<number, number> } {
  const mem = new Map<number, number>();
  return {
    mem,
    read: (gpa, len) => (holes(gpa) ? null : Uint8Array.from({ length: len }, (_, i) => mem.get(gpa + i) ?? 0)),
    readInto: (gpa, out, len) => {
      if (holes(gpa)) return false;
      for (let i = 0; i < len; i++) out[i] = mem.get(gpa + i) ?? 0;
      return true;
    },
    write: (gpa, data, len) => {
      if (holes(gpa)) return false;
      for (let i = 0; i < len; i++) mem.set(gpa + i, data[i]!);
      return true;
    },
  };
}
const le = (v: number, n: number): number[] => Array.from({ length: n }, (_, i) => Math.floor(v / 2 ** (8 * i)) & 0xff);
const put = (dma: Dma, gpa: number, ...parts: number[][]) => dma.write(gpa, Uint8Array.from(parts.flat()), parts.flat().length);

function ready(dma: Dma) {
  const d = newDevice(1, 3, 0x80, 0x0a00_0000, DEVICE_ID.BLOCK, 33, 16);
  for (const [r, v] of [[REG.Status, 1], [REG.Status, 3], [REG.DriverFeaturesSel, 1], [REG.DriverFeatures, 1], [REG.Status, 11], [REG.QueueSel, 0], [REG.QueueNum, 4], [REG.QueueDescLow, 0x1000], [REG.QueueDriverLow, 0x1100], [REG.QueueDeviceLow, 0x1200], [REG.QueueReady, 1], [REG.Status, 15]] as const) {
    mmioWrite(d, r, v, dma);
  }
  return d;
}

/** One block request using descriptors 0..2, avail slot `idx`. */
function request(dma: Dma, idx: number, type: number, sector: number) {
  put(dma, 0x2000, le(type, 4), le(0, 4), le(sector, 8));
  put(dma, 0x1000, [...le(0x2000, 8), ...le(16, 4), ...le(VIRTQ_DESC_F_NEXT, 2), ...le(1, 2)], [...le(0x3000, 8), ...le(512, 4), ...le(VIRTQ_DESC_F_NEXT | (type === 0 ? VIRTQ_DESC_F_WRITE : 0), 2), ...le(2, 2)], [...le(0x2100, 8), ...le(1, 4), ...le(VIRTQ_DESC_F_WRITE, 2), ...le(0, 2)]);
  put(dma, 0x1104 + 2 * (idx % 4), le(0, 2));
  put(dma, 0x1102, le(idx + 1, 2));
}

describe("virtio-mmio block device", () => {
  it("probes like a modern virtio-mmio block device", () => {
    const d = newDevice(1, 3, 0x80, 0, DEVICE_ID.BLOCK, 33, 2048);
    expect([REG.MagicValue, REG.Version, REG.DeviceID, REG.VendorID, REG.QueueNumMax, REG.Config].map((r) => mmioRead(d, r))).toEqual([0x74726976, 2, 2, 0x1af4, 256, 2048]);
    mmioWrite(d, REG.DeviceFeaturesSel, 1, fakeDma());
    expect(mmioRead(d, REG.DeviceFeatures)).toBe(1); // VERSION_1
  });

  it("refuses FEATURES_OK without VERSION_1, and Status 0 resets", () => {
    const dma = fakeDma();
    const d = newDevice(1, 3, 0x80, 0, DEVICE_ID.BLOCK, 33, 2048);
    mmioWrite(d, REG.Status, 3, dma);
    mmioWrite(d, REG.Status, 11, dma);
    expect(mmioRead(d, REG.Status)).toBe(3);
    mmioWrite(d, REG.Status, 0, dma);
    expect(mmioRead(d, REG.Status)).toBe(0);
  });

  it("writes then reads a sector through the virtqueue, with used ring and interrupt", () => {
    const dma = fakeDma();
    const d = ready(dma);
    dma.write(0x3000, new Uint8Array(512).fill(0xab), 512);
    expect(mmioWrite(d, REG.QueueNotify, 0, dma)).toEqual({ value: 0, irq: false, note: "notify q0: nothing new" });
    request(dma, 0, 1, 5);
    expect(mmioWrite(d, REG.QueueNotify, 0, dma)).toEqual({ value: 0, irq: true, note: "q0: blk write sector 5 x1 -> OK" });
    expect(mmioRead(d, REG.InterruptStatus)).toBe(1);
    expect([...dma.read(0x1200, 12)!]).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0]); // used idx 1, elem {id 0, len 1}
    mmioWrite(d, REG.InterruptACK, 1, dma);
    expect(mmioRead(d, REG.InterruptStatus)).toBe(0);
    dma.write(0x3000, new Uint8Array(512), 512);
    request(dma, 1, 0, 5);
    mmioWrite(d, REG.QueueNotify, 0, dma);
    expect(dma.read(0x3000, 512)!.every((b) => b === 0xab)).toBe(true);
    expect(dma.read(0x2100, 1)![0]).toBe(0);
    request(dma, 2, 0, 16);
    expect(mmioWrite(d, REG.QueueNotify, 0, dma).note).toBe("q0: blk read sector 16 x0 -> 1"); // beyond capacity: IOERR
  });

  it("copies sector data in: in place on a plain (fast path) copy, copy-on-write on an immer draft", () => {
    const dma = fakeDma();
    const d = ready(dma);
    const writeSector5 = (dev: typeof d, idx: number, fill: number) => {
      dma.write(0x3000, new Uint8Array(512).fill(fill), 512);
      request(dma, idx, 1, 5);
      mmioWrite(dev, REG.QueueNotify, 0, dma);
    };
    writeSector5(d, 0, 1);
    const sector = d.disk[5]!;
    writeSector5(d, 1, 2);
    expect(d.disk[5]).toBe(sector);
    expect(sector[0]).toBe(2);
    const next = produce(d, (draft) => writeSector5(draft, 2, 3));
    expect(sector[0]).toBe(2); // the earlier state keeps its bytes
    expect(next.disk[5]![511]).toBe(3);
  });

  it("a ring the device cannot reach sets DEVICE_NEEDS_RESET and raises a config interrupt", () => {
    const dma = fakeDma((a) => a >= 0x1000 && a < 0x2000);
    const d = ready(dma);
    expect(mmioWrite(d, REG.QueueNotify, 0, dma)).toEqual({ value: 0, irq: true, note: "q0: DEVICE_NEEDS_RESET (avail ring out of the device's reach)" });
    expect(mmioRead(d, REG.Status) & STATUS.DEVICE_NEEDS_RESET).toBe(STATUS.DEVICE_NEEDS_RESET);
    expect(mmioRead(d, REG.InterruptStatus)).toBe(2);
  });
});
