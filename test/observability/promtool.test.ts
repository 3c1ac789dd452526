// The committed Prometheus files pass Prometheus' own checks, and the alert rules fire on the
// series they are written for (promtool's rule unit tests, alert-rules.test.yml).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { alertRulesPath, needsBinary, prometheusConfigPath, promtoolBin, root } from './support.ts';

function promtool(...args: string[]): string {
  return execFileSync(promtoolBin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('promtool', needsBinary(promtoolBin), () => {
  test('check config: the scrape configuration and the rule file it names are valid', () => {
    const out = promtool('check', 'config', prometheusConfigPath);
    assert.match(out, /SUCCESS: 1 rule files found/);
    assert.match(out, /is valid prometheus config file syntax/);
  });

  test('check rules: every alert rule is valid', () => {
    const out = promtool('check', 'rules', alertRulesPath);
    assert.match(out, /SUCCESS: \d+ rules found/);
  });

  test('test rules: the alerts fire on the series they watch, and stay quiet otherwise', () => {
    // promtool resolves rule_files next to the test file: both go to one temporary folder.
    const dir = mkdtempSync(join(tmpdir(), 'wallet-alerts-'));
    try {
      copyFileSync(alertRulesPath, join(dir, 'alerts.yml'));
      copyFileSync(`${root}test/observability/alert-rules.test.yml`, join(dir, 'alert-rules.test.yml'));
      const out = promtool('test', 'rules', join(dir, 'alert-rules.test.yml'));
      assert.match(out, /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
