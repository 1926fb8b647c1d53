// Parsing of Azure ML asset references: `azureml:name:version`, `azureml:name@label`,
// `azureml://registries/<r>/<models|environments|components>/<name>/(versions/<v>|labels/<l>)`.
export interface AssetRef {
  raw: string;
  name: string;
  version?: string;
  label?: string;
}

export function isAssetRef(value: string): boolean {
  return /^azureml:/i.test(value);
}

export function parseAssetRef(raw: string): AssetRef | undefined {
  const uri = /^azureml:\/\/registries\/[^/]+\/(?:models|environments|components)\/([^/]+)\/(versions|labels)\/([^/]+)$/i.exec(raw);
  if (uri) {
    const [, name, by, tag] = uri as unknown as [string, string, string, string];
    return by.toLowerCase() === "versions" ? { raw, name, version: tag } : { raw, name, label: tag };
  }
  const short = /^azureml:([A-Za-z0-9_.-]+)(?::([A-Za-z0-9_.-]+)|@([A-Za-z0-9_.-]+))?$/i.exec(raw);
  if (!short) return undefined;
  const [, name, version, label] = short as unknown as [string, string, string | undefined, string | undefined];
  if (version !== undefined) return { raw, name, version };
  return { raw, name, label: label ?? "latest" };
}
