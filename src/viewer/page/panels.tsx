import type { CpuView, DiffView, InvariantsView, ScanStatus } from "./api.ts";
import { useApi } from "./hooks.ts";

/**
 * The invariants panel: each invariant on the state after the current event, and the first event
 * after which one broke, found by the server's background check (every invariant after every
 * event, as `hvsim check` runs them), with a jump to it.
 */
export function InvariantsPanel({ at, scan, onSeek }: { readonly at: number; readonly scan: ScanStatus; readonly onSeek: (n: number) => void }) {
  const r = useApi<InvariantsView>("invariants", { at });
  const v = scan.firstViolation;
  const progress = scan.events === 0 ? 100 : Math.floor(((scan.checkedTo + 1) * 100) / scan.events);
  return (
    <section class="panel invariants" aria-label="invariants" data-testid="invariants">
      <h2>Invariants</h2>
      <div class="first-violation">
        {v !== null ? (
          <button type="button" class="violation" data-testid="first-violation" data-index={v.index} onClick={() => onSeek(v.index)}>
            <b>{v.invariant}</b> broken at <b>#{v.index}</b> ({v.kind}) — jump
            <small>{v.detail}</small>
          </button>
        ) : scan.problem !== null ? (
          <p class="error">checked up to #{scan.checkedTo}: {scan.problem.message}</p>
        ) : scan.phase === "done" ? (
          <p class="ok" data-testid="all-hold">every invariant held after every event</p>
        ) : (
          <p class="pending">{scan.phase === "overview" ? "reading the trace…" : `checking every event… ${progress}% (#${scan.checkedTo})`}</p>
        )}
      </div>
      {r.error !== null && <p class="error">{r.error}</p>}
      {r.data !== null && (
        <ul class="inv-list">
          {r.data.invariants.map((inv) => (
            <li key={inv.name} class={inv.holds ? "holds" : "broken"} title={inv.description} data-invariant={inv.name}>
              <span class="mark">{inv.holds ? "✓" : "✗"}</span> {inv.name}
              {inv.violation !== undefined && (
                <small>
                  {inv.violation.detail} ({inv.violation.path})
                </small>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** The state difference between the two marked positions (A and B in the scrubber). */
export function DiffPanel({ a, b, onSeek }: { readonly a?: number; readonly b?: number; readonly onSeek: (n: number) => void }) {
  const ready = a !== undefined && b !== undefined;
  const r = useApi<DiffView>(ready ? "diff" : null, { a, b });
  return (
    <section class="panel diff" aria-label="diff" data-testid="diff">
      <h2>
        Diff{" "}
        {ready && (
          <>
            <a href={`#event=${a}`} onClick={(e) => (e.preventDefault(), onSeek(a))}>
              A #{a}
            </a>{" "}
            →{" "}
            <a href={`#event=${b}`} onClick={(e) => (e.preventDefault(), onSeek(b))}>
              B #{b}
            </a>
          </>
        )}
      </h2>
      {!ready && <p class="hint">Mark two positions (buttons A and B, or keys a and b) to see how the state differs.</p>}
      {r.error !== null && <p class="error">{r.error}</p>}
      {ready && r.data !== null && (
        <>
          <p class="count" data-testid="diff-count">
            {r.data.changes.length === 0 ? "the states are the same" : `${r.data.changes.length}${r.data.truncated ? "+" : ""} differences`}
          </p>
          <table>
            <tbody>
              {r.data.changes.map((c) => (
                <tr key={c.path}>
                  <td class="path">{c.path}</td>
                  <td class="before">{c.before}</td>
                  <td class="after">{c.after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

/**
 * Registers and the disassembly at the PC of one vCPU, for traces whose state holds an emulated
 * CPU (the server's CPU view answers `available: false` otherwise, and nothing is drawn).
 */
export function CpuPanel({ at, vm, vcpu }: { readonly at: number; readonly vm: number; readonly vcpu: number }) {
  const r = useApi<CpuView>("cpu", { at, vm, vcpu });
  const d = r.data;
  if (d === null || !d.available) return null;
  return (
    <section class="panel cpu" aria-label="vCPU registers" data-testid="cpu">
      <h2>
        VM {vm} vCPU {vcpu}: PC {d.pc} <small>{d.status}</small>
      </h2>
      <div class="regs">
        {d.registers.map((reg) => (
          <span key={reg.name} class="reg">
            <b>{reg.name}</b> {reg.value}
          </span>
        ))}
      </div>
      <ol class="disas">
        {d.instructions.map((ins) => (
          <li key={ins.address} class={ins.atPc ? "pc" : ""}>
            <span class="addr">{ins.address}</span> <span class="word">{ins.word}</span> <span class="text">{ins.text}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
