import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pipConfigCert } from "../../../src/images/pip-ca";

test("pipConfigCert reads `cert =` from pip config files, later files winning", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "pipconf-"));
  const a = path.join(dir, "a.conf");
  const b = path.join(dir, "b.conf");
  writeFileSync(a, "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ntimeout = 60\n");
  writeFileSync(b, "[global]\nindex-url = https://example.invalid/simple\n");
  assert.equal(pipConfigCert([a, b, path.join(dir, "missing.conf")]), "/etc/ssl/certs/ca-certificates.crt");
  writeFileSync(b, "[global]\n  cert=/opt/proxy-ca.pem\n");
  assert.equal(pipConfigCert([a, b]), "/opt/proxy-ca.pem");
  assert.equal(pipConfigCert([path.join(dir, "missing.conf")]), undefined);
});
