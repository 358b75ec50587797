import { Virtualizer, elementScroll, observeElementOffset, observeElementRect } from "@tanstack/virtual-core";
import { useEffect, useLayoutEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { get, isAbort, type EventWindow } from "./api.ts";

/**
 * The events around the position, one row each as `hvsim log` prints it (the server formats them),
 * filtered by kind and VM. Virtualised with TanStack Virtual: only the rows in view are in the DOM;
 * the server sends a window of rows around the position and more when the list is scrolled to an
 * edge, so a long trace is never sent whole.
 */
export interface Filter {
  readonly kind?: string;
  readonly vm?: number;
}

interface Props {
  readonly at: number;
  readonly kinds: readonly string[];
  readonly vms: readonly number[];
  readonly filter: Filter;
  readonly onFilter: (f: Filter) => void;
  readonly onSeek: (n: number) => void;
}

const ROW = 20;
const PAGE = 150;
/** Rows kept at most: scrolling far one way drops the other end. */
const KEEP = 3000;

type Rows = EventWindow["rows"];

interface Loaded {
  readonly rows: Rows;
  readonly startReached: boolean;
  readonly endReached: boolean;
  readonly key: string;
  /** Which fresh window these rows grew from: a page fetched at an edge of an older one is dropped. */
  readonly gen: number;
  readonly scanned: readonly [number, number];
}

function useVirtualizer(count: number, scroller: { current: HTMLElement | null }): Virtualizer<HTMLElement, HTMLElement> {
  const [, rerender] = useReducer((n: number) => n + 1, 0);
  const v = useMemo(
    () =>
      new Virtualizer<HTMLElement, HTMLElement>({
        count,
        getScrollElement: () => scroller.current,
        estimateSize: () => ROW,
        overscan: 12,
        scrollToFn: elementScroll,
        observeElementRect,
        observeElementOffset,
        onChange: () => rerender(0),
      }),
    [],
  );
  v.setOptions({ ...v.options, count });
  useLayoutEffect(() => v._didMount(), []);
  useLayoutEffect(() => v._willUpdate());
  return v;
}

/** Index of the row to show as current: the last row at or before the position. */
function currentRow(rows: Rows, at: number): number {
  let lo = 0;
  let hi = rows.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (rows[mid]!.seq <= at) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

export function EventList({ at, kinds, vms, filter, onFilter, onSeek }: Props) {
  const [loaded, setLoaded] = useState<Loaded>({ rows: [], startReached: true, endReached: true, key: "", gen: 0, scanned: [0, 0] });
  const gen = useRef(0);
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const busy = useRef(false);
  const fkey = JSON.stringify(filter);
  const v = useVirtualizer(loaded.rows.length, scroller);
  const params = { kind: filter.kind, vm: filter.vm };

  // A position outside the loaded rows (or a new filter) loads a fresh window around it.
  useEffect(() => {
    const rows = loaded.rows;
    const inside = loaded.key === fkey && rows.length > 0 && at >= rows[0]!.seq && (at <= rows[rows.length - 1]!.seq || loaded.endReached);
    if (inside) return;
    const ctl = new AbortController();
    get<EventWindow>("events", { at, before: PAGE, after: PAGE, ...params }, ctl.signal).then(
      (w) => {
        setError(null);
        gen.current += 1;
        setLoaded({ rows: w.rows, startReached: w.startReached, endReached: w.endReached, key: fkey, gen: gen.current, scanned: w.scanned });
      },
      (e: unknown) => !isAbort(e) && setError((e as Error).message),
    );
    return () => ctl.abort();
  }, [at, fkey]);

  const cur = currentRow(loaded.rows, at);
  useEffect(() => {
    // Before the first row (genesis, or a filter's first match later on): the top of the list.
    if (loaded.rows.length > 0) v.scrollToIndex(Math.max(cur, 0), { align: "auto" });
  }, [cur, loaded]);

  const items = v.getVirtualItems();
  // Scrolled near an edge: fetch the next page that way.
  useEffect(() => {
    if (busy.current || items.length === 0 || loaded.rows.length === 0) return;
    const rows = loaded.rows;
    const first = items[0]!.index;
    const lastItem = items[items.length - 1]!.index;
    const before = first < 20 && !loaded.startReached;
    const after = lastItem > rows.length - 20 && !loaded.endReached;
    if (!before && !after) return;
    busy.current = true;
    const anchor = before ? rows[0]!.seq : rows[rows.length - 1]!.seq;
    const grewFrom = loaded.gen;
    get<EventWindow>("events", { at: anchor, before: before ? PAGE : 0, after: before ? 0 : PAGE, ...params })
      .then((w) => {
        const fresh = w.rows.filter((r) => r.seq !== anchor);
        setLoaded((l) => {
          // A far jump loaded another window while this page was on its way: it belongs to none.
          if (l.key !== fkey || l.gen !== grewFrom) return l;
          if (before) {
            const kept = [...fresh, ...l.rows].slice(0, KEEP);
            const el = scroller.current;
            if (el !== null) el.scrollTop += fresh.length * ROW;
            return { ...l, rows: kept, startReached: w.startReached, endReached: l.endReached && kept.length === fresh.length + l.rows.length };
          }
          const all = [...l.rows, ...fresh];
          const kept = all.slice(Math.max(0, all.length - KEEP));
          if (kept.length < all.length && scroller.current !== null) scroller.current.scrollTop -= (all.length - kept.length) * ROW;
          return { ...l, rows: kept, startReached: l.startReached && kept.length === all.length, endReached: w.endReached };
        });
      }, () => {})
      .finally(() => (busy.current = false));
  });

  return (
    <section class="pane events" aria-label="events">
      <div class="pane-head">
        <span class="pane-title">Events</span>
        <select aria-label="filter by kind" data-testid="filter-kind" value={filter.kind ?? ""} onChange={(e) => onFilter({ ...filter, kind: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">every kind</option>
          {kinds.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
        <select
          aria-label="filter by VM"
          data-testid="filter-vm"
          value={filter.vm === undefined ? "" : String(filter.vm)}
          onChange={(e) => {
            const raw = (e.target as HTMLSelectElement).value;
            onFilter({ ...filter, vm: raw === "" ? undefined : Number(raw) });
          }}
        >
          <option value="">every VM</option>
          {vms.map((vm) => (
            <option key={vm} value={vm}>
              VM {vm}
            </option>
          ))}
        </select>
      </div>
      {error !== null && <p class="error">{error}</p>}
      <div class="event-scroll" ref={scroller} data-testid="event-list">
        <div style={{ height: `${v.getTotalSize()}px`, position: "relative" }}>
          {items.map((item) => {
            const r = loaded.rows[item.index]!;
            return (
              <div
                key={r.seq}
                class={`event-row${item.index === cur ? (r.seq === at ? " current" : " before-current") : ""}`}
                data-seq={r.seq}
                title={r.line}
                style={{ transform: `translateY(${item.start}px)` }}
                onClick={() => onSeek(r.seq)}
              >
                {r.line}
              </div>
            );
          })}
        </div>
        {loaded.rows.length === 0 && error === null && (
          <p class="empty" data-testid="events-empty">
            {loaded.startReached && loaded.endReached ? "no events match" : `no events match in #${loaded.scanned[0]}..#${loaded.scanned[1]} (a filtered window searches that far around the position; move it to search elsewhere)`}
          </p>
        )}
      </div>
    </section>
  );
}
