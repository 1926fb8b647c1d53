import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  chooseTritonImage,
  describeTritonChoice,
  isImageReference,
  OFFICIAL_TRITON_IMAGE,
  officialTritonRun,
  parseTritonImageSetting,
  probeTritonImage,
  resolveTritonImage,
  type TritonImageEngine,
} from "../../../src/servers/triton-image";

const ID = "sha256:2f1c0a5e3b9d7c6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1";
const REF = "127.0.0.1:5000/nvidia/tritonserver:24.10-py3";

describe("parseTritonImageSetting", () => {
  test("unset, empty and auto (any case) mean the official image with fallback", () => {
    for (const v of [undefined, "", " auto ", "AUTO"]) assert.deepEqual(parseTritonImageSetting(v), { ok: true, setting: { mode: "auto", image: "nvcr.io/nvidia/tritonserver:24.10-py3" } }, String(v));
    assert.equal(OFFICIAL_TRITON_IMAGE, "nvcr.io/nvidia/tritonserver:24.10-py3");
  });
  test("local", () => {
    assert.deepEqual(parseTritonImageSetting("local"), { ok: true, setting: { mode: "local" } });
  });
  test("an image reference", () => {
    assert.deepEqual(parseTritonImageSetting(REF), { ok: true, setting: { mode: "image", image: REF } });
    assert.deepEqual(parseTritonImageSetting("nvcr.io/nvidia/tritonserver:24.08-py3"), { ok: true, setting: { mode: "image", image: "nvcr.io/nvidia/tritonserver:24.08-py3" } });
  });
  test("anything else: field, value and fix", () => {
    assert.deepEqual(parseTritonImageSetting("Not An Image!"), {
      ok: false,
      problem:
        'modelplane:tritonImage is "Not An Image!", which is neither auto, local nor an image reference; set it with `pulumi config set modelplane:tritonImage auto` (default), `local`, or an image such as nvcr.io/nvidia/tritonserver:24.10-py3',
    });
  });
  test("image reference syntax", () => {
    for (const ok of ["tritonserver", "nvidia/tritonserver:24.10-py3", "localhost:5000/a/b", `r.example.com/x@sha256:${"a".repeat(64)}`, "a_b/c__d:Tag.1-x"]) assert.equal(isImageReference(ok), true, ok);
    for (const bad of ["Upper/case", "a b", "x:", ":tag", "/x", "x/", "x@sha256:123", "a:b:c"]) assert.equal(isImageReference(bad), false, bad);
  });
});

describe("chooseTritonImage", () => {
  const auto = { mode: "auto", image: OFFICIAL_TRITON_IMAGE } as const;
  const image = { mode: "image", image: REF } as const;
  test("local needs no probe", () => {
    assert.deepEqual(chooseTritonImage({ mode: "local" }), { ok: true, choice: { layout: "local", reason: "modelplane:tritonImage is local" } });
  });
  test("auto: present in the engine", () => {
    assert.deepEqual(chooseTritonImage(auto, { imageId: ID, pulled: false }), {
      ok: true,
      choice: { layout: "official", image: OFFICIAL_TRITON_IMAGE, imageId: ID, reason: "modelplane:tritonImage is auto and it is present in the local engine" },
    });
  });
  test("auto: pulled", () => {
    const r = chooseTritonImage(auto, { imageId: ID, pulled: true });
    assert.deepEqual(r, { ok: true, choice: { layout: "official", image: OFFICIAL_TRITON_IMAGE, imageId: ID, reason: "modelplane:tritonImage is auto and pulled it" } });
    assert.ok(r.ok);
    assert.equal(describeTritonChoice(r.choice), `Triton deployments run the official-layout image ${OFFICIAL_TRITON_IMAGE} (sha256:2f1c0a5e3b9d): modelplane:tritonImage is auto and pulled it`);
  });
  test("auto: neither present nor pullable falls back to the local build, saying why", () => {
    const r = chooseTritonImage(auto, { pulled: false, error: 'Get "https://nvcr.io/v2/": dial tcp: lookup nvcr.io: no such host' });
    assert.deepEqual(r, {
      ok: true,
      choice: {
        layout: "local",
        reason:
          'modelplane:tritonImage is auto and nvcr.io/nvidia/tritonserver:24.10-py3 is not in the local engine nor pullable (Get "https://nvcr.io/v2/": dial tcp: lookup nvcr.io: no such host); using the local CPU build (Python backend only). Set modelplane:tritonImage to local to skip this check',
      },
    });
    assert.ok(r.ok);
    assert.match(describeTritonChoice(r.choice), /^Triton deployments run the local CPU build modelplane\/triton-server: modelplane:tritonImage is auto and /);
  });
  test("an explicit image: present or pulled is used", () => {
    assert.deepEqual(chooseTritonImage(image, { imageId: ID, pulled: true }), {
      ok: true,
      choice: { layout: "official", image: REF, imageId: ID, reason: `modelplane:tritonImage is "${REF}" and pulled it` },
    });
  });
  test("an explicit image that can be neither found nor pulled is an error: key, value, fix", () => {
    assert.deepEqual(chooseTritonImage(image, { pulled: false, error: "manifest unknown" }), {
      ok: false,
      problem: `modelplane:tritonImage is "${REF}", but the engine neither has that image nor could pull it (manifest unknown); fix: make the image pullable (docker login, registry reachable) or load it with docker load, or set modelplane:tritonImage to auto or local`,
    });
  });
});

describe("officialTritonRun", () => {
  test("the image's own tritonserver on the mounted repository, port 8000, non-root, engine init", () => {
    assert.deepEqual(officialTritonRun("/var/azureml-app/azureml-models/add-sub/1/models", 8000), {
      command: [
        "/opt/tritonserver/bin/tritonserver",
        "--model-repository=/var/azureml-app/azureml-models/add-sub/1/models",
        "--http-port=8000",
        "--allow-grpc=false",
        "--allow-metrics=false",
        "--exit-timeout-secs=30",
      ],
      user: "1000:1000",
      init: true,
    });
  });
});

/** A scripted engine: what it has, whether the registry answers, what a pull adds. */
function engine(opts: { has?: string; registry?: "ok" | string; pullAdds?: string }): TritonImageEngine & { calls: string[] } {
  const calls: string[] = [];
  let has = opts.has;
  return {
    calls,
    async imageId(ref) {
      calls.push(`inspect ${ref}`);
      return has;
    },
    async check(ref, timeoutMs) {
      calls.push(`check ${ref} ${timeoutMs}`);
      if (opts.registry !== "ok") throw new Error(opts.registry ?? "no registry");
    },
    async pull(ref) {
      calls.push(`pull ${ref}`);
      has = opts.pullAdds;
    },
  };
}

describe("probeTritonImage / resolveTritonImage", () => {
  test("present: no registry call", async () => {
    const e = engine({ has: ID });
    assert.deepEqual(await probeTritonImage(REF, e), { imageId: ID, pulled: false });
    assert.deepEqual(e.calls, [`inspect ${REF}`]);
  });
  test("absent, registry answers: pulled", async () => {
    const e = engine({ registry: "ok", pullAdds: ID });
    assert.deepEqual(await probeTritonImage(REF, e), { imageId: ID, pulled: true });
    assert.deepEqual(e.calls, [`inspect ${REF}`, `check ${REF} 15000`, `pull ${REF}`, `inspect ${REF}`]);
  });
  test("absent, registry unreachable: no pull, the engine's reason", async () => {
    const e = engine({ registry: "lookup nvcr.io: no such host" });
    assert.deepEqual(await probeTritonImage(OFFICIAL_TRITON_IMAGE, e), { pulled: false, error: "lookup nvcr.io: no such host" });
    assert.deepEqual(e.calls, [`inspect ${OFFICIAL_TRITON_IMAGE}`, `check ${OFFICIAL_TRITON_IMAGE} 15000`]);
  });
  test("resolve: local asks the engine nothing; auto falls back; an explicit image fails", async () => {
    const e = engine({ registry: "unreachable" });
    assert.deepEqual(await resolveTritonImage("local", e), { ok: true, choice: { layout: "local", reason: "modelplane:tritonImage is local" } });
    assert.deepEqual(e.calls, []);
    const auto = await resolveTritonImage(undefined, e);
    assert.ok(auto.ok && auto.choice.layout === "local");
    const explicit = await resolveTritonImage(REF, e);
    assert.equal(explicit.ok, false);
    const bad = await resolveTritonImage("a b", e);
    assert.deepEqual(bad, parseTritonImageSetting("a b"));
  });
});
