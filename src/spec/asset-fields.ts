// Maps parsed model/environment fields to their spec shapes (dropping descriptive-only keys).
import type { EnvironmentField, ModelField } from "./schema-fields";
import type { EnvironmentSpec, ModelSpec } from "./types";

export function toModelSpec(m: ModelField): ModelSpec {
  const spec: ModelSpec = { type: m.type };
  if (m.name !== undefined) spec.name = m.name;
  if (m.version !== undefined) spec.version = m.version;
  if (m.path !== undefined) spec.path = m.path;
  if (m.reference !== undefined) spec.reference = m.reference;
  return spec;
}

export function toEnvironmentSpec(e: EnvironmentField): EnvironmentSpec {
  const spec: EnvironmentSpec = {};
  if (e.name !== undefined) spec.name = e.name;
  if (e.version !== undefined) spec.version = e.version;
  if (e.image !== undefined) spec.image = e.image;
  if (e.conda_file !== undefined) spec.conda_file = e.conda_file;
  if (e.build !== undefined) spec.build = e.build.dockerfile_path === undefined ? { path: e.build.path } : { path: e.build.path, dockerfile_path: e.build.dockerfile_path };
  if (e.inference_config !== undefined) spec.inference_config = e.inference_config;
  if (e.reference !== undefined) spec.reference = e.reference;
  return spec;
}
