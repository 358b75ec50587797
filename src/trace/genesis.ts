import { die } from "../core/errors.ts";
import { machineConfigProblem } from "../model/config.ts";
import { hvModel, type Machine, type MachineConfig } from "../model/machine.ts";
import { MAGIC } from "./format.ts";
import type { TraceReader } from "./reader.ts";

/**
 * The state a trace starts from: its header's config, checked to be one `genesis` can build
 * (src/model/config.ts), then built by the model (this build's unless given). Every tool that
 * replays a trace starts here, so a config edited by hand is one named trace error.
 */
export function traceGenesis(reader: TraceReader, model: { genesis(c: MachineConfig): Machine } = hvModel): Machine {
  const problem = machineConfigProblem(reader.header.config);
  if (problem !== null) die("TRACE_MALFORMED", `${reader.source.name}: the header at offset ${MAGIC.length}: config.${problem.replace(/^config: /, "")}`, { offset: MAGIC.length });
  return model.genesis(reader.header.config as MachineConfig);
}
