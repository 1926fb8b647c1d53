// The modelplane CLI. Each subcommand lives in its own module under ./commands and is registered
// here; add new ones to SUBCOMMANDS.
import { Command, CommanderError } from "commander";
import { registerServerCommand } from "../server/cli";
import { registerBatch } from "./commands/batch";
import { registerDoctor } from "./commands/doctor";
import { registerEndpoints } from "./commands/endpoints";
import { registerInvoke } from "./commands/invoke";
import { registerJobs } from "./commands/jobs";
import { registerKeys } from "./commands/keys";
import { registerLogs } from "./commands/logs";
import { registerPreview } from "./commands/preview";
import { registerPromote } from "./commands/promote";
import { registerStack } from "./commands/stack-init";
import { registerStudio } from "./commands/studio";
import { registerToken } from "./commands/token";
import { registerTraffic } from "./commands/traffic";
import { registerValidate } from "./commands/validate";
import { registerVerify } from "./commands/verify";

/** Exit code for usage errors (unknown option, missing argument), distinct from "invalid spec" (1). */
export const EXIT_USAGE = 2;

const SUBCOMMANDS: Array<(program: Command) => void> = [
  registerValidate,
  registerDoctor,
  registerEndpoints,
  registerKeys,
  registerToken,
  registerInvoke,
  registerBatch,
  registerJobs,
  registerLogs,
  registerStudio,
  registerTraffic,
  registerPreview,
  registerVerify,
  registerPromote,
  registerStack,
  registerServerCommand,
];

export function buildProgram(): Command {
  const program = new Command();
  program.name("modelplane").description("Azure-ML-style online and batch endpoints as code, on infrastructure you own").exitOverride();
  for (const register of SUBCOMMANDS) register(program);
  // Subcommands inherit exitOverride only if set before they are added; set it on each now.
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI; returns the exit code instead of exiting so tests can call it in-process. */
export async function runCli(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await buildProgram().parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // help/version are "errors" with exit code 0 in commander's override mode.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw err;
  }
}

if (require.main === module) {
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`modelplane: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 70;
    },
  );
}
