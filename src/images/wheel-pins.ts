// Exact pins an image's interpreter cannot install. Models keep the versions they were saved with
// (scikit-learn==1.1.2 from 2022), but PyPI has wheels of those releases only for the Pythons of
// their day; pip would then build them from source, which fails on the base image (no compiler).
// Such a pin is raised to the first release with wheels for the interpreter (a patch or minor
// step), and packages built against NumPy 1 get `numpy<2`. Each change is said in a note.

/** First release of a package with CPython wheels (manylinux x86_64) for an interpreter (checked with `pip download --only-binary=:all:`). */
const FIRST_WHEEL: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "3.11": { numpy: "1.23.2", scipy: "1.9.2", pandas: "1.5.0", "scikit-learn": "1.1.3" },
};

/** First release of a package built against NumPy 2's ABI: older ones fail to import under numpy>=2. */
const NUMPY2_FROM: Readonly<Record<string, string>> = { "scikit-learn": "1.4.2", pandas: "2.2.2", scipy: "1.13.0" };

function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** Compares dotted release numbers (1.1.2 < 1.1.10); non-numeric parts compare as 0. */
export function compareReleases(a: string, b: string): number {
  const pa = a.split(".").map((x) => Number.parseInt(x, 10) || 0);
  const pb = b.split(".").map((x) => Number.parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const EXACT = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([0-9][0-9.]*)\s*$/;

/** The requirement lines with unbuildable exact pins raised and `numpy<2` added where needed; `notes` says what changed. */
export function raiseUnbuildablePins(lines: readonly string[], python = "3.11"): { requirements: string[]; notes: string[] } {
  const first = FIRST_WHEEL[python] ?? {};
  const notes: string[] = [];
  const pins = new Map<string, string>();
  const requirements = lines.map((line) => {
    const m = EXACT.exec(line.trim());
    if (!m) return line;
    const name = normalize(m[1]!);
    let version = m[2]!;
    const floor = first[name];
    if (floor !== undefined && compareReleases(version, floor) < 0) {
      notes.push(`${m[1]}==${version} has no wheel for Python ${python} (the first is ${floor}): installing ${m[1]}==${floor}`);
      version = floor;
      pins.set(name, version);
      return `${m[1]}==${version}`;
    }
    pins.set(name, version);
    return line;
  });
  const mentionsNumpy = lines.some((l) => /^numpy(\s*[=<>!~[;]|\s*$)/i.test(l.trim()));
  const old = [...pins].find(([name, v]) => NUMPY2_FROM[name] !== undefined && compareReleases(v, NUMPY2_FROM[name]!) < 0);
  if (old && !mentionsNumpy) {
    notes.push(`${old[0]}==${old[1]} was built against NumPy 1 (NumPy 2 needs ${old[0]}>=${NUMPY2_FROM[old[0]]}): adding numpy<2`);
    requirements.push("numpy<2");
  }
  return { requirements, notes };
}
