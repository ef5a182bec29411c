import { bronzeContentType, bronzeMetadata, headerSafe } from '../../../lambdas/landing/bronze-object';

const provenance = {
  source: 'api' as const,
  originalName: 'day.csv',
  receivedAt: new Date('2026-11-21T10:00:00Z'),
  sha256: 'ab'.repeat(32),
  requestId: 'req-1',
  contentType: 'text/csv',
};

describe('bronzeMetadata', () => {
  it('records where the bytes came from, as ASCII header values', () => {
    expect(bronzeMetadata({ ...provenance, originalName: 'résumé 1.csv', requestId: 'réq' })).toEqual({
      source: 'api',
      'original-name': 'r%C3%A9sum%C3%A9%201.csv',
      'received-at': '2026-11-21T10:00:00.000Z',
      sha256: provenance.sha256,
      'request-id': 'r%C3%A9q',
      'content-type': 'text/csv',
    });
  });

  it('cuts a long original name to 1024 characters, never inside an encoded character', () => {
    const name = `${'a'.repeat(1022)}é.csv`;
    const recorded = bronzeMetadata({ ...provenance, originalName: name })['original-name'];
    expect(recorded).toBe('a'.repeat(1022));
    expect(bronzeMetadata({ ...provenance, originalName: 'x'.repeat(2000) })['original-name']).toHaveLength(
      1024,
    );
  });

  it('records a lone surrogate as U+FFFD', () => {
    expect(bronzeMetadata({ ...provenance, originalName: 'a\ud800b' })['original-name']).toBe('a%EF%BF%BDb');
  });
});

describe('headerSafe', () => {
  it('keeps printable ASCII and percent-encodes anything else', () => {
    expect(headerSafe('a b/c%~')).toBe('a b/c%~');
    expect(headerSafe('tab\there é')).toBe('tab%09here %C3%A9');
  });
});

describe('bronzeContentType', () => {
  it('is the format media type, or application/gzip for compressed bytes', () => {
    expect(bronzeContentType('csv', false)).toBe('text/csv');
    expect(bronzeContentType('ndjson', false)).toBe('application/x-ndjson');
    expect(bronzeContentType('json', false)).toBe('application/json');
    expect(bronzeContentType('json', true)).toBe('application/gzip');
  });
});
