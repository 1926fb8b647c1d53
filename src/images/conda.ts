import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";

/**
 * Conversion of an Azure ML environment conda file (conda.yaml) into pip requirement lines for the
 * custom-scoring server image, which installs with pip into a venv on the base image's Python.
 * Pure: takes the file's text (and its name for messages), touches no file system.
 */

/** Conda packages that are not installed with pip (interpreter, package managers, system/native libraries). */
export const CONDA_ONLY_PACKAGES: ReadonlySet<string> = new Set([
  "python",
  "pip",
  "conda",
  "mamba",
  "_libgcc_mutex",
  "_openmp_mutex",
  "blas",
  "bzip2",
  "ca-certificates",
  "cpuonly",
  "cudatoolkit",
  "cudnn",
  "intel-openmp",
  "ld_impl_linux-64",
  "libblas",
  "libcblas",
  "libexpat",
  "libffi",
  "libgcc",
  "libgcc-ng",
  "libgfortran",
  "libgfortran-ng",
  "libgfortran5",
  "libgomp",
  "liblapack",
  "liblzma",
  "libnsl",
  "libopenblas",
  "libsqlite",
  "libstdcxx",
  "libstdcxx-ng",
  "libuuid",
  "libxcrypt",
  "libxgboost",
  "libzlib",
  "mkl",
  "mkl-service",
  "mkl_fft",
  "mkl_random",
  "nccl",
  "ncurses",
  "numpy-base",
  "openblas",
  "openssl",
  "pytorch-cuda",
  "pytorch-mutex",
  "readline",
  "sqlite",
  "tk",
  "tzdata",
  "xz",
  "zlib",
]);

/** Conda package names whose PyPI name differs. */
export const CONDA_TO_PIP_NAMES: Readonly<Record<string, string>> = {
  pytorch: "torch",
  "pytorch-cpu": "torch",
  "py-xgboost": "xgboost",
  "py-xgboost-cpu": "xgboost",
  "py-lightgbm": "lightgbm",
  "matplotlib-base": "matplotlib",
  "msgpack-python": "msgpack",
  "python-graphviz": "graphviz",
  "py-opencv": "opencv-python-headless",
  opencv: "opencv-python-headless",
  pytables: "tables",
  ruamel_yaml: "ruamel.yaml",
  "ruamel.yaml": "ruamel.yaml",
  "tensorflow-base": "tensorflow",
};

export interface CondaConversion {
  /** pip requirement lines: converted conda dependencies first, then the `pip:` section as written. */
  requirements: string[];
  /** Non-fatal findings (python version mismatch, dropped conda-only packages, ignored build strings). */
  warnings: string[];
  /** Conda dependencies left out of `requirements`, with the reason. */
  dropped: { spec: string; reason: string }[];
  /** The `python` pin of the conda file, if any (e.g. "3.12"). */
  pythonVersion?: string;
}

export interface CondaOptions {
  /** File name used in messages (the function reads nothing). */
  file: string;
  /** major.minor of the interpreter the requirements are installed into. @default "3.11" */
  targetPython?: string;
}

/** A conda file that cannot be converted; names the file, line and field, and how to fix it. */
export class CondaFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}${line !== undefined ? `:${line}` : ""}: ${field}: ${problem}. Fix: ${fix}`);
    this.name = "CondaFileError";
  }
}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Converts one conda match spec (`numpy=2.3.1`, `conda-forge::scipy>=1.10`, `numpy 2.3.1 py312h0`) to a pip line. */
function convertSpec(spec: string): { name: string; requirement?: string; note?: string; error?: string } {
  let s = spec.trim();
  const channel = s.indexOf("::");
  if (channel >= 0) s = s.slice(channel + 2);
  let name: string;
  let version: string;
  let build = "";
  let note: string | undefined;
  const spaced = /^([^\s=<>!~]+)\s+(\S+)(?:\s+(\S+))?$/.exec(s);
  if (spaced) {
    name = spaced[1] ?? "";
    version = spaced[2] ?? "";
    build = spaced[3] ?? "";
  } else {
    const m = /^([^\s=<>!~[]+)\s*(.*)$/.exec(s);
    name = m?.[1] ?? "";
    version = (m?.[2] ?? "").replace(/\s+/g, "");
  }
  if (!NAME_RE.test(name)) return { name, error: `'${spec}' is not a conda package spec` };
  name = name.toLowerCase();
  if (version.includes("[") || version.includes("|")) {
    return { name, error: `'${spec}' uses conda-only syntax (brackets or '|') that pip cannot express` };
  }
  let pipVersion = "";
  if (version) {
    // name=1.2.3=build  or  name==1.2.3=build : the trailing =build is a conda build string.
    const exact = /^={1,2}([^=<>!~,]+)(?:=([^=]+))?$/.exec(version);
    const bare = /^([0-9][^=<>!~,]*)$/.exec(version);
    if (exact) {
      pipVersion = `==${exact[1]}`;
      if (exact[2]) build = exact[2];
    } else if (bare) {
      pipVersion = `==${bare[1]}`;
    } else if (/^(?:(?:>=|<=|>|<|!=|==|~=)[^=<>!~,]+)(?:,(?:>=|<=|>|<|!=|==|~=)[^=<>!~,]+)*$/.test(version)) {
      pipVersion = version;
    } else {
      return { name, error: `cannot convert the version constraint '${version}' of '${spec}' to pip` };
    }
  }
  if (build) note = `build string '${build}' of '${spec}' ignored (pip installs wheels)`;
  const pipName = CONDA_TO_PIP_NAMES[name] ?? name;
  return { name, requirement: `${pipName}${pipVersion}`, note };
}

/**
 * Converts the text of an Azure ML conda file into pip requirement lines. Throws CondaFileError
 * (file, line, field, fix) when the YAML is malformed or a dependency cannot be expressed for pip.
 */
export function condaToRequirements(text: string, opts: CondaOptions): CondaConversion {
  const file = opts.file;
  const target = opts.targetPython ?? "3.11";
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lc.linePos(node.range[0]).line : undefined;

  const firstError = doc.errors[0];
  if (firstError) {
    const line = firstError.linePos?.[0]?.line ?? lc.linePos(firstError.pos[0]).line;
    throw new CondaFileError(
      file,
      line,
      "(yaml)",
      `invalid YAML: ${firstError.message.split("\n")[0]}`,
      "check indentation and that every list item under 'dependencies:' starts with '- '",
    );
  }
  const root = doc.contents;
  if (!isMap(root)) {
    throw new CondaFileError(file, lineOf(root) ?? 1, "(root)", "the file is not a YAML mapping", "start the file with 'name:', 'channels:' and 'dependencies:' keys");
  }
  const depsNode = root.get("dependencies", true) as Node | undefined;
  if (depsNode === undefined || (isScalar(depsNode) && depsNode.value === null)) {
    throw new CondaFileError(file, lineOf(root), "dependencies", "missing or empty", "add 'dependencies:' with a list of packages, e.g. '- numpy=2.3.1'");
  }
  if (!isSeq(depsNode)) {
    throw new CondaFileError(file, lineOf(depsNode), "dependencies", "must be a list", "write each dependency on its own line starting with '- '");
  }

  const requirements: string[] = [];
  const pipLines: string[] = [];
  const warnings: string[] = [];
  const dropped: { spec: string; reason: string }[] = [];
  let pythonVersion: string | undefined;
  let pipSections = 0;

  depsNode.items.forEach((item, i) => {
    const field = `dependencies[${i}]`;
    const node = item as Node;
    if (isScalar(node)) {
      if (typeof node.value !== "string") {
        throw new CondaFileError(file, lineOf(node), field, `'${String(node.value)}' is not a package spec`, "write a package name, optionally with '=version', e.g. 'numpy=2.3.1'");
      }
      const spec = node.value;
      const conv = convertSpec(spec);
      if (conv.error) {
        throw new CondaFileError(file, lineOf(node), field, conv.error, "use 'name', 'name=1.2.3' or 'name>=1.2,<2', or move the package to the 'pip:' section");
      }
      if (conv.name === "python") {
        const m = /^==?(\d+)(?:\.(\d+))?/.exec(conv.requirement?.slice("python".length) ?? "");
        pythonVersion = m ? (m[2] !== undefined ? `${m[1]}.${m[2]}` : m[1]) : undefined;
        if (pythonVersion && pythonVersion !== target && !target.startsWith(`${pythonVersion}.`)) {
          warnings.push(
            `${file}:${lineOf(node)}: ${field}: pins python ${pythonVersion} but the image's interpreter is Python ${target}; packages are resolved for ${target}`,
          );
        }
        dropped.push({ spec, reason: "the interpreter comes from the base image" });
        return;
      }
      if (CONDA_ONLY_PACKAGES.has(conv.name)) {
        const reason = conv.name === "pip" ? "pip comes with the venv" : "conda-only package (not installed with pip)";
        dropped.push({ spec, reason });
        if (conv.name !== "pip") warnings.push(`${file}:${lineOf(node)}: ${field}: dropped '${spec}': ${reason}`);
        return;
      }
      if (conv.note) warnings.push(`${file}:${lineOf(node)}: ${field}: ${conv.note}`);
      if (conv.requirement) requirements.push(conv.requirement);
      return;
    }
    if (isMap(node)) {
      const keys = node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : "?"));
      if (keys.length !== 1 || keys[0] !== "pip") {
        throw new CondaFileError(file, lineOf(node), field, `unexpected mapping with keys ${keys.map((k) => `'${k}'`).join(", ")}`, "the only mapping allowed in 'dependencies' is 'pip:' with a list of pip requirements");
      }
      pipSections += 1;
      const pipNode = node.get("pip", true) as Node | undefined;
      if (pipNode === undefined || (isScalar(pipNode) && pipNode.value === null)) return;
      if (!isSeq(pipNode)) {
        throw new CondaFileError(file, lineOf(pipNode), `${field}.pip`, "must be a list", "write each pip requirement on its own line starting with '- ', indented under 'pip:'");
      }
      pipNode.items.forEach((p, j) => {
        const pn = p as Node;
        if (!isScalar(pn) || typeof pn.value !== "string" || !pn.value.trim()) {
          throw new CondaFileError(file, lineOf(pn) ?? lineOf(pipNode), `${field}.pip[${j}]`, "is not a pip requirement string", "write a requirement such as 'joblib==1.5.1' (quote it if it contains ': ')");
        }
        pipLines.push(pn.value.trim());
      });
      return;
    }
    throw new CondaFileError(file, lineOf(node), field, "is neither a package spec nor a 'pip:' section", "write '- name=version' or '- pip:' followed by an indented list");
  });
  if (pipSections > 1) warnings.push(`${file}: more than one 'pip:' section; all are installed`);

  const result: CondaConversion = { requirements: [...requirements, ...pipLines], warnings, dropped };
  if (pythonVersion !== undefined) result.pythonVersion = pythonVersion;
  return result;
}
