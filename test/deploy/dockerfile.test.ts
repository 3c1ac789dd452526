// The Dockerfile, read with dockerfile-ast (there is no Docker engine here): multi-stage, a Node 24
// base, production dependencies only in the final image, an unprivileged user, a healthcheck, and
// the build's type check (erasable TypeScript only, as Node's type stripping needs).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dockerfile = DockerfileParser.parse(readFileSync(join(root, 'Dockerfile'), 'utf8'));

interface Stage { name: string | null; image: string; instructions: Instruction[] }

function stages(): Stage[] {
  const args = new Map(dockerfile.getInitialARGs().map((arg) => [arg.getProperty()?.getName() ?? '', arg.getProperty()?.getValue() ?? '']));
  const out: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      const image = (from.getImage() ?? '').replace(/^\$\{?(\w+)\}?$/, (_, name: string) => args.get(name) ?? '');
      out.push({ name: from.getBuildStage(), image, instructions: [] });
    } else {
      out.at(-1)?.instructions.push(instruction);
    }
  }
  return out;
}

const content = (i: Instruction) => i.getArgumentsContent() ?? '';
const copyFrom = (i: Instruction) => (i as unknown as { getFlags(): { getName(): string; getValue(): string | null }[] }).getFlags().find((f) => f.getName() === 'from')?.getValue();
const of = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);

describe('Dockerfile', () => {
  const all = stages();
  const final = all.at(-1)!;

  test('is multi-stage on a pinned Node 24 image', () => {
    assert.ok(all.length >= 2, `${all.length} stages`);
    for (const stage of all) assert.match(stage.image, /^node:24(\.\d+)*-[a-z-]+$|^node:24$/, `stage ${stage.name}: ${stage.image}`);
    assert.ok(all.some((s) => of(s, 'RUN').some((r) => /\bnpm ci\b(?!.*--omit=dev)/.test(content(r)))), 'a build stage installs every dependency (npm ci)');
    assert.ok(all.some((s) => of(s, 'RUN').some((r) => /npm run build -w @wallet\/web/.test(content(r)))), 'a build stage builds the browser app the gateway serves');
  });

  test('the final stage holds production dependencies only, installed with --omit=dev in a clean tree', () => {
    assert.equal(of(final, 'RUN').length, 0, 'the final stage runs nothing (no package manager in the last layer)');
    const copies = of(final, 'COPY').map(content);
    const fromStage = of(final, 'COPY').map(copyFrom).filter(Boolean);
    assert.equal(fromStage.length, 1, `one COPY --from into the final stage: ${copies.join(' | ')}`);
    const source = all.find((s) => s.name === fromStage[0])!;
    assert.ok(source, `stage ${fromStage[0]}`);
    assert.ok(of(source, 'RUN').some((r) => /npm ci\b.*--omit=dev/.test(content(r))), `stage ${source.name} installs with --omit=dev`);
    const prune = of(source, 'RUN').map(content).find((r) => /--omit=dev/.test(r))!;
    assert.match(prune, /rm -rf node_modules .*services\/\*\/node_modules/, 'every node_modules with dev dependencies goes before');
  });

  test('the final stage runs as an unprivileged user, in the real mode, with a healthcheck and the service ports', () => {
    const users = of(final, 'USER').map(content);
    assert.ok(users.length > 0, 'a USER instruction');
    assert.ok(!['root', '0', '0:0'].includes(users.at(-1)!.trim()), `USER ${users.at(-1)}`);
    const env = of(final, 'ENV').map(content).join(' ');
    assert.match(env, /WALLET_MODE=real/);
    assert.match(env, /HOST=0\.0\.0\.0/);
    const health = of(final, 'HEALTHCHECK').map(content).join(' ');
    assert.match(health, /healthcheck\.mjs/);
    assert.match(readFileSync(join(root, 'deploy/docker/healthcheck.mjs'), 'utf8'), /\/healthz/);
    const exposed = of(final, 'EXPOSE').flatMap((e) => content(e).split(/\s+/));
    assert.deepEqual(exposed.sort(), ['8080', '8081', '8082', '8083', '8084']);
    assert.match(of(final, 'ENTRYPOINT').map(content).join(' '), /deploy\/docker\/entrypoint\.sh/);
  });

  test('.dockerignore keeps node_modules, secrets and tests out of the build context', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', '.env', '.git', 'test', '**/*.test.ts']) assert.ok(ignored.includes(entry), entry);
  });

  test("the build's type check passes, and rejects syntax Node's type stripping cannot run", () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'deploy/docker/tsconfig.json'], { cwd: root, stdio: 'pipe' });
    // The same settings on a file with a parameter property (not erasable) must fail.
    const dir = mkdtempSync(join(tmpdir(), 'wallet-erasable-'));
    try {
      writeFileSync(join(dir, 'bad.ts'), 'export class A {\n  constructor(readonly x: number) {}\n}\n');
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: join(root, 'deploy/docker/tsconfig.json'), compilerOptions: { typeRoots: [join(root, 'node_modules/@types')] }, include: ['bad.ts'] }));
      const result = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
      assert.notEqual(result.status, 0);
      assert.match(result.stdout, /erasableSyntaxOnly/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
