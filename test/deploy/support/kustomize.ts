// A small Kustomize renderer for the tests, so they run without a kustomize or kubectl binary. It supports only what
// deploy/k8s uses — resources, namespace, images, secretGenerator (env files), generatorOptions
// and JSON 6902 patches with a target — and refuses anything else, so a kustomization it cannot
// render exactly fails the test instead of being rendered wrong. k8s.test.ts compares its output
// with `kubectl kustomize` where kubectl is installed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

export type Resource = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown };

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  namespace?: string;
  images?: { name: string; newName?: string; newTag?: string }[];
  secretGenerator?: { name: string; envs: string[] }[];
  generatorOptions?: { disableNameSuffixHash?: boolean };
  patches?: { path: string; target: { kind: string; name?: string } }[];
}

const supported = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'secretGenerator', 'generatorOptions', 'patches']);
const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'IngressClass']);

export interface RenderOptions {
  /** Read `<file>.example` when a generator's env file is absent (the real one is never committed). */
  exampleEnvFiles?: boolean;
}

export function build(dir: string, options: RenderOptions = {}): Resource[] {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unknown = Object.keys(k).filter((key) => !supported.has(key));
  if (unknown.length > 0) throw new Error(`${dir}: the test renderer does not support ${unknown.join(', ')}`);
  if (k.secretGenerator && k.generatorOptions?.disableNameSuffixHash !== true) throw new Error(`${dir}: secretGenerator without disableNameSuffixHash (name hashes are not rendered here)`);
  const resources = (k.resources ?? []).flatMap((entry) => load(join(dir, entry), options));
  for (const gen of k.secretGenerator ?? []) resources.push(secretFromEnvs(dir, gen, options));
  for (const patch of k.patches ?? []) applyPatch(dir, resources, patch);
  for (const image of k.images ?? []) setImage(resources, image);
  if (k.namespace) for (const r of resources) if (!clusterScoped.has(r.kind)) r.metadata.namespace = k.namespace;
  return resources;
}

function load(path: string, options: RenderOptions): Resource[] {
  if (statSync(path).isDirectory()) return build(path, options);
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors[0]?.message}`);
    return doc.toJS() as Resource;
  });
}

function secretFromEnvs(dir: string, gen: { name: string; envs: string[] }, options: RenderOptions): Resource {
  const data: Record<string, string> = {};
  for (const file of gen.envs) {
    let path = join(dir, file);
    if (!existsSync(path) && options.exampleEnvFiles) path += '.example';
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const eq = trimmed.indexOf('=');
      if (eq <= 0) throw new Error(`${path}: not KEY=value: ${trimmed}`);
      data[trimmed.slice(0, eq)] = Buffer.from(trimmed.slice(eq + 1)).toString('base64');
    }
  }
  return { apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: gen.name }, data };
}

type Op = { op: 'add' | 'replace' | 'remove'; path: string; value?: unknown };

function applyPatch(dir: string, resources: Resource[], patch: { path: string; target: { kind: string; name?: string } }): void {
  const ops = parse(readFileSync(join(dir, patch.path), 'utf8')) as unknown;
  if (!Array.isArray(ops)) throw new Error(`${patch.path}: only JSON 6902 patches (a list of operations) are supported`);
  const targets = resources.filter((r) => r.kind === patch.target.kind && (patch.target.name === undefined || r.metadata.name === patch.target.name));
  if (targets.length === 0) throw new Error(`${patch.path}: no ${patch.target.kind} ${patch.target.name ?? ''} to patch`);
  for (const target of targets) for (const op of ops as Op[]) applyOp(target, op, patch.path);
}

/** JSON Patch (RFC 6902) add, replace and remove. */
export function applyOp(doc: unknown, { op, path, value }: Op, where = 'patch'): void {
  const keys = path.split('/').slice(1).map((key) => key.replaceAll('~1', '/').replaceAll('~0', '~'));
  const last = keys.pop();
  if (last === undefined) throw new Error(`${where}: empty path`);
  let node = doc as Record<string, unknown>;
  for (const key of keys) {
    const next = node[key];
    if (next === null || typeof next !== 'object') throw new Error(`${where}: ${path}: ${key} not found`);
    node = next as Record<string, unknown>;
  }
  const exists = Array.isArray(node) ? Number(last) < node.length : Object.hasOwn(node, last);
  if (op !== 'add' && !exists) throw new Error(`${where}: ${op} ${path}: not found`);
  if (Array.isArray(node)) {
    const index = last === '-' ? node.length : Number(last);
    if (op === 'remove') node.splice(index, 1);
    else node.splice(index, op === 'replace' ? 1 : 0, structuredClone(value));
  } else if (op === 'remove') delete node[last];
  else node[last] = structuredClone(value);
}

function setImage(resources: Resource[], image: { name: string; newName?: string; newTag?: string }): void {
  for (const container of resources.flatMap(containersOf)) {
    const [name, tag] = splitImage(container.image);
    if (name !== image.name) continue;
    container.image = `${image.newName ?? name}:${image.newTag ?? tag}`;
  }
}

export function splitImage(image: string): [string, string | undefined] {
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash ? [image.slice(0, colon), image.slice(colon + 1)] : [image, undefined];
}

export interface Container { name: string; image: string; [key: string]: unknown }

export function podSpecOf(r: Resource): { containers: Container[]; [key: string]: unknown } | undefined {
  if (r.kind !== 'Deployment' && r.kind !== 'StatefulSet') return undefined;
  return (r.spec as { template: { spec: { containers: Container[] } } }).template.spec;
}

export function containersOf(r: Resource): Container[] {
  return podSpecOf(r)?.containers ?? [];
}

export const k8sRoot = join(dirname(new URL(import.meta.url).pathname), '../../../deploy/k8s');
