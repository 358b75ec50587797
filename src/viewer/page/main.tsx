import { render } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import "./style.css";
import { get, type ChangeView, type ScanStatus, type Summary } from "./api.ts";
import { EventList, type Filter } from "./events.tsx";
import { readHash, typing, useApi, useSettled, writeHash } from "./hooks.ts";
import { CpuPanel, DiffPanel, InvariantsPanel } from "./panels.tsx";
import { SPEEDS, Scrubber } from "./scrubber.tsx";
import { Timeline } from "./timeline.tsx";
import { StateTree } from "./tree.tsx";

/**
 * The viewer page: a view of the server's answers (it holds no model logic). The position is the
 * one piece of state everything follows; it lives in the address (`#event=N`), so a link opens the
 * same place.
 */
function App() {
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    get<Summary>("summary").then(setSummary, (e: unknown) => setError((e as Error).message));
  }, []);
  if (error !== null) return <p class="fatal">The viewer could not read the trace: {error}</p>;
  if (summary === null) return <p class="loading">Loading the trace…</p>;
  return <Viewer summary={summary} />;
}

const clamp = (n: number, last: number): number => Math.max(-1, Math.min(last, n));

function useScanStatus(initial: ScanStatus): ScanStatus {
  const [status, setStatus] = useState(initial);
  useEffect(() => {
    if (status.phase === "done") return;
    const t = setTimeout(() => get<ScanStatus>("status").then(setStatus, () => {}), 500);
    return () => clearTimeout(t);
  }, [status]);
  return status;
}

function Viewer({ summary: first }: { readonly summary: Summary }) {
  const [summary, setSummary] = useState(first);
  const last = summary.events - 1;
  const initial = readHash();
  const [at, setAt] = useState(() => clamp(initial.event ?? Math.min(0, last), last));
  const [marks, setMarks] = useState<{ a?: number; b?: number }>(() => ({
    ...(initial.a === undefined ? {} : { a: clamp(initial.a, last) }),
    ...(initial.b === undefined ? {} : { b: clamp(initial.b, last) }),
  }));
  const [filter, setFilter] = useState<Filter>({});
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState<number>(SPEEDS[0]);
  const [toggles, setToggles] = useState<ReadonlyMap<string, boolean>>(new Map());
  const [help, setHelp] = useState(false);
  const scan = useScanStatus(summary.scan);
  const settled = useSettled(at, 40);
  const change = useApi<ChangeView>("change", { at: settled });
  const seek = useCallback((n: number) => setAt(clamp(Math.round(n), last)), [last]);

  // The summary's VM list grows as the background scan learns tracks: read it again when done.
  useEffect(() => {
    if (scan.phase === "done") get<Summary>("summary").then(setSummary, () => {});
  }, [scan.phase]);

  useEffect(() => writeHash({ event: at, ...marks }), [at, marks]);
  useEffect(() => {
    // A link pasted into an open tab: its position and its marks (writeHash then keeps them).
    const onHash = (): void => {
      const h = readHash();
      if (h.event !== undefined) seek(h.event);
      if (h.a !== undefined || h.b !== undefined) setMarks((m) => ({ ...m, ...(h.a === undefined ? {} : { a: clamp(h.a, last) }), ...(h.b === undefined ? {} : { b: clamp(h.b, last) }) }));
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, [seek, last]);

  // Play: advance at `speed` events per second, in ten steps a second.
  const carry = useRef(0);
  useEffect(() => {
    if (!playing) return;
    const t = setInterval(() => {
      carry.current += speed / 10;
      const n = Math.floor(carry.current);
      carry.current -= n;
      setAt((a) => {
        const next = clamp(a + n, last);
        if (next >= last) setPlaying(false);
        return next;
      });
    }, 100);
    return () => clearInterval(t);
  }, [playing, speed, last]);

  const mark = useCallback((which: "a" | "b") => setMarks((m) => ({ ...m, [which]: at })), [at]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      const by = e.shiftKey ? 100 : 1;
      const keys: Record<string, () => void> = {
        ArrowRight: () => seek(at + by),
        ArrowLeft: () => seek(at - by),
        Home: () => seek(-1),
        End: () => seek(last),
        " ": () => setPlaying((p) => !p),
        a: () => mark("a"),
        b: () => mark("b"),
        "?": () => setHelp((h) => !h),
        Escape: () => setHelp(false),
      };
      const k = keys[e.key];
      if (k === undefined) return;
      e.preventDefault();
      k();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [at, last, seek, mark]);

  const c = change.data !== null && change.data.at === settled ? change.data : null;
  const ev = (c?.event ?? null) as { vm?: unknown; vcpu?: unknown } | null;
  const vcpu = ev !== null && typeof ev.vm === "number" && typeof ev.vcpu === "number" ? { vm: ev.vm, vcpu: ev.vcpu } : null;
  const violation = scan.firstViolation?.index ?? null;
  const divergence = scan.divergence ?? summary.divergence;

  return (
    <div class="viewer">
      <header>
        <h1>
          hvsim view <span class="file">{summary.name}</span>
        </h1>
        <span class="meta">
          scenario <b>{summary.scenario}</b> · seed {summary.seed} · {summary.events} events · {summary.modelVersion}
        </span>
        <button type="button" class="help-button" onClick={() => setHelp(!help)} title="keys (?)">
          ?
        </button>
      </header>
      {summary.damage !== null && (
        <p class="banner">
          This trace is damaged at byte offset {summary.damage.offset} ({summary.damage.message}): the {summary.events} events before it are shown.
        </p>
      )}
      {divergence !== null && (
        <p class="banner" data-testid="divergence">
          This build computes another outcome than the trace stored at event #{divergence.seq} ({divergence.kind}): the states shown from there on are this
          build's (see hvsim diff --replay).
        </p>
      )}
      {scan.problem !== null && <p class="banner">From event #{scan.problem.seq} on this build cannot replay the trace: {scan.problem.message}</p>}
      {help && <Help onClose={() => setHelp(false)} />}
      <Timeline events={summary.events} at={at} marks={marks} violation={violation} coverage={scan.overviewTo} onSeek={seek} />
      <Scrubber
        events={summary.events}
        at={at}
        time={c?.time ?? null}
        playing={playing}
        speed={speed}
        marks={marks}
        onSeek={seek}
        onPlay={setPlaying}
        onSpeed={setSpeed}
        onMark={mark}
      />
      <main class="panes">
        <EventList at={at} kinds={summary.kinds} vms={summary.vms} filter={filter} onFilter={setFilter} onSeek={seek} />
        <section class="pane state" aria-label="state">
          <div class="current-event" data-testid="current-event" data-at={c === null ? undefined : c.at}>
            {c === null ? (
              <span class="pending">…</span>
            ) : c.line === null ? (
              <span>the genesis state (before event #0)</span>
            ) : (
              <>
                <div class="line">{c.line}</div>
                <div class="changes-count">
                  {c.changes.length === 0 ? "changed nothing but the time" : `changed ${c.changes.length}${c.truncated ? "+" : ""} state paths (highlighted below)`}
                </div>
              </>
            )}
          </div>
          {change.error !== null && <p class="error">{change.error}</p>}
          <StateTree
            at={settled}
            change={c}
            toggles={toggles}
            onToggle={(path, open) => setToggles((t) => new Map(t).set(path, open))}
          />
        </section>
        <aside class="pane side">
          <InvariantsPanel at={settled} scan={scan} onSeek={seek} />
          <DiffPanel a={marks.a} b={marks.b} onSeek={seek} />
          {summary.cpuViews > 0 && vcpu !== null && <CpuPanel at={settled} vm={vcpu.vm} vcpu={vcpu.vcpu} />}
        </aside>
      </main>
    </div>
  );
}

function Help({ onClose }: { readonly onClose: () => void }) {
  const rows: [string, string][] = [
    ["← / →", "one event back / forward"],
    ["Shift + ← / →", "a hundred events"],
    ["Home / End", "genesis / the last event"],
    ["Space", "play / pause"],
    ["a / b", "mark this position as A / B (the diff panel compares them)"],
    ["wheel, drag", "zoom and pan the timeline; click it to move there"],
    ["+ / - / f", "zoom the timeline in / out / to the whole trace"],
    ["?", "this help"],
  ];
  return (
    <div class="help" role="dialog" aria-label="keys" onClick={onClose}>
      <table>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>The address carries the position (#event=N): copy it to share this place.</p>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
