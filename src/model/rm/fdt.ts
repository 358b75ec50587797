/**
 * A flattened device tree writer (Devicetree Specification v0.4 §5: header, memory reservation
 * block, structure block, strings block; big-endian cells). Only what the RM emits: nodes with
 * string, string-list, u32 and u64 properties. Pure and deterministic (properties keep their
 * order, names are interned in first-use order), so the bytes it writes into a guest are the same
 * on every machine.
 */

/** A property value: raw bytes, a string (NUL-terminated), a string list, or cells. */
export type FdtValue = Uint8Array | string | readonly string[] | { readonly u32: readonly number[] } | { readonly u64: readonly number[] };

export interface FdtNode {
  readonly name: string;
  readonly props: readonly (readonly [string, FdtValue])[];
  readonly children: readonly FdtNode[];
}

const MAGIC = 0xd00dfeed;
const VERSION = 17;
const LAST_COMPATIBLE_VERSION = 16;
const HEADER_BYTES = 40;
const RESERVE_MAP_BYTES = 16; // the one terminating {address 0, size 0} entry
const FDT_BEGIN_NODE = 1;
const FDT_END_NODE = 2;
const FDT_PROP = 3;
const FDT_END = 9;

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0) & 0x7f);

function valueBytes(v: FdtValue): number[] {
  if (v instanceof Uint8Array) return [...v];
  if (typeof v === "string") return [...ascii(v), 0];
  if (Array.isArray(v)) return (v as readonly string[]).flatMap((s) => [...ascii(s), 0]);
  if ("u32" in v) return v.u32.flatMap((x) => be(x, 4));
  return (v as { u64: readonly number[] }).u64.flatMap((x) => [...be(Math.floor(x / 2 ** 32), 4), ...be(x >>> 0, 4)]);
}

function be(v: number, n: number): number[] {
  const out: number[] = [];
  for (let i = n - 1; i >= 0; i--) out.push((v >>> (8 * i)) & 0xff);
  return out;
}

function pad4(b: number[]): void {
  while (b.length % 4 !== 0) b.push(0);
}

/** Encodes a tree (its root node's name is ignored: the root is always ""). */
export function encodeFdt(root: FdtNode): Uint8Array {
  const strings: number[] = [];
  const offsets = new Map<string, number>();
  const nameOffset = (name: string): number => {
    let at = offsets.get(name);
    if (at === undefined) {
      at = strings.length;
      offsets.set(name, at);
      strings.push(...ascii(name), 0);
    }
    return at;
  };
  const dt: number[] = [];
  const node = (n: FdtNode, isRoot: boolean): void => {
    dt.push(...be(FDT_BEGIN_NODE, 4), ...(isRoot ? [] : ascii(n.name)), 0);
    pad4(dt);
    for (const [name, value] of n.props) {
      const bytes = valueBytes(value);
      dt.push(...be(FDT_PROP, 4), ...be(bytes.length, 4), ...be(nameOffset(name), 4), ...bytes);
      pad4(dt);
    }
    for (const c of n.children) node(c, false);
    dt.push(...be(FDT_END_NODE, 4));
  };
  node(root, true);
  dt.push(...be(FDT_END, 4));
  const offStruct = HEADER_BYTES + RESERVE_MAP_BYTES;
  const offStrings = offStruct + dt.length;
  const total = offStrings + strings.length;
  const header = [MAGIC, total, offStruct, offStrings, HEADER_BYTES, VERSION, LAST_COMPATIBLE_VERSION, 0, strings.length, dt.length].flatMap((x) => be(x, 4));
  const out = new Uint8Array(total);
  out.set(header, 0);
  out.set(dt, offStruct);
  out.set(strings, offStrings);
  return out;
}

/**
 * A root property of a flattened tree as a string (without its NUL), or null when `b` is not an FDT
 * or the root has no such property. Reads only what `encodeFdt` writes; never throws.
 */
export function fdtRootString(b: Uint8Array, name: string): string | null {
  const u32 = (at: number): number => (at + 4 <= b.length ? ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0 : -1);
  if (u32(0) !== MAGIC) return null;
  const offStruct = u32(8);
  const offStrings = u32(12);
  if (offStruct < 0 || offStrings < 0 || offStruct >= b.length) return null;
  let at = offStruct;
  if (u32(at) !== FDT_BEGIN_NODE) return null;
  at += 8; // the root's empty name, padded
  const cString = (from: number): string | null => {
    const end = b.indexOf(0, from);
    return end < 0 ? null : new TextDecoder().decode(b.subarray(from, end));
  };
  while (u32(at) === FDT_PROP) {
    const len = u32(at + 4);
    const key = cString(offStrings + u32(at + 8));
    const value = at + 12;
    if (len < 0 || value + len > b.length) return null;
    if (key === name) return new TextDecoder().decode(b.subarray(value, len > 0 && b[value + len - 1] === 0 ? value + len - 1 : value + len));
    at = value + ((len + 3) & ~3);
  }
  return null;
}
