import type { JSX } from "preact";

interface Props {
  readonly events: number;
  readonly at: number;
  /** The current event's virtual time, as the log prints it. */
  readonly time: string | null;
  readonly playing: boolean;
  readonly speed: number;
  readonly marks: { readonly a?: number; readonly b?: number };
  readonly onSeek: (n: number) => void;
  readonly onPlay: (playing: boolean) => void;
  readonly onSpeed: (eventsPerSecond: number) => void;
  readonly onMark: (which: "a" | "b") => void;
}

export const SPEEDS = [10, 100, 1000, 10000] as const;

/**
 * The scrubber: the position over event indices (-1 is the genesis state), with step buttons, play
 * at a chosen rate, and the two marks the diff panel compares. Keys (anywhere but a text field):
 * ←/→ one event, Shift+←/→ a hundred, Home/End, Space play, a/b mark.
 */
export function Scrubber({ events, at, time, playing, speed, marks, onSeek, onPlay, onSpeed, onMark }: Props) {
  const last = events - 1;
  const button = (label: string, title: string, to: number, testid: string): JSX.Element => (
    <button type="button" title={title} data-testid={testid} disabled={to === at || to < -1 || to > last} onClick={() => onSeek(to)}>
      {label}
    </button>
  );
  return (
    <section class="scrubber" aria-label="scrubber">
      {button("|<", "genesis (Home)", -1, "first")}
      {button("−100", "back 100 (Shift+←)", Math.max(-1, at - 100), "back100")}
      {button("<", "back one event (←)", at - 1, "back")}
      <button type="button" class="play" title="play / pause (Space)" data-testid="play" disabled={at >= last} onClick={() => onPlay(!playing)}>
        {playing ? "❚❚" : "▶"}
      </button>
      {button(">", "forward one event (→)", at + 1, "step")}
      {button("+100", "forward 100 (Shift+→)", Math.min(last, at + 100), "fwd100")}
      {button(">|", "last event (End)", last, "last")}
      <input
        type="range"
        class="slider"
        aria-label="event index"
        min={-1}
        max={Math.max(-1, last)}
        step={1}
        value={at}
        onInput={(e) => onSeek(Number((e.target as HTMLInputElement).value))}
        onKeyDown={(e) => e.preventDefault()}
      />
      <span class="position" data-testid="position" data-at={at}>
        {at === -1 ? "genesis" : `#${at}`}
        <small> / {last}</small>
      </span>
      <span class="time">{time === null ? "" : `t=${time}`}</span>
      <select aria-label="play speed" value={speed} onChange={(e) => onSpeed(Number((e.target as HTMLSelectElement).value))}>
        {SPEEDS.map((s) => (
          <option key={s} value={s}>
            {s} ev/s
          </option>
        ))}
      </select>
      <button type="button" title="mark A here (a)" data-testid="mark-a" onClick={() => onMark("a")}>
        A{marks.a === undefined ? "" : ` #${marks.a}`}
      </button>
      <button type="button" title="mark B here (b)" data-testid="mark-b" onClick={() => onMark("b")}>
        B{marks.b === undefined ? "" : ` #${marks.b}`}
      </button>
    </section>
  );
}
