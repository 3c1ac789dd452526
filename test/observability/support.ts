// What the observability tests share: the Prometheus binaries, the committed deploy files, and the
// metric names a PromQL expression refers to.
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { servicesRequired } from '@wallet/testkit';

export const root = new URL('../../', import.meta.url).pathname;
export const prometheusConfigPath = `${root}deploy/prometheus/prometheus.yml`;
export const alertRulesPath = `${root}deploy/prometheus/alerts.yml`;
export const dashboardPaths = ['wallet-overview.json', 'wallet-ledger.json'].map((file) => `${root}deploy/grafana/dashboards/${file}`);
export const prometheusBin = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
export const promtoolBin = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';

/** node:test options: skip without the binary, unless WALLET_REQUIRE_SERVICES=1 (then fail). */
export function needsBinary(path: string): { skip: string | false } {
  if (existsSync(path)) return { skip: false };
  if (servicesRequired) throw new Error(`${path} is missing (WALLET_REQUIRE_SERVICES=1): install the Debian package prometheus`);
  return { skip: `${path} is missing` };
}

const operators = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);

/**
 * The metric names an expression selects. Strings, label matchers, ranges, grouping clauses,
 * variables and numbers go first; what is left and not called like a function is a metric name.
 */
export function metricNames(expr: string): string[] {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,/.exec(expr);
  if (labelValues) return [labelValues[1]!];
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ')
    .replace(/\b\d+(\.\d+)?(e[+-]?\d+)?\b/gi, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = match;
    if (call || operators.has(name!.toLowerCase())) continue;
    names.add(name!);
  }
  return [...names];
}

interface Panel {
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Every PromQL expression of the committed dashboards (panels and template variables). */
export function dashboardExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const path of dashboardPaths) {
    const dashboard = JSON.parse(readFileSync(path, 'utf8')) as { title: string; panels: (Panel & { title: string })[]; templating?: { list: { name: string; query?: { query?: string } | string }[] } };
    const visit = (panels: (Panel & { title?: string })[]) => {
      for (const panel of panels) {
        for (const target of panel.targets ?? []) if (target.expr) out.push({ where: `${dashboard.title} / ${panel.title}`, expr: target.expr });
        visit(panel.panels ?? []);
      }
    };
    visit(dashboard.panels);
    for (const variable of dashboard.templating?.list ?? []) {
      const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
      if (query) out.push({ where: `${dashboard.title} / $${variable.name}`, expr: query });
    }
  }
  return out;
}

/** Every expression of the committed alert rules. */
export function alertExpressions(): { where: string; expr: string }[] {
  const rules = parse(readFileSync(alertRulesPath, 'utf8')) as { groups: { rules: { alert?: string; record?: string; expr: string }[] }[] };
  return rules.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule.alert ?? rule.record}`, expr: rule.expr })));
}
