import { REF_BYTES_MIN, type ByteRefs } from "./delta.ts";

/**
 * The byte arrays the events since the last stored state carried, by content: what the next
 * snapshot delta may name instead of storing (delta.ts, REF). Keyed by the bytes themselves (as a
 * latin1 string), so a name always stands for exactly the bytes it replaces.
 */
export class WindowBytes implements ByteRefs {
  private readonly byContent = new Map<string, readonly [number, string]>();

  /** Notes a written block's byte column (entries of event index, field, bytes): its events' long byte fields. */
  noteColumn(first: number, column: readonly unknown[]): void {
    for (let j = 0; j < column.length; j += 3) this.byContent.set(contentKey(column[j + 2] as Uint8Array), [first + (column[j] as number), column[j + 1] as string]);
  }

  find(bytes: Uint8Array): readonly [number, string] | undefined {
    return bytes.length >= REF_BYTES_MIN ? this.byContent.get(contentKey(bytes)) : undefined;
  }

  /** A state was stored: the next delta's window starts after it. */
  clear(): void {
    this.byContent.clear();
  }
}

const contentKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1");
