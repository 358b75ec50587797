import { EVENT_KINDS } from "../model/events.ts";
import { checkKind } from "../timetravel/words.ts";

/** `--kind K`: one of the kinds this build knows, or one line with the nearest names. */
export const kindOption = (name: string, raw: string): string => checkKind(name, raw, EVENT_KINDS);

/** `1 block`, `2 blocks`: a count with its noun, plural as English has it (`hashes` given when not just -s). */
export const counted = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
