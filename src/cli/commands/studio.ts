// `modelplane studio [--stack S] [--open]`: prints (and opens) the URL of the stack's studio, the
// web page its server serves at /studio/ on the management listener. The token is never put in
// the URL: the page asks for it once and keeps a session cookie.
import type { Command } from "commander";
import execa from "execa";
import { accessOptions, CliError, processIo, resolveAccess, runCommand, type AccessOptions, type CommandIo } from "./access";

export interface StudioOptions extends AccessOptions {
  open?: boolean;
}

/** The command that opens a URL in the desktop's browser, per platform. */
export function openerFor(platform: NodeJS.Platform): string {
  return platform === "darwin" ? "open" : platform === "win32" ? "explorer" : "xdg-open";
}

export async function runStudio(opts: StudioOptions, io: CommandIo, open: (url: string) => Promise<void> = defaultOpen): Promise<number> {
  return runCommand(io, async () => {
    const access = await resolveAccess(opts, io);
    const url = `${access.managementUrl}/studio/`;
    let r: Response;
    try {
      r = await fetch(`${access.managementUrl}/studio/session`);
    } catch (err) {
      throw new CliError(`the studio at ${url} is not reachable (${(err as Error).message}): is the stack up? \`pulumi up${opts.stack ? ` --stack ${opts.stack}` : ""}\``);
    }
    if (r.status !== 200) throw new CliError(`${url} answered ${r.status}: this server has no studio; update it with \`pulumi up${opts.stack ? ` --stack ${opts.stack}` : ""}\``);
    io.out(url);
    io.err(`sign in with the management token (${opts.stack ? `\`pulumi stack output managementToken --show-secrets --stack ${opts.stack}\`` : access.sources.managementToken}); it is not part of the URL`);
    if (opts.open) await open(url);
    return 0;
  });
}

async function defaultOpen(url: string): Promise<void> {
  const cmd = openerFor(process.platform);
  try {
    const child = execa(cmd, [url], { detached: true, stdio: "ignore" });
    child.unref();
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", () => resolve());
      child.once("error", reject);
    });
  } catch (err) {
    throw new CliError(`could not open a browser with ${cmd} (${(err as Error).message}); open ${url} yourself`);
  }
}

export function registerStudio(program: Command): void {
  accessOptions(program.command("studio").description("print the URL of the stack's studio web page (endpoints, traffic, live metrics, logs, test console); --open opens it"))
    .option("--open", "open the URL in the desktop's browser")
    .action(async (opts: StudioOptions) => {
      process.exitCode = await runStudio(opts, processIo());
    });
}
