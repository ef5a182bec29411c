import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalGlueCatalog } from '../../../local/gold/glue-catalog';
import { GlueError } from '../../../local/gold/service-errors';
import { TemplateResolver } from '../../../local/gold/state-machine-definition';
import { NUMBERS_TEMPLATE as TEMPLATE } from './fixtures/numbers-template';

describe('LocalGlueCatalog', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'medallion-glue-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is seeded from the template, answers GetTable and persists UpdateTable', () => {
    const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } }));
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    expect(Table).toMatchObject({
      Name: 'numbers',
      DatabaseName: 'lake',
      TableType: 'EXTERNAL_TABLE',
      StorageDescriptor: { Location: 's3://g/numbers/_unpublished/' },
      VersionId: '1',
    });
    expect(Table).not.toHaveProperty('Owner');
    const { Name, TableType, StorageDescriptor } = Table;
    catalog.updateTable({
      DatabaseName: 'lake',
      TableInput: {
        Name,
        TableType,
        StorageDescriptor: { ...StorageDescriptor, Location: 's3://g/numbers/v=1/' },
      },
    });
    const reopened = new LocalGlueCatalog(join(dir, 'c.json'));
    reopened.seedFromTemplate(new TemplateResolver(TEMPLATE, { buckets: { gold: 'g' } })); // unchanged: kept
    expect(reopened.location('lake', 'numbers')).toBe('s3://g/numbers/v=1/');
    expect(reopened.getTable({ DatabaseName: 'lake', Name: 'numbers' }).Table.VersionId).toBe('2');
  });

  it('fails like Glue: unknown table, fields UpdateTable does not accept', () => {
    const catalog = new LocalGlueCatalog(join(dir, 'c.json'));
    catalog.seedFromTemplate(new TemplateResolver(TEMPLATE));
    expect(() => catalog.getTable({ DatabaseName: 'lake', Name: 'nope' })).toThrow(
      expect.objectContaining({ name: 'Glue.EntityNotFoundException' }),
    );
    const { Table } = catalog.getTable({ DatabaseName: 'lake', Name: 'numbers' });
    expect(() => catalog.updateTable({ DatabaseName: 'lake', TableInput: Table as never })).toThrow(
      GlueError,
    );
    expect(() => catalog.updateTable({ DatabaseName: 'lake', TableInput: Table as never })).toThrow(
      /fields UpdateTable does not accept: DatabaseName, CatalogId, CreateTime, UpdateTime, VersionId/,
    );
  });
});
