import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import type { TimelineView } from "./api.ts";
import { typing, useApi, useSettled } from "./hooks.ts";
import { TIMELINE_WIDTH_MAX } from "../limits.ts";

/**
 * The timeline: one row per physical CPU and per vCPU, grouped as the Perfetto export groups them
 * (the hypervisor, then each VM), with run-state slices and, above them, a lane per mark kind. The
 * x axis is the event index, like the scrubber. Drawn on a canvas: a zoomed-out trace has more
 * slices than a DOM could hold, and the server already reduces them to what the width can show.
 * Wheel zooms about the pointer, drag pans, a click moves the position there.
 */
interface Props {
  readonly events: number;
  readonly at: number;
  readonly marks: { readonly a?: number; readonly b?: number };
  readonly violation: number | null;
  /** Events the background overview has read: the timeline refetches as it grows. */
  readonly coverage: number;
  readonly onSeek: (n: number) => void;
}

const GUTTER = 132;
const RULER = 20;
const GROUP_ROW = 18;
const TRACK_ROW = 22;
const MIN_SPAN = 16;

export const MARK_KINDS = [
  { bit: 1, name: "hypercall", color: "#7b3fc4" },
  { bit: 2, name: "fault", color: "#d23c3c" },
  { bit: 4, name: "irq", color: "#1f6fd1" },
  { bit: 8, name: "rm", color: "#d46b08" },
] as const;

const STATE_COLORS: Readonly<Record<string, string>> = { running: "#2e9e4f", runnable: "#e8a317", WFI: "#7aa6e0", blocked: "#b9bec6" };

function colorOf(name: string): string {
  const known = STATE_COLORS[name];
  if (known !== undefined) return known;
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `hsl(${h % 360} 55% 52%)`;
}

interface Row {
  readonly y: number;
  readonly height: number;
  readonly label: string;
  readonly header: boolean;
  /** Track ids drawn on this row: a header carries its group's machine-wide or VM-wide events. */
  readonly track: string | null;
  readonly trackIndex: number;
}

function layout(view: TimelineView | null): Row[] {
  const rows: Row[] = [];
  if (view === null) return rows;
  let y = RULER;
  let group: string | null = null;
  view.tracks.forEach((t, i) => {
    const isHeaderTrack = t.kind === "machine" || t.kind === "vm";
    if (t.group !== group) {
      group = t.group;
      rows.push({ y, height: GROUP_ROW, label: t.group, header: true, track: isHeaderTrack ? t.id : null, trackIndex: isHeaderTrack ? i : -1 });
      y += GROUP_ROW;
      if (isHeaderTrack) return;
    } else if (isHeaderTrack) {
      const h = rows[rows.length - 1]!;
      rows[rows.length - 1] = { ...h, track: t.id, trackIndex: i };
      return;
    }
    rows.push({ y, height: TRACK_ROW, label: t.label, header: false, track: t.id, trackIndex: i });
    y += TRACK_ROW;
  });
  return rows;
}

/** A round step for ruler ticks: 1, 2, 5 times a power of ten, at least `min`. */
function niceStep(min: number): number {
  const p = 10 ** Math.floor(Math.log10(Math.max(1, min)));
  for (const m of [1, 2, 5, 10]) if (m * p >= min) return m * p;
  return 10 * p;
}

export function Timeline({ events, at, marks, violation, coverage, onSeek }: Props) {
  const last = Math.max(0, events - 1);
  const [view, setView] = useState<readonly [number, number]>([0, last]);
  const [width, setWidth] = useState(900);
  const [hover, setHover] = useState("");
  const wrap = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const settled = useSettled(view, 80);
  const plot = Math.max(16, width - GUTTER);
  const data = useApi<TimelineView>(events > 0 ? "timeline" : null, { from: settled[0], to: settled[1], width: Math.min(TIMELINE_WIDTH_MAX, Math.round(plot)) }, coverage).data;
  const rows = useMemo(() => layout(data), [data]);
  const height = (rows.length === 0 ? RULER : rows[rows.length - 1]!.y + rows[rows.length - 1]!.height) + 2;

  useLayoutEffect(() => {
    const el = wrap.current;
    if (el === null) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  // Keep the position in view when it moves elsewhere (keys, a jump), at the same zoom.
  useEffect(() => {
    setView(([f, t]) => {
      if (at >= f && at <= t) return [f, t];
      const span = t - f;
      const from = Math.min(Math.max(0, at - Math.floor(span / 2)), Math.max(0, last - span));
      return [from, from + span];
    });
  }, [at, last]);

  const x = (i: number): number => GUTTER + ((i - view[0]) * plot) / (view[1] - view[0] + 1);
  const indexAt = (px: number): number => Math.max(0, Math.min(last, Math.floor(view[0] + ((px - GUTTER) * (view[1] - view[0] + 1)) / plot)));

  useEffect(() => {
    const c = canvas.current;
    if (c === null) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    const g = c.getContext("2d")!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    drawRuler(g, view, plot, x, width);
    if (data !== null) {
      g.save();
      g.beginPath();
      g.rect(GUTTER, 0, plot, height);
      g.clip();
      if (coverage < view[1]) {
        g.fillStyle = "#f3f3f3";
        g.fillRect(x(coverage + 1), RULER, width, height);
      }
      for (const row of rows) drawRow(g, row, data, x);
      drawCursor(g, x, at, marks, violation, height);
      g.restore();
      for (const row of rows) {
        g.fillStyle = row.header ? "#222" : "#444";
        g.font = row.header ? "bold 11px system-ui, sans-serif" : "11px system-ui, sans-serif";
        g.fillText(row.label, row.header ? 6 : 18, row.y + row.height / 2, GUTTER - 20);
      }
    }
    c.dataset.tracks = JSON.stringify(data === null ? [] : data.tracks.filter((t) => t.kind === "cpu" || t.kind === "vcpu").map((t) => t.id));
    c.dataset.view = `${view[0]}-${view[1]}`;
  });

  useEffect(() => {
    const c = canvas.current;
    if (c === null) return;
    const onWheel = (e: WheelEvent): void => {
      e.preventDefault();
      const rect = c.getBoundingClientRect();
      setView(([f, t]) => zoom([f, t], indexAtFor([f, t], e.clientX - rect.left), Math.exp(e.deltaY * 0.002), last));
    };
    const indexAtFor = (v: readonly [number, number], px: number): number => v[0] + ((px - GUTTER) * (v[1] - v[0] + 1)) / plot;
    c.addEventListener("wheel", onWheel, { passive: false });
    return () => c.removeEventListener("wheel", onWheel);
  }, [plot, last]);

  const drag = useRef<{ x0: number; view: readonly [number, number]; moved: boolean } | null>(null);
  const onDown = (e: MouseEvent): void => {
    drag.current = { x0: e.clientX, view, moved: false };
  };
  const onMove = (e: MouseEvent): void => {
    const rect = canvas.current!.getBoundingClientRect();
    const px = e.clientX - rect.left;
    const py = e.clientY - rect.top;
    const d = drag.current;
    if (d !== null && (e.buttons & 1) === 1) {
      const dx = e.clientX - d.x0;
      if (Math.abs(dx) > 3) d.moved = true;
      const span = d.view[1] - d.view[0];
      const shift = Math.round((-dx * (span + 1)) / plot);
      const from = Math.min(Math.max(0, d.view[0] + shift), Math.max(0, last - span));
      setView([from, from + span]);
      return;
    }
    setHover(describeHover(data, rows, px < GUTTER ? null : indexAt(px), py));
  };
  const onUp = (e: MouseEvent): void => {
    const d = drag.current;
    drag.current = null;
    if (d === null || d.moved) return;
    const rect = canvas.current!.getBoundingClientRect();
    if (e.clientX - rect.left >= GUTTER) onSeek(indexAt(e.clientX - rect.left));
  };
  const zoomBy = (f: number): void => setView((v) => zoom(v, Math.min(Math.max(at, v[0]), v[1]) + 0.5, f, last));
  // The keys the buttons' titles name.
  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      const f = e.key === "+" || e.key === "=" ? 0.5 : e.key === "-" ? 2 : e.key === "f" ? 0 : null;
      if (f === null) return;
      e.preventDefault();
      if (f === 0) setView([0, last]);
      else zoomBy(f);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [at, last]);

  return (
    <section class="timeline" aria-label="timeline">
      <div class="tl-bar">
        <span class="tl-title">Timeline</span>
        <button type="button" title="zoom in (+)" onClick={() => zoomBy(0.5)}>
          +
        </button>
        <button type="button" title="zoom out (-)" onClick={() => zoomBy(2)}>
          −
        </button>
        <button type="button" title="whole trace (f)" onClick={() => setView([0, last])}>
          fit
        </button>
        <span class="tl-range">
          #{view[0]} … #{view[1]}
          {data !== null && data.resolution > 1 ? ` · run states sampled every ${data.resolution} events` : ""}
          {coverage < last && events > 0 ? ` · reading the trace (${Math.floor(((coverage + 1) * 100) / events)}%)` : ""}
        </span>
        <span class="tl-legend">
          {MARK_KINDS.map((m) => (
            <span key={m.name}>
              <i style={{ background: m.color }} />
              {m.name}
            </span>
          ))}
          {Object.entries(STATE_COLORS).map(([name, c]) => (
            <span key={name}>
              <i class="slice" style={{ background: c }} />
              {name}
            </span>
          ))}
        </span>
      </div>
      <div class="tl-canvas" ref={wrap}>
        <canvas ref={canvas} onMouseDown={onDown} onMouseMove={onMove} onMouseUp={onUp} onMouseLeave={() => setHover("")} />
      </div>
      <div class="tl-hover">{hover || "\u00a0"}</div>
    </section>
  );
}

function zoom(v: readonly [number, number], centre: number, factor: number, last: number): [number, number] {
  const span = v[1] - v[0] + 1;
  const next = Math.round(Math.min(last + 1, Math.max(MIN_SPAN, span * factor)));
  let from = Math.round(centre - ((centre - v[0]) * next) / span);
  from = Math.min(Math.max(0, from), Math.max(0, last + 1 - next));
  return [from, Math.min(last, from + next - 1)];
}

function drawRuler(g: CanvasRenderingContext2D, view: readonly [number, number], plot: number, x: (i: number) => number, width: number): void {
  g.fillStyle = "#fafafa";
  g.fillRect(0, 0, width, RULER);
  g.strokeStyle = "#ccc";
  g.beginPath();
  g.moveTo(0, RULER - 0.5);
  g.lineTo(width, RULER - 0.5);
  g.stroke();
  const step = niceStep(((view[1] - view[0] + 1) * 90) / plot);
  g.fillStyle = "#666";
  for (let i = Math.ceil(view[0] / step) * step; i <= view[1]; i += step) {
    const px = Math.round(x(i)) + 0.5;
    g.beginPath();
    g.moveTo(px, RULER - 6);
    g.lineTo(px, RULER);
    g.stroke();
    g.fillText(`#${i}`, px + 3, RULER / 2 - 1);
  }
}

function drawRow(g: CanvasRenderingContext2D, row: Row, data: TimelineView, x: (i: number) => number): void {
  if (!row.header) {
    g.fillStyle = "#f7f7f9";
    g.fillRect(GUTTER, row.y + 1, 1e5, row.height - 2);
  }
  if (row.track === null) return;
  const slices = data.slices[row.track] ?? [];
  const top = row.y + 10;
  const h = row.height - 12;
  for (let k = 0; k < slices.length; k += 3) {
    const x0 = x(slices[k]!);
    const x1 = x(slices[k + 1]!);
    const name = data.names[slices[k + 2]!] ?? "?";
    g.fillStyle = colorOf(name);
    g.fillRect(x0, top, Math.max(1, x1 - x0), h);
    if (x1 - x0 > 48) {
      g.fillStyle = "#fff";
      g.fillText(name, Math.max(x0, GUTTER) + 3, top + h / 2, x1 - Math.max(x0, GUTTER) - 6);
    }
  }
  const lane = row.header ? 3 : 2;
  const laneTop = row.header ? row.y + 3 : row.y + 1;
  for (let k = 0; k < data.marks.length; k += 4) {
    if (data.marks[k + 2] !== row.trackIndex) continue;
    const x0 = x(data.marks[k]!);
    const w = Math.max(1.5, x(data.marks[k]! + data.marks[k + 1]!) - x0);
    const mask = data.marks[k + 3]!;
    MARK_KINDS.forEach((m, li) => {
      if ((mask & m.bit) === 0) return;
      g.fillStyle = m.color;
      g.fillRect(x0, laneTop + li * lane, w, lane);
    });
  }
}

function drawCursor(
  g: CanvasRenderingContext2D,
  x: (i: number) => number,
  at: number,
  marks: { readonly a?: number; readonly b?: number },
  violation: number | null,
  height: number,
): void {
  const line = (i: number, color: string, label: string, dash: number[]): void => {
    const px = Math.round((x(i) + x(i + 1)) / 2) + 0.5;
    g.strokeStyle = color;
    g.setLineDash(dash);
    g.beginPath();
    g.moveTo(px, RULER);
    g.lineTo(px, height);
    g.stroke();
    g.setLineDash([]);
    if (label !== "") {
      g.fillStyle = color;
      g.fillText(label, px + 3, RULER + 7);
    }
  };
  if (violation !== null) {
    const px = (x(violation) + x(violation + 1)) / 2;
    g.fillStyle = "#d23c3c";
    g.beginPath();
    g.moveTo(px - 6, RULER);
    g.lineTo(px + 6, RULER);
    g.lineTo(px, RULER + 9);
    g.fill();
  }
  if (marks.a !== undefined) line(marks.a, "#1f6fd1", "A", [4, 3]);
  if (marks.b !== undefined) line(marks.b, "#7b3fc4", "B", [4, 3]);
  if (at >= 0) line(at, "#111", "", []);
}

function describeHover(data: TimelineView | null, rows: readonly Row[], i: number | null, py: number): string {
  if (data === null || i === null) return "";
  const row = rows.find((r) => py >= r.y && py < r.y + r.height);
  if (row === undefined) return `#${i}`;
  const parts = [`#${i}`, row.label];
  const slices = row.track === null ? [] : (data.slices[row.track] ?? []);
  for (let k = 0; k < slices.length; k += 3) {
    if (slices[k]! <= i && i < slices[k + 1]!) parts.push(`${data.names[slices[k + 2]!]} #${slices[k]}..#${slices[k + 1]! - 1}`);
  }
  let mask = 0;
  for (let k = 0; k < data.marks.length; k += 4) {
    if (data.marks[k + 2] === row.trackIndex && data.marks[k]! <= i && i < data.marks[k]! + data.marks[k + 1]!) mask |= data.marks[k + 3]!;
  }
  const kinds = MARK_KINDS.filter((m) => (mask & m.bit) !== 0).map((m) => m.name);
  if (kinds.length > 0) parts.push(`marks: ${kinds.join(", ")}`);
  return parts.join(" · ");
}
