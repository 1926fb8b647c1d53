// Locations shared by the spec tests.
import path from "node:path";

export const repoRoot = path.resolve(__dirname, "../../..");
export const fixtures = path.join(repoRoot, "test/fixtures/spec");
