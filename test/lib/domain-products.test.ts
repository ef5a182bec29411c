/**
 * A domain's products' SLO alarms in one nested stack per product: what each stack holds, how the domain's
 * stack wires them (topics in, alarm ARNs out, no cycle), that the local cloud still sees every alarm, and
 * what a deployment does when a product comes, goes or changes (its stack alone; no alarm changes stacks).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  App,
  type CfnResource,
  CfnWaitConditionHandle,
  Fn,
  type NestedStack,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { DatasetContract } from '../../core/contracts/dataset-contract';
import { DomainProducts } from '../../lib/domain-products';
import { DomainStack } from '../../lib/domain-stack';
import { createMedallionApp } from '../../lib/medallion-app';
import type { ProductSloStack } from '../../lib/monitoring/product-slo-stack';
import { mergedTemplateOf } from '../../local/cloud/stack-templates';
import { testContext } from '../support/cdk';
import { itemsContract } from '../support/items-contract';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation templates are untyped JSON
type Json = any;

const tmp = mkdtempSync(join(tmpdir(), 'medallion-domain-products-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A nested stack's logical id in its parent, and its template. */
function nestedOf(parent: Stack, assembly: CloudAssembly, stack: NestedStack) {
  return {
    logicalId: parent.resolve((stack.nestedStackResource as CfnResource).logicalId) as string,
    template: JSON.parse(readFileSync(join(assembly.directory, stack.templateFile), 'utf8')) as Json,
  };
}

const ofType = (template: Json, type: string): [string, Json][] =>
  Object.entries<Json>(template.Resources).filter(([, r]) => r.Type === type);

/** Every logical id `value` references (`Ref`, `Fn::GetAtt`), pseudo parameters left out. */
function references(value: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) for (const v of value) references(v, out);
  else if (value && typeof value === 'object') {
    if (typeof value.Ref === 'string' && !value.Ref.startsWith('AWS::')) out.add(value.Ref);
    const att = value['Fn::GetAtt'];
    if (Array.isArray(att)) out.add(att[0]);
    for (const v of Object.values(value)) references(v, out);
  }
  return out;
}

describe("the sample lake's retail domain", () => {
  const { app, domainStacks, pipeline } = createMedallionApp({
    outdir: join(tmp, 'sample'),
    context: testContext(),
  });
  // Throws on any cdk-nag finding, nested stacks included (see the last describe).
  const assembly = app.synth();
  const retail = domainStacks[0];
  const parent = assembly.getStackByName(retail.stackName).template;
  const products = retail.products;
  if (!products) throw new Error('the retail stack has no products');
  const nested = new Map(
    [...products.sloStacks.entries()].map(([title, s]) => [title, nestedOf(retail, assembly, s)]),
  );
  if (!products.budgetsStack) throw new Error('the retail stack has no budgets dashboard');
  const budgets = nestedOf(retail, assembly, products.budgetsStack);
  const compositeNames = [...nested.values()].flatMap(({ template }) =>
    ofType(template, 'AWS::CloudWatch::CompositeAlarm').map(([, r]) => r.Properties.AlarmName as string),
  );

  test('each product with an SLO has a nested stack of its own, one resource of the domain stack each', () => {
    expect([...nested.keys()].sort()).toEqual([
      'gold/category_sales',
      'gold/customer_lifetime_value',
      'gold/daily_sales',
      'retail/customers',
      'retail/orders',
      'retail/products',
    ]);
    expect(
      ofType(parent, 'AWS::CloudFormation::Stack')
        .map(([id]) => id)
        .sort(),
    ).toEqual([...[...nested.values()].map((n) => n.logicalId), budgets.logicalId].sort());
    // No SLO alarm and no budgets dashboard stays in the domain's stack.
    for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
      const names = ofType(parent, type).map(([, r]) => r.Properties.AlarmName);
      expect(names.filter((n) => String(n).includes('-slo-'))).toEqual([]);
    }
    const dashboards = ofType(parent, 'AWS::CloudWatch::Dashboard').map(
      ([, r]) => r.Properties.DashboardName,
    );
    expect(dashboards).toEqual(['Medallion-dev-retail']);
  });

  test("a product's nested stack holds its SLOs' alarms and nothing else", () => {
    for (const [title, { template }] of nested) {
      const product = title.slice(title.indexOf('/') + 1);
      const slos = products.sloStacks.get(title)?.slos;
      const windows = ofType(template, 'AWS::CloudWatch::Alarm').map(([, r]) => r.Properties.AlarmName);
      const composites = ofType(template, 'AWS::CloudWatch::CompositeAlarm').map(
        ([, r]) => r.Properties.AlarmName,
      );
      expect(windows).toHaveLength(Object.keys(slos?.alarms ?? {}).length);
      expect(composites).toHaveLength(Object.keys(slos?.compositeAlarms ?? {}).length);
      expect(composites.length).toBeGreaterThan(0);
      for (const name of [...windows, ...composites])
        expect(name).toMatch(new RegExp(`^Medallion-dev-slo-${product}-`));
      expect(Object.keys(template.Resources).length).toBe(windows.length + composites.length);
      // Nothing reads its alarms through outputs: the dashboard names them.
      expect(template.Outputs ?? {}).toEqual({});
    }
  });

  test("the budgets dashboard, in a nested stack, shows every SLO alert of the domain by its name's ARN", () => {
    const [[, dashboard]] = ofType(budgets.template, 'AWS::CloudWatch::Dashboard');
    expect(dashboard.Properties.DashboardName).toBe('Medallion-dev-retail-slos');
    // A Fn::Join of JSON text and pseudo parameters (partition, region, account): each becomes X.
    const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as Json[];
    for (const p of parts.filter((p) => typeof p !== 'string')) expect(p.Ref).toMatch(/^AWS::/);
    const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'X')).join(''));
    const shown = body.widgets
      .filter((w: Json) => w.type === 'alarm')
      .flatMap((w: Json) => w.properties.alarms as string[]);
    for (const arn of shown) expect(arn).toMatch(/^arn:X:cloudwatch:X:X:alarm:/);
    expect(shown.map((arn: string) => arn.slice(arn.indexOf(':alarm:') + 7)).sort()).toEqual(
      [...compositeNames].sort(),
    );
    expect(compositeNames).toHaveLength(Object.keys(products.slos.compositeAlarms).length);
    // Then each product's budget left and burn-down.
    expect(body.widgets.filter((w: Json) => w.type === 'metric')).toHaveLength(2 * nested.size);
    // It references no other stack's resource: no parameter, nothing passed.
    expect(budgets.template.Parameters ?? {}).toEqual({});
    expect(parent.Resources[budgets.logicalId].Properties.Parameters ?? {}).toEqual({});
  });

  test("deployment order has no cycle: the topics, then the products' stacks, then the budgets stack", () => {
    const edges = new Map<string, Set<string>>();
    for (const [id, r] of Object.entries<Json>(parent.Resources)) {
      const deps = references(r.Properties ?? {});
      for (const d of [r.DependsOn ?? []].flat()) deps.add(d);
      edges.set(id, new Set([...deps].filter((d) => d in parent.Resources)));
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, path: string[]): void => {
      if (state.get(id) === 'done') return;
      if (state.get(id) === 'visiting') throw new Error(`cycle: ${[...path, id].join(' -> ')}`);
      state.set(id, 'visiting');
      for (const d of edges.get(id) ?? []) visit(d, [...path, id]);
      state.set(id, 'done');
    };
    for (const id of edges.keys()) visit(id, []);
    // A product's stack reads the domain's page and ticket topics, and nothing else.
    const topics = ofType(parent, 'AWS::SNS::Topic').map(([id]) => id);
    for (const { logicalId } of nested.values())
      expect([...(edges.get(logicalId) ?? [])].sort()).toEqual([...topics].sort());
    // The budgets stack waits for every product's stack.
    expect([...(edges.get(budgets.logicalId) ?? [])].sort()).toEqual(
      [...nested.values()].map((n) => n.logicalId).sort(),
    );
  });

  test('the local cloud sees every alarm and dashboard: the merged template inlines the nested stacks', () => {
    const merged = mergedTemplateOf(assembly, pipeline.stacks);
    expect(ofType(merged, 'AWS::CloudFormation::Stack')).toEqual([]);
    const all = [parent, budgets.template, ...[...nested.values()].map((n) => n.template)];
    for (const type of ['AWS::CloudWatch::Alarm', 'AWS::CloudWatch::CompositeAlarm']) {
      const names = (t: Json) => ofType(t, type).map(([, r]) => r.Properties.AlarmName);
      expect(names(merged)).toEqual(expect.arrayContaining(all.flatMap(names)));
    }
    const dashboards = ofType(merged, 'AWS::CloudWatch::Dashboard').map(
      ([, r]) => r.Properties.DashboardName,
    );
    expect(dashboards).toEqual(expect.arrayContaining(['Medallion-dev-retail', 'Medallion-dev-retail-slos']));
  });
});

/** The platform's lake as its stack exports it (the reader role's grants are acknowledged on export names). */
const lakeExports = () => ({
  silverBucketArn: Fn.importValue('Medallion-dev-SilverBucketArn'),
  goldBucketArn: Fn.importValue('Medallion-dev-GoldBucketArn'),
  bronzeBucketArn: Fn.importValue('Medallion-dev-BronzeBucketArn'),
  quarantineBucketArn: Fn.importValue('Medallion-dev-QuarantineBucketArn'),
  athenaResultsBucketArn: Fn.importValue('Medallion-dev-AthenaResultsBucketArn'),
  keyArn: Fn.importValue('Medallion-dev-LakeKeyArn'),
  databaseName: 'medallion_dev',
  workGroupNamePrefix: 'medallion-dev',
});

/** The retail domain of these contracts alone in an app (the platform's lake imported), synthesized. */
function synthDomain(name: string, contracts: DatasetContract[]) {
  const app = new App({ outdir: join(tmp, name), context: testContext() });
  const env = { account: '111111111111', region: 'eu-west-1' };
  const imports = new Stack(app, 'Platform', { env });
  // A stack needs a resource; the domain imports the rest.
  new CfnWaitConditionHandle(imports, 'Placeholder');
  const arn = (service: string, resource: string) => `arn:aws:${service}:eu-west-1:111111111111:${resource}`;
  const stack = new DomainStack(app, 'Medallion-dev-retail', {
    env,
    domain: 'retail',
    contracts,
    environment: 'dev',
    databaseName: 'medallion_dev',
    silverBucket: s3.Bucket.fromBucketName(imports, 'Silver', 'medallion-dev-silver'),
    alarmTopic: sns.Topic.fromTopicArn(imports, 'Alarms', arn('sns', 'medallion-dev-alarms')),
    alarmNamePrefix: 'Medallion-dev',
    products: {
      contracts,
      lake: lakeExports(),
    },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const stacks = stack.products?.sloStacks ?? new Map();
  const budgets = stack.products?.budgetsStack;
  return {
    stack,
    parent: assembly.getStackByName(stack.stackName).template,
    nested: new Map([...stacks.entries()].map(([title, s]) => [title, nestedOf(stack, assembly, s)])),
    budgetsId: budgets && nestedOf(stack, assembly, budgets).logicalId,
  };
}

const dataset = (name: string, sla: Record<string, string> | undefined) =>
  itemsContract(
    [],
    { owner: { team: 'retail-data', contact: 'retail-data@example.com' }, ...(sla ? { sla } : {}) },
    { domain: 'retail', dataset: name },
  );

describe('deploying a change: each product keeps its stack', () => {
  const orders = dataset('orders', { quality: '99%', freshness: '1 hour' });
  const customers = dataset('customers', { quality: '95%' });
  const visits = dataset('visits', { quality: '99.5%', freshness: '2 hours' });
  const before = synthDomain('before', [orders, customers]);
  const added = synthDomain('added', [orders, customers, visits]);

  /**
   * The products' nested stacks as CloudFormation compares them (logical id, template, whose URL is its
   * content's hash, and parameters); every nested stack of the parent is one of them or the budgets'.
   */
  const productStacksOf = (d: ReturnType<typeof synthDomain>) => {
    const all = Object.fromEntries(
      ofType(d.parent, 'AWS::CloudFormation::Stack').map(([id, r]) => [id, r.Properties]),
    );
    const ids = [...d.nested.values()].map((n) => n.logicalId);
    expect(Object.keys(all).sort()).toEqual([...ids, d.budgetsId].sort());
    return Object.fromEntries(ids.map((id) => [id, all[id]]));
  };

  test('adding a dataset with an SLA adds its nested stack and leaves every other product stack as it was', () => {
    const was = productStacksOf(before);
    const now = productStacksOf(added);
    const visitsId = added.nested.get('retail/visits')?.logicalId as string;
    expect(Object.keys(now).sort()).toEqual([...Object.keys(was), visitsId].sort());
    // Same logical id, template and parameters: CloudFormation leaves them alone.
    for (const id of Object.keys(was)) expect(now[id]).toEqual(was[id]);
    // The budgets dashboard gains the product's widgets in the same stack.
    expect(added.budgetsId).toBe(before.budgetsId);
  });

  test('removing it removes its nested stack (and its alarms with it) and nothing else', () => {
    const now = productStacksOf(before);
    const was = productStacksOf(added);
    const gone = Object.keys(was).filter((id) => !(id in now));
    expect(gone).toEqual([added.nested.get('retail/visits')?.logicalId]);
    for (const id of Object.keys(now)) expect(now[id]).toEqual(was[id]);
  });

  test("changing one product's SLA updates its nested stack alone", () => {
    const stricter = synthDomain('stricter', [
      dataset('orders', { quality: '99.9%', freshness: '1 hour' }),
      customers,
    ]);
    const was = productStacksOf(before);
    const now = productStacksOf(stricter);
    expect(Object.keys(now).sort()).toEqual(Object.keys(was).sort());
    const ordersId = before.nested.get('retail/orders')?.logicalId as string;
    const changed = Object.keys(was).filter((id) => JSON.stringify(now[id]) !== JSON.stringify(was[id]));
    expect(changed).toEqual([ordersId]);
  });

  test('a dataset without an SLA has no nested stack; a domain without SLAs has no budgets dashboard', () => {
    const none = synthDomain('none', [dataset('orders', undefined)]);
    expect(none.nested.size).toBe(0);
    expect(ofType(none.parent, 'AWS::CloudFormation::Stack')).toEqual([]);
    expect(
      ofType(none.parent, 'AWS::CloudWatch::Dashboard').map(([, r]) => r.Properties.DashboardName),
    ).toEqual(['Medallion-dev-retail']);
  });
});

describe('cdk-nag', () => {
  /** The domain's products in an app checked by cdk-nag, `extra` added to the orders' nested stack. */
  const synthProducts = (name: string, extra: (nested: ProductSloStack) => void) => {
    const app = new App({ outdir: join(tmp, name), context: testContext() });
    const stack = new Stack(app, 'Domain', { env: { account: '111111111111', region: 'eu-west-1' } });
    const products = new DomainProducts(stack, 'Products', {
      domain: 'retail',
      contracts: [dataset('orders', { quality: '99%' })],
      lake: lakeExports(),
      namePrefix: 'Medallion-dev',
      platformTopic: sns.Topic.fromTopicArn(stack, 'Platform', 'arn:aws:sns:eu-west-1:111111111111:p'),
    });
    const nested = products.sloStacks.get('retail/orders');
    if (!nested) throw new Error('no nested stack for retail/orders');
    extra(nested);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return () => app.synth();
  };

  test('passes on the products, their nested stacks included', () => {
    expect(synthProducts('nag-clean', () => {})).not.toThrow();
  });

  test("inspects the products' nested stacks: a finding inside one fails synthesis", () => {
    // A topic without a TLS-only policy: AwsSolutions-SNS3.
    const synth = synthProducts('nag-finding', (nested) => new sns.Topic(nested, 'Unencrypted'));
    expect(synth).toThrow(/Domain\/Products\/Slo-retail\.orders\/Unencrypted[\s\S]*AwsSolutions-SNS3/);
  });
});
