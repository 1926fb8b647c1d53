// Which Triton image a triton_model deployment runs: the official NVIDIA image (nvcr.io, or any
// image with its layout) or the local CPU build (templates/servers/triton). The choice is made once
// per program run from the stack's `modelplane:tritonImage`; the pure parts (setting parser,
// decision, run arguments) are separate from the one function that asks the engine.
import execa from "execa";

/**
 * Release of the official image used by default. 24.10 is Triton 2.51.0, the same server release
 * whose `tritonserver` the nvidia-pytriton 0.7.0 wheel carries (the local CPU build), so both
 * paths run the same server.
 */
export const OFFICIAL_TRITON_RELEASE = "24.10";
export const OFFICIAL_TRITON_IMAGE = `nvcr.io/nvidia/tritonserver:${OFFICIAL_TRITON_RELEASE}-py3`;
export const TRITON_IMAGE_CONFIG_KEY = "modelplane:tritonImage";
/** The official image's server binary (its layout: /opt/tritonserver/{bin,backends,caches}). */
export const OFFICIAL_TRITONSERVER = "/opt/tritonserver/bin/tritonserver";
/** The official image's non-root user `triton-server`. */
export const OFFICIAL_TRITON_USER = "1000:1000";

/** `auto`: the official image when the engine has it or can pull it, else the local build; `local`: always the local build; `image`: that reference, official layout, required. */
export type TritonImageSetting = { mode: "auto"; image: string } | { mode: "local" } | { mode: "image"; image: string };

// Docker reference: [registry[:port]/]path[:tag][@sha256:digest] (lower-case path components).
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
// A registry host has a dot or a port, or is localhost (as Docker decides it).
const REGISTRY = "(?:(?:localhost|[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)+)(?::[0-9]+)?|[a-zA-Z0-9-]+:[0-9]+)";
const IMAGE_REF = new RegExp(`^(?:${REGISTRY}/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$`);

/** True for a syntactically valid image reference such as `127.0.0.1:5000/nvidia/tritonserver:24.10-py3`. */
export function isImageReference(value: string): boolean {
  return IMAGE_REF.test(value);
}

/** Parses `modelplane:tritonImage` (unset = `auto`). */
export function parseTritonImageSetting(value: string | undefined): { ok: true; setting: TritonImageSetting } | { ok: false; problem: string } {
  const v = (value ?? "").trim();
  if (v === "" || v.toLowerCase() === "auto") return { ok: true, setting: { mode: "auto", image: OFFICIAL_TRITON_IMAGE } };
  if (v.toLowerCase() === "local") return { ok: true, setting: { mode: "local" } };
  if (!isImageReference(v)) {
    return {
      ok: false,
      problem: `${TRITON_IMAGE_CONFIG_KEY} is "${value}", which is neither auto, local nor an image reference; set it with \`pulumi config set ${TRITON_IMAGE_CONFIG_KEY} auto\` (default), \`local\`, or an image such as ${OFFICIAL_TRITON_IMAGE}`,
    };
  }
  return { ok: true, setting: { mode: "image", image: v } };
}

/** What the engine said about an image: present (with its ID), pulled just now, or why not. */
export interface TritonImageProbe {
  /** Image ID when the engine has it (before or after a pull). */
  imageId?: string;
  pulled: boolean;
  /** Why it is not there: the engine's error of the registry check or the pull. */
  error?: string;
}

export type TritonImageChoice =
  | { layout: "official"; image: string; imageId: string; reason: string }
  | { layout: "local"; reason: string };

/** Pure decision from the setting and (except for `local`) what the engine said. */
export function chooseTritonImage(setting: TritonImageSetting, probe?: TritonImageProbe): { ok: true; choice: TritonImageChoice } | { ok: false; problem: string } {
  if (setting.mode === "local") return { ok: true, choice: { layout: "local", reason: `${TRITON_IMAGE_CONFIG_KEY} is local` } };
  const image = setting.image;
  if (probe?.imageId) {
    const how = probe.pulled ? "pulled it" : "it is present in the local engine";
    return { ok: true, choice: { layout: "official", image, imageId: probe.imageId, reason: `${TRITON_IMAGE_CONFIG_KEY} is ${setting.mode === "auto" ? "auto" : `"${image}"`} and ${how}` } };
  }
  const why = probe?.error ? firstLine(probe.error) : "it is not in the local engine and was not pulled";
  if (setting.mode === "auto") {
    return {
      ok: true,
      choice: { layout: "local", reason: `${TRITON_IMAGE_CONFIG_KEY} is auto and ${image} is not in the local engine nor pullable (${why}); using the local CPU build (Python backend only). Set ${TRITON_IMAGE_CONFIG_KEY} to local to skip this check` },
    };
  }
  return {
    ok: false,
    problem: `${TRITON_IMAGE_CONFIG_KEY} is "${image}", but the engine neither has that image nor could pull it (${why}); fix: make the image pullable (docker login, registry reachable) or load it with docker load, or set ${TRITON_IMAGE_CONFIG_KEY} to auto or local`,
  };
}

function firstLine(s: string): string {
  return s.trim().split("\n").filter(Boolean).slice(-1)[0]?.slice(0, 300) ?? s;
}

/** Log line for the chosen image. */
export function describeTritonChoice(c: TritonImageChoice): string {
  return c.layout === "official" ? `Triton deployments run the official-layout image ${c.image} (${c.imageId.slice(0, 19)}): ${c.reason}` : `Triton deployments run the local CPU build modelplane/triton-server: ${c.reason}`;
}

/**
 * How an official-layout container runs: its own tritonserver serving the mounted repository on
 * the same port, routes and readiness as the local build (gRPC and metrics off, 30 s drain on
 * SIGTERM), as the image's non-root `triton-server` user, with the engine's init (tini) as PID 1
 * (forwards SIGTERM, reaps the Python backend's stub processes). The image's entrypoint
 * (/opt/nvidia/nvidia_entrypoint.sh) execs the command.
 */
export function officialTritonRun(repository: string, httpPort: number): { command: string[]; user: string; init: boolean } {
  return {
    command: [OFFICIAL_TRITONSERVER, `--model-repository=${repository}`, `--http-port=${httpPort}`, "--allow-grpc=false", "--allow-metrics=false", "--exit-timeout-secs=30"],
    user: OFFICIAL_TRITON_USER,
    init: true,
  };
}

/** The engine-facing half: image ID if present, registry check, pull. Replaceable in tests. */
export interface TritonImageEngine {
  imageId(ref: string): Promise<string | undefined>;
  /** Resolves when the registry answers for `ref` (manifest found); rejects with its error otherwise. */
  check(ref: string, timeoutMs: number): Promise<void>;
  pull(ref: string, timeoutMs: number): Promise<void>;
}

/** Time allowed for the registry to answer for the image (DNS, TLS, auth, manifest). */
export const REGISTRY_CHECK_TIMEOUT_MS = 15_000;
/** Time allowed for the pull itself once the registry answered (the official image is several GB). */
export const PULL_TIMEOUT_MS = 45 * 60_000;

export const dockerCliEngine: TritonImageEngine = {
  async imageId(ref) {
    const r = await execa("docker", ["image", "inspect", "--format", "{{.Id}}", ref], { reject: false });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  },
  async check(ref, timeoutMs) {
    // GET /distribution/<ref>/json: the engine resolves the manifest the way a pull would
    // (same registry settings, 127.0.0.1 registries over plain HTTP), without downloading layers.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { dockerClient } = require("../providers/docker/client") as typeof import("../providers/docker/client");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the registry did not answer within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    try {
      await Promise.race([dockerClient().getImage(ref).distribution({}), timeout]);
    } catch (err) {
      const e = err as { json?: { message?: string }; message: string };
      throw new Error(e.json?.message ?? e.message, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  },
  async pull(ref, timeoutMs) {
    const r = await execa("docker", ["pull", "-q", ref], { reject: false, all: true, timeout: timeoutMs });
    if (r.exitCode !== 0) throw new Error(r.timedOut ? `docker pull did not finish within ${timeoutMs / 1000} s` : (r.all ?? `docker pull exited ${r.exitCode}`));
  },
};

/** Asks the engine: present? else registry check (short timeout), then pull. */
export async function probeTritonImage(ref: string, engine: TritonImageEngine = dockerCliEngine, log?: (line: string) => void): Promise<TritonImageProbe> {
  const present = await engine.imageId(ref);
  if (present) return { imageId: present, pulled: false };
  try {
    await engine.check(ref, REGISTRY_CHECK_TIMEOUT_MS);
  } catch (err) {
    return { pulled: false, error: (err as Error).message };
  }
  const started = Date.now();
  log?.(`pulling ${ref} (the official Triton image is several GB; allowed ${PULL_TIMEOUT_MS / 60_000} min)`);
  try {
    await engine.pull(ref, PULL_TIMEOUT_MS);
  } catch (err) {
    return { pulled: false, error: (err as Error).message };
  }
  const id = await engine.imageId(ref);
  log?.(`pulled ${ref} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return id ? { imageId: id, pulled: true } : { pulled: false, error: `docker pull of ${ref} succeeded but the engine does not list it` };
}

const cache = new Map<string, Promise<{ ok: true; choice: TritonImageChoice } | { ok: false; problem: string }>>();

/**
 * Resolves `modelplane:tritonImage` once per run (cached by value): parse, ask the engine when
 * needed, decide. Never throws; a refused setting comes back as `{ok: false, problem}`.
 */
export function resolveTritonImage(value: string | undefined, engine: TritonImageEngine = dockerCliEngine, log?: (line: string) => void): Promise<{ ok: true; choice: TritonImageChoice } | { ok: false; problem: string }> {
  const key = value ?? "";
  let p = cache.get(key);
  if (!p || engine !== dockerCliEngine) {
    p = (async () => {
      const parsed = parseTritonImageSetting(value);
      if (!parsed.ok) return parsed;
      if (parsed.setting.mode === "local") return chooseTritonImage(parsed.setting);
      return chooseTritonImage(parsed.setting, await probeTritonImage(parsed.setting.image, engine, log));
    })();
    if (engine === dockerCliEngine) cache.set(key, p);
  }
  return p;
}
