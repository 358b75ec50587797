import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { ChangeView, TreeNode } from "./api.ts";
import { useApi } from "./hooks.ts";

/**
 * The machine state after the current event as a tree that opens node by node (each node is one
 * request: the state is never sent whole). The paths the current event changed are highlighted,
 * with their old value beside the new, and the nodes above them are marked and opened, so the
 * change is in view; nodes the user opened stay open as the position moves.
 */
interface Props {
  readonly at: number;
  readonly change: ChangeView | null;
  /** What the user opened (true) or closed (false); the rest follow the current change. */
  readonly toggles: ReadonlyMap<string, boolean>;
  readonly onToggle: (path: string, open: boolean) => void;
}

const ROOT = "(root)";
const LIMIT = 200;

export function StateTree({ at, change, toggles, onToggle }: Props) {
  const changed = new Map((change?.changes ?? []).map((c) => [c.path, c]));
  const below = new Set(change?.ancestors ?? []);
  const first = change?.changes[0]?.path ?? null;
  const auto = new Set(change?.open ?? []);
  return (
    <div class="tree" role="tree" aria-label="machine state" data-testid="state-tree">
      <Node at={at} path={ROOT} label="state" depth={0} changed={changed} first={first} below={below} auto={auto} toggles={toggles} onToggle={onToggle} leaf={false} summary="" />
    </div>
  );
}

interface NodeProps {
  readonly at: number;
  readonly path: string;
  readonly label: string;
  readonly summary: string;
  readonly leaf: boolean;
  readonly depth: number;
  readonly changed: ReadonlyMap<string, ChangeView["changes"][number]>;
  /** The first changed path: brought into view when it appears. */
  readonly first: string | null;
  readonly below: ReadonlySet<string>;
  /** Opened for the current change unless the user closed them. */
  readonly auto: ReadonlySet<string>;
  /** What the user opened (true) or closed (false); the rest follow the current change. */
  readonly toggles: ReadonlyMap<string, boolean>;
  readonly onToggle: (path: string, open: boolean) => void;
}

function Node(p: NodeProps) {
  const open = !p.leaf && (p.path === ROOT || (p.toggles.get(p.path) ?? p.auto.has(p.path)));
  const c = p.changed.get(p.path);
  const cls = `node${c !== undefined ? " changed" : ""}${p.below.has(p.path) ? " changed-below" : ""}`;
  const row = useRef<HTMLDivElement>(null);
  const isFirst = p.first === p.path;
  useLayoutEffect(() => {
    if (isFirst) row.current?.scrollIntoView({ block: "nearest" });
  }, [isFirst, p.at]);
  return (
    <div role="treeitem" aria-expanded={p.leaf ? undefined : open}>
      {p.path !== ROOT && (
        <div
          ref={row}
          class={cls}
          data-path={p.path}
          style={{ paddingLeft: `${p.depth * 14}px` }}
          onClick={() => !p.leaf && p.onToggle(p.path, !open)}
        >
          <span class="twisty">{p.leaf ? "" : open ? "▾" : "▸"}</span>
          <span class="key">{p.label}</span>
          <span class="summary">{c !== undefined && c.after.startsWith("<") ? c.after : p.summary}</span>
          {c !== undefined && <span class="was" title="before this event">was {c.before}</span>}
        </div>
      )}
      {open && <Children {...p} />}
    </div>
  );
}

function Children(p: NodeProps) {
  const [limit, setLimit] = useState(LIMIT);
  const r = useApi<TreeNode>("state", { at: p.at, node: p.path === ROOT ? undefined : p.path, limit });
  if (r.data === null) return r.error === null ? null : <p class="error" style={{ paddingLeft: `${(p.depth + 1) * 14}px` }}>{r.error}</p>;
  const n = r.data;
  return (
    <div role="group">
      {n.children.map((ch) => (
        <Node key={ch.path} {...p} path={ch.path} label={ch.key} summary={ch.summary} leaf={ch.leaf} depth={p.depth + 1} />
      ))}
      {n.total > n.children.length && (
        <button type="button" class="more" style={{ marginLeft: `${(p.depth + 1) * 14}px` }} onClick={() => setLimit(Math.min(5000, limit * 4))}>
          {n.total - n.children.length} more…
        </button>
      )}
    </div>
  );
}
