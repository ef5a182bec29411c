/**
 * A lake of 300 datasets in 10 domains synthesizes, cdk-nag included, with every stack within
 * CloudFormation's limits and every policy within IAM's, and the headroom printed (the README's table).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMedallionApp } from '../../lib/medallion-app';
import { testContext } from '../support/cdk';
import { headroomRow, LIMITS, limitsBroken, type StackUsage, stackUsage } from '../support/cfn-limits';
import { writeGeneratedContracts } from '../support/generated-contracts';

const DOMAINS = 10;
const PER_DOMAIN = 30;

describe('a lake of 300 datasets in 10 domains', () => {
  let work: string;
  let usage: StackUsage[];
  // biome-ignore lint/suspicious/noExplicitAny: the dashboards' bodies are inspected as JSON
  let dashboards: any[];

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'medallion-scale-'));
    const contracts = join(work, 'contracts');
    const models = join(work, 'models');
    mkdirSync(models);
    writeGeneratedContracts(contracts, { domains: DOMAINS, perDomain: PER_DOMAIN });
    const outdir = join(work, 'cdk.out');
    const { app } = createMedallionApp({
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
    // Throws on any cdk-nag finding that is not acknowledged.
    const assembly = app.synth();
    usage = assembly.stacks.map((s) => stackUsage(s.stackName, join(outdir, s.templateFile)));
    dashboards = assembly.stacks.flatMap((s) =>
      Object.values(s.template.Resources)
        // biome-ignore lint/suspicious/noExplicitAny: untyped template
        .filter((r: any) => r.Type === 'AWS::CloudWatch::Dashboard')
        // biome-ignore lint/suspicious/noExplicitAny: untyped template
        .map((r: any) => r.Properties.DashboardBody),
    );
    process.stdout.write(
      `\nstack | template | resources | outputs | largest role's inline policies (chars) | largest managed policy | state machine definition\n${usage
        .map(headroomRow)
        .join('\n')}\n`,
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

  it('keeps the platform independent of the number of datasets: its policies grow with domains only', () => {
    const platform = usage[0];
    expect(platform.resources).toBeLessThan(LIMITS.resources / 2);
    expect(platform.templateBytes).toBeLessThan(LIMITS.templateBytes / 2);
    expect(platform.largestRoleInline.chars).toBeLessThan(LIMITS.roleInlinePolicyChars * 0.75);
    // CDK moves what does not fit a role's inline policy into managed ones: one at most, half full.
    expect(platform.mostManagedPoliciesOnARole).toBeLessThanOrEqual(1);
    expect(platform.largestManagedPolicy.chars).toBeLessThan(LIMITS.managedPolicyChars * 0.75);
  });

  it('leaves each domain of 30 datasets room for at least twice as many', () => {
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
