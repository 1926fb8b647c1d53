// Direct entry for the server image: `node --import tsx src/server/run.ts [flags]`.
import { Command } from "commander";
import { addServerFlags, runServer } from "./cli";

const program = addServerFlags(new Command("modelplane-server"));
program.action(async (flags: Parameters<typeof runServer>[0]) => {
  await runServer(flags);
});
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`modelplane server: ${(err as Error).message}`);
  process.exit(1);
});
