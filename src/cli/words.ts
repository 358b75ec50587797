import { EVENT_KINDS } from "../model/events.ts";
import { checkKind } from "../timetravel/words.ts";

/** `--kind K`: one of the kinds this build knows, or one line with the nearest names. */
export const kindOption = (name: string, raw: string): string => checkKind(name, raw, EVENT_KINDS);
