/** The stacks deployed together, as one template for the local cloud: resources merged, imports resolved. */
import { mergeStackTemplates } from '../../../local/cloud/stack-templates';

const platform = {
  Resources: {
    StorageSilver: { Type: 'AWS::S3::Bucket', Properties: {} },
    CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'a' } },
  },
  Outputs: {
    GlueDatabaseName: { Value: 'medallion_dev' },
    ExportsOutputRefStorageSilver: {
      Value: { Ref: 'StorageSilver' },
      Export: { Name: 'Medallion-dev:ExportsOutputRefStorageSilver' },
    },
  },
};

const table = (location: unknown) => ({
  Type: 'AWS::Glue::Table',
  Properties: { TableInput: { Name: 'orders_arrivals', StorageDescriptor: { Location: location } } },
});

const imported = {
  'Fn::Join': [
    '',
    ['s3://', { 'Fn::ImportValue': 'Medallion-dev:ExportsOutputRefStorageSilver' }, '/retail/orders/'],
  ],
};

describe('mergeStackTemplates', () => {
  it("holds every stack's resources, a domain's imports of platform exports replaced by the exported values", () => {
    const domain = {
      Resources: {
        DatasetTablesArrivalsorders: table(imported),
        CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: 'b' } },
      },
      Outputs: { GlueDatabaseName: { Value: 'shadowed' } },
    };
    const merged = mergeStackTemplates([
      { stackName: 'Medallion-dev', template: platform },
      { stackName: 'Medallion-dev-retail', template: domain },
    ]);
    expect(Object.keys(merged.Resources).sort()).toEqual([
      'CDKMetadata',
      'DatasetTablesArrivalsorders',
      'StorageSilver',
    ]);
    expect(merged.Resources.DatasetTablesArrivalsorders).toEqual(
      table({ 'Fn::Join': ['', ['s3://', { Ref: 'StorageSilver' }, '/retail/orders/']] }),
    );
    // The platform (first) keeps its output names.
    expect(merged.Outputs.GlueDatabaseName).toEqual({ Value: 'medallion_dev' });
    expect(merged.Outputs['Medallion-dev-retail:GlueDatabaseName']).toEqual({ Value: 'shadowed' });
  });

  it('refuses one logical id in two stacks, naming both', () => {
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev', template: platform },
        { stackName: 'Medallion-dev-retail', template: { Resources: { StorageSilver: table('s3://x/') } } },
      ]),
    ).toThrow('stacks Medallion-dev and Medallion-dev-retail both declare the logical id StorageSilver');
  });

  it('refuses an import no stack exports', () => {
    expect(() =>
      mergeStackTemplates([
        { stackName: 'Medallion-dev-retail', template: { Resources: { T: table(imported) } } },
      ]),
    ).toThrow('no stack exports "Medallion-dev:ExportsOutputRefStorageSilver"');
  });
});
