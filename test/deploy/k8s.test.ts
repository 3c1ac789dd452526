// The Kubernetes manifests (deploy/k8s): the base and each overlay, rendered as Kustomize would,
// validated against the Kubernetes schemas (kubernetes-models) and held to the deployment policies.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { servicesRequired } from '@wallet/testkit';
import { applyOp, build, containersOf, k8sRoot, podSpecOf, splitImage, type Container, type Resource } from './support/kustomize.ts';

const targets = ['base', 'overlays/dev', 'overlays/production'];
const overlays = targets.filter((t) => t.startsWith('overlays/'));
const services = ['alias', 'account', 'transaction', 'balance', 'gateway'];
const stateless = ['alias', 'account', 'transaction', 'gateway'];

const render = (target: string) => build(join(k8sRoot, target), { exampleEnvFiles: true });

// kubectl embeds Kustomize (`kubectl kustomize`, no cluster needed): where it is installed, the
// test renderer must give exactly what it gives.
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).status === 0;
const noKubectl = !kubectl && !servicesRequired ? 'kubectl is not installed' : false;

function kustomize(target: string): Resource[] {
  const dir = mkdtempSync(join(tmpdir(), 'wallet-k8s-'));
  try {
    cpSync(k8sRoot, dir, { recursive: true });
    for (const overlay of overlays) {
      for (const file of readdirSync(join(dir, overlay)).filter((f) => f.endsWith('.env.example'))) {
        copyFileSync(join(dir, overlay, file), join(dir, overlay, file.replace(/\.example$/, '')));
      }
    }
    const out = execFileSync('kubectl', ['kustomize', join(dir, target)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return parseAllDocuments(out).map((doc) => doc.toJS() as Resource);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const models: Record<string, string> = {
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'apps/v1/StatefulSet': 'kubernetes-models/apps/v1/StatefulSet',
  'v1/Service': 'kubernetes-models/v1/Service',
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Namespace': 'kubernetes-models/v1/Namespace',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
};

async function validate(r: Resource): Promise<void> {
  const module = models[`${r.apiVersion}/${r.kind}`];
  assert.ok(module, `${r.kind} ${r.metadata.name}: no schema for ${r.apiVersion}/${r.kind}`);
  const model = (await import(module)) as Record<string, new (data: unknown) => { validate(): void }>;
  const Model = model[r.kind];
  assert.ok(Model, `${module} exports no ${r.kind}`);
  new Model(r).validate();
}

const find = (rs: Resource[], kind: string, name: string) => rs.find((r) => r.kind === kind && r.metadata.name === name);
const workloads = (rs: Resource[]) => rs.filter((r) => podSpecOf(r) !== undefined);
const podLabels = (r: Resource) => (r.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('kubernetes manifests', () => {
  for (const target of targets) {
    test(`${target}: every resource is valid against the Kubernetes schemas`, async () => {
      const resources = render(target);
      assert.ok(resources.length >= 20, `${resources.length} resources`);
      for (const r of resources) await validate(r);
    });
  }

  test('the validation rejects a broken manifest (a string port, a missing selector)', async () => {
    const deployment = structuredClone(find(render('base'), 'Deployment', 'gateway'))!;
    applyOp(deployment, { op: 'replace', path: '/spec/template/spec/containers/0/ports/0/containerPort', value: 'http' });
    await assert.rejects(validate(deployment), /containerPort must be integer/);
    const pdb = structuredClone(find(render('base'), 'PodDisruptionBudget', 'gateway'))!;
    applyOp(pdb, { op: 'replace', path: '/spec/maxUnavailable', value: [1] });
    await assert.rejects(validate(pdb));
  });

  for (const target of targets) {
    test(`${target}: every service has its workload, Service, PodDisruptionBudget; stateless ones an autoscaler`, () => {
      const resources = render(target);
      for (const name of services) {
        const kind = name === 'balance' ? 'StatefulSet' : 'Deployment';
        assert.ok(find(resources, kind, name), `${kind} ${name}`);
        assert.ok(find(resources, 'Service', name), `Service ${name}`);
        assert.ok(find(resources, 'PodDisruptionBudget', name), `PodDisruptionBudget ${name}`);
      }
      const hpas = resources.filter((r) => r.kind === 'HorizontalPodAutoscaler').map((r) => r.metadata.name).sort();
      assert.deepEqual(hpas, [...stateless].sort());
      assert.ok(find(resources, 'Ingress', 'gateway'), 'Ingress gateway');
    });

    test(`${target}: every container has probes, resources, a non-root read-only securityContext and a pinned image`, () => {
      for (const w of workloads(render(target))) {
        const pod = podSpecOf(w)!;
        const podSecurity = pod.securityContext as { runAsNonRoot?: boolean; runAsUser?: number } | undefined;
        for (const c of pod.containers) {
          const where = `${w.kind} ${w.metadata.name} container ${c.name}`;
          const probe = (name: string) => c[name] as { httpGet?: { path: string; port: string | number } } | undefined;
          assert.equal(probe('livenessProbe')?.httpGet?.path, '/healthz', `${where}: liveness probe on /healthz`);
          assert.equal(probe('readinessProbe')?.httpGet?.path, '/readyz', `${where}: readiness probe on /readyz`);
          const resources = c.resources as { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
          for (const key of ['cpu', 'memory']) {
            assert.ok(resources?.requests?.[key], `${where}: requests.${key}`);
            assert.ok(resources?.limits?.[key], `${where}: limits.${key}`);
          }
          const sc = c.securityContext as Record<string, unknown> | undefined;
          assert.equal(sc?.runAsNonRoot ?? podSecurity?.runAsNonRoot, true, `${where}: runAsNonRoot`);
          assert.notEqual(sc?.runAsUser ?? podSecurity?.runAsUser, 0, `${where}: not uid 0`);
          assert.equal(sc?.readOnlyRootFilesystem, true, `${where}: readOnlyRootFilesystem`);
          assert.equal(sc?.allowPrivilegeEscalation, false, `${where}: allowPrivilegeEscalation`);
          assert.equal(sc?.privileged ?? false, false, `${where}: not privileged`);
          const [, tag] = splitImage(c.image);
          assert.ok(tag && tag !== 'latest', `${where}: image ${c.image} pinned to a tag`);
        }
        const annotations = (w.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata.annotations ?? {};
        assert.equal(annotations['prometheus.io/scrape'], 'true', `${w.metadata.name}: prometheus.io/scrape`);
        const ports = pod.containers.flatMap((c) => (c.ports as { containerPort: number }[]).map((p) => String(p.containerPort)));
        assert.ok(ports.includes(annotations['prometheus.io/port'] ?? ''), `${w.metadata.name}: prometheus.io/port is a container port`);
      }
    });

    test(`${target}: selectors match pod labels, Service ports reach container ports, autoscalers and budgets target workloads`, () => {
      const resources = render(target);
      for (const w of workloads(resources)) {
        const selector = (w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        assert.ok(matches(selector, podLabels(w)), `${w.kind} ${w.metadata.name}: selector matches its pod labels`);
      }
      for (const svc of resources.filter((r) => r.kind === 'Service')) {
        const spec = svc.spec as { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] };
        const backends = workloads(resources).filter((w) => matches(spec.selector, podLabels(w)));
        assert.equal(backends.length, 1, `Service ${svc.metadata.name} selects exactly one workload`);
        const containers = backends.flatMap(containersOf);
        for (const port of spec.ports) {
          const reached = containers.some((c) => (c.ports as { name?: string; containerPort: number }[]).some((p) => p.name === port.targetPort || p.containerPort === port.targetPort));
          assert.ok(reached, `Service ${svc.metadata.name} port ${port.port} → ${port.targetPort} is a container port`);
        }
      }
      for (const hpa of resources.filter((r) => r.kind === 'HorizontalPodAutoscaler')) {
        const ref = (hpa.spec as { scaleTargetRef: { kind: string; name: string } }).scaleTargetRef;
        const target = find(resources, ref.kind, ref.name);
        assert.ok(target, `HPA ${hpa.metadata.name} targets ${ref.kind} ${ref.name}`);
        assert.equal((target.spec as { replicas?: number }).replicas, undefined, `${ref.kind} ${ref.name}: no fixed replicas under an autoscaler`);
        const spec = hpa.spec as { minReplicas: number; maxReplicas: number };
        assert.ok(spec.minReplicas <= spec.maxReplicas);
      }
      for (const pdb of resources.filter((r) => r.kind === 'PodDisruptionBudget')) {
        const selector = (pdb.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels;
        assert.equal(workloads(resources).filter((w) => matches(selector, podLabels(w))).length, 1, `PDB ${pdb.metadata.name} selects one workload`);
      }
      const ingress = find(resources, 'Ingress', 'gateway')!;
      const backend = JSON.stringify(ingress.spec);
      assert.match(backend, /"service":\{"name":"gateway","port":\{"name":"http"\}\}/);
    });
  }

  for (const target of overlays) {
    test(`${target}: every ConfigMap and Secret the pods read exists; balance knows its replica count and index`, () => {
      const resources = render(target);
      for (const w of workloads(resources)) {
        for (const c of containersOf(w)) {
          for (const from of (c.envFrom ?? []) as { configMapRef?: { name: string }; secretRef?: { name: string } }[]) {
            if (from.configMapRef) assert.ok(find(resources, 'ConfigMap', from.configMapRef.name), `${c.name}: ConfigMap ${from.configMapRef.name}`);
            if (from.secretRef) assert.ok(find(resources, 'Secret', from.secretRef.name), `${c.name}: Secret ${from.secretRef.name}`);
          }
        }
        assert.ok(w.metadata.namespace, `${w.metadata.name} has a namespace`);
      }
      const balance = find(resources, 'StatefulSet', 'balance')!;
      const env = (containersOf(balance)[0]!.env ?? []) as { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      const replicas = (balance.spec as { replicas: number }).replicas;
      assert.equal(env.find((e) => e.name === 'BALANCE_REPLICAS')?.value, String(replicas), 'BALANCE_REPLICAS equals the StatefulSet replicas');
      assert.equal(env.find((e) => e.name === 'BALANCE_REPLICA_INDEX')?.valueFrom?.fieldRef?.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
      const config = find(resources, 'ConfigMap', 'wallet-config')!.data as Record<string, string>;
      for (const name of services) {
        const svc = find(resources, 'Service', name)!;
        const port = (svc.spec as { ports: { port: number }[] }).ports[0]!.port;
        assert.equal(config[`${name.toUpperCase()}_URL`], `http://${name}:${port}`, `${name.toUpperCase()}_URL reaches Service ${name}`);
      }
    });
  }

  test('overlays differ where they should: production pins a registry image and scales balance to 4', () => {
    const production = render('overlays/production');
    const images = new Set(workloads(production).flatMap(containersOf).map((c: Container) => c.image));
    assert.deepEqual([...images], ['registry.example.com/wallet:0.1.0']);
    assert.equal((find(production, 'StatefulSet', 'balance')!.spec as { replicas: number }).replicas, 4);
    assert.equal((find(render('overlays/dev'), 'StatefulSet', 'balance')!.spec as { replicas: number }).replicas, 1);
  });

  test('no manifest git would commit carries a Secret value, and secret env files are ignored', () => {
    const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '--', '.'], { cwd: k8sRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(files.length > 10, 'manifests are tracked (or not ignored)');
    for (const file of files) {
      assert.ok(!/\.env$/.test(file), `${file}: a secret env file must not be committed`);
      if (!/\.ya?ml$/.test(file)) continue;
      for (const doc of parseAllDocuments(readFileSync(join(k8sRoot, file), 'utf8'))) {
        const r = doc.toJS() as Resource | null;
        if (r?.kind === 'Secret') assert.ok(!r.data && !r.stringData, `${file}: Secret ${r.metadata.name} carries values`);
      }
    }
    for (const overlay of overlays) {
      for (const file of readdirSync(join(k8sRoot, overlay)).filter((f) => f.endsWith('.env.example'))) {
        const text = readFileSync(join(k8sRoot, overlay, file), 'utf8');
        for (const line of text.split('\n').filter((l) => /^[A-Z_]+=/.test(l))) {
          const value = line.slice(line.indexOf('=') + 1);
          assert.ok(value === '' || value.includes('PASSWORD') || !/[0-9a-f]{16}/i.test(value), `${overlay}/${file}: ${line} looks like a real secret`);
        }
      }
    }
  });

  for (const target of targets) {
    test(`${target}: the test renderer gives what \`kubectl kustomize\` gives`, { skip: noKubectl }, () => {
      assert.ok(kubectl, 'kubectl is required (WALLET_REQUIRE_SERVICES=1)');
      const key = (r: Resource) => `${r.kind}/${r.metadata.name}`;
      // Secret data compared without the line breaks kubectl folds long base64 values with.
      const normal = (rs: Resource[]) =>
        rs
          .map((r) => (r.kind === 'Secret' ? { ...r, data: Object.fromEntries(Object.entries(r.data as Record<string, string>).map(([k, v]) => [k, v.replace(/\s/g, '')])) } : r))
          .sort((a, b) => key(a).localeCompare(key(b)));
      assert.deepEqual(normal(render(target)), normal(kustomize(target)));
    });
  }

  test('a patch that replaces a missing field fails the render instead of adding it', () => {
    assert.throws(() => applyOp({ spec: {} }, { op: 'replace', path: '/spec/replicas', value: 1 }), /not found/);
  });
});
