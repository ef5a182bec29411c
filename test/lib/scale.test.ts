/**
 * A lake of 300 datasets in 10 domains, each a data product with an SLA on quality, freshness and
 * completeness, synthesizes, cdk-nag included, with every stack (each product's nested SLO stack too)
 * within CloudFormation's limits and every policy within IAM's, and the headroom printed (the README's table).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';
import {
  headroomRow,
  LIMITS,
  limitsBroken,
  nestedStacks,
  type StackUsage,
  stackUsage,
} from '../support/cfn-limits';
import { writeGeneratedContracts } from '../support/generated-contracts';

const DOMAINS = 10;
const PER_DOMAIN = 30;

describe('a lake of 300 datasets in 10 domains', () => {
  let work: string;
  let usage: StackUsage[];
  /** The nested stacks of each stack: each product's SLO alarms (`/Slo-`), the budgets (`/SloBudgets`). */
  let nested: Map<string, StackUsage[]>;
  let sloCount: number;
  // biome-ignore lint/suspicious/noExplicitAny: the dashboards' bodies are inspected as JSON
  let dashboards: any[];
  const productStacks = (stack: string) => (nested.get(stack) ?? []).filter((u) => u.stack.includes('/Slo-'));
  const budgetsStacks = (stack: string) =>
    (nested.get(stack) ?? []).filter((u) => u.stack.includes('/SloBudgets'));

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'medallion-scale-'));
    const contracts = join(work, 'contracts');
    const models = join(work, 'models');
    mkdirSync(models);
    writeGeneratedContracts(contracts, { domains: DOMAINS, perDomain: PER_DOMAIN, sla: true });
    const outdir = join(work, 'cdk.out');
    const { app, domainStacks } = createMedallionApp({
      outdir,
      context: testContext({
        'medallion:config': {
          environment: 'prod',
          alarmEmail: 'ops@example.com',
          contractsDir: contracts,
          // The workflow merges every dataset's current state even without a model.
          gold: { enabled: true, modelsDir: models },
        },
      }),
    });
    // Throws on any cdk-nag finding that is not acknowledged (nested stacks included).
    const assembly = app.synth();
    usage = assembly.stacks.map((s) => stackUsage(s.stackName, join(outdir, s.templateFile)));
    const nestedFiles = assembly.stacks.map((s) => ({ stack: s.stackName, files: nestedStacks(s) }));
    nested = new Map(
      nestedFiles.map(({ stack, files }) => [stack, files.map((n) => stackUsage(n.stack, n.templateFile))]),
    );
    sloCount = domainStacks.reduce((n, d) => n + (d.products?.slos.slos.length ?? 0), 0);
    const templates = [
      ...assembly.stacks.map((s) => s.template),
      ...nestedFiles.flatMap(({ files }) =>
        files.map((n) => JSON.parse(readFileSync(n.templateFile, 'utf8'))),
      ),
    ];
    dashboards = templates.flatMap((t) =>
      Object.values(t.Resources)
        // biome-ignore lint/suspicious/noExplicitAny: untyped template
        .filter((r: any) => r.Type === 'AWS::CloudWatch::Dashboard')
        // biome-ignore lint/suspicious/noExplicitAny: untyped template
        .map((r: any) => r.Properties.DashboardBody),
    );
    const bySize = (of: StackUsage[]) => [...of].sort((a, b) => a.templateBytes - b.templateBytes);
    const smallestAndLargest = (of: StackUsage[]) => [bySize(of)[0], bySize(of)[of.length - 1]];
    const domains = usage.slice(1).map((u) => u.stack);
    process.stdout.write(
      `\nstack | template | resources | outputs | largest role's inline policies (chars) | largest managed policy | state machine definition\n${[
        ...usage,
        ...smallestAndLargest(domains.flatMap(budgetsStacks)),
        ...smallestAndLargest(domains.flatMap(productStacks)),
      ]
        .map(headroomRow)
        .join('\n')}\n(${sloCount} SLOs in ${domains.flatMap(productStacks).length} product stacks)\n`,
    );
  }, 300_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('deploys as a platform stack and one stack per domain', () => {
    expect(usage.map((u) => u.stack)).toEqual([
      'Medallion-prod',
      ...[
        'customer-care',
        'finance',
        'human-resources',
        'logistics',
        'manufacturing',
        'marketing',
        'procurement',
        'retail',
        'supply-chain',
        'web-analytics',
      ].map((d) => `Medallion-prod-${d}`),
    ]);
  });

  it('keeps every stack within CloudFormation limits and every policy within IAM limits', () => {
    expect(usage.flatMap(limitsBroken)).toEqual([]);
  });

  it("holds every dataset's SLOs: each product's alarms in a nested stack of its own, the budgets in one more", () => {
    // Quality and freshness per dataset at least (completeness too once it is alarmed on).
    expect(sloCount).toBeGreaterThanOrEqual(2 * DOMAINS * PER_DOMAIN);
    expect(usage[0].stack).toBe('Medallion-prod');
    expect(nested.get('Medallion-prod')).toEqual([]);
    for (const { stack } of usage.slice(1)) {
      expect(productStacks(stack)).toHaveLength(PER_DOMAIN);
      expect(budgetsStacks(stack)).toHaveLength(1);
      expect(nested.get(stack)).toHaveLength(PER_DOMAIN + 1);
      // 6 windows and 2 composites per SLO.
      for (const p of productStacks(stack)) expect(p.resources).toBeGreaterThanOrEqual(2 * 8);
    }
  });

  it('keeps every nested stack within CloudFormation limits: a product has room for 10 times its SLOs', () => {
    expect([...nested.values()].flat().flatMap(limitsBroken)).toEqual([]);
    for (const { stack } of usage.slice(1)) {
      for (const p of productStacks(stack)) {
        expect(p.resources * 10).toBeLessThan(LIMITS.resources);
        expect(p.templateBytes * 10).toBeLessThan(LIMITS.templateBytes);
      }
      // The budgets dashboards of twice as many products would fit too.
      for (const b of budgetsStacks(stack)) {
        expect(b.resources * 2).toBeLessThan(LIMITS.resources);
        expect(b.templateBytes * 2).toBeLessThan(LIMITS.templateBytes);
      }
    }
  });

  it('keeps the platform independent of the number of datasets: its policies grow with domains only', () => {
    const platform = usage[0];
    expect(platform.resources).toBeLessThan(LIMITS.resources / 2);
    expect(platform.templateBytes).toBeLessThan(LIMITS.templateBytes / 2);
    expect(platform.largestRoleInline.chars).toBeLessThan(LIMITS.roleInlinePolicyChars * 0.75);
    // CDK moves what does not fit a role's inline policy into managed ones: one at most, half full.
    expect(platform.mostManagedPoliciesOnARole).toBeLessThanOrEqual(1);
    expect(platform.largestManagedPolicy.chars).toBeLessThan(LIMITS.managedPolicyChars * 0.75);
  });

  it('leaves each domain of 30 datasets, SLOs included, room for at least twice as many', () => {
    for (const domain of usage.slice(1)) {
      expect(domain.resources * 2).toBeLessThan(LIMITS.resources);
      expect(domain.templateBytes * 2).toBeLessThan(LIMITS.templateBytes);
    }
  });

  it('keeps every dashboard within 100 widgets and every alarm status widget within 100 alarms', () => {
    for (const body of dashboards) {
      // A Fn::Join of JSON text and tokens (each inside a JSON string): a token becomes X.
      const parts: unknown[] = body['Fn::Join'] ? body['Fn::Join'][1] : [body];
      const json = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'X')).join(''));
      expect(json.widgets.length).toBeLessThanOrEqual(100);
      for (const w of json.widgets) {
        if (w.type === 'alarm') expect(w.properties.alarms.length).toBeLessThanOrEqual(100);
      }
    }
  });
});
