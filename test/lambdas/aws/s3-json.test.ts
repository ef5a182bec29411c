import { getJson, putJson } from '../../../lambdas/aws/s3';
import { withLocalS3 } from '../../support/local-s3';

const BUCKET = 'records';

describe('JSON objects in S3', () => {
  const s3 = withLocalS3([BUCKET]);

  it('putJson writes the value pretty-printed, with a final newline, as application/json', async () => {
    await putJson(s3.client, BUCKET, 'a/b.json', { name: 'x', n: [1, 2] });

    expect((await s3.get(BUCKET, 'a/b.json'))?.toString()).toBe(
      `${JSON.stringify({ name: 'x', n: [1, 2] }, null, 2)}\n`,
    );
    expect((await s3.head(BUCKET, 'a/b.json'))?.ContentType).toBe('application/json');
  });

  it('getJson reads back what putJson wrote', async () => {
    const value = { status: 'ok', rows: { in: 3, out: 2 }, at: '2026-11-01T10:00:00.000Z' };
    await putJson(s3.client, BUCKET, 'round/trip.json', value);

    expect(await getJson(s3.client, BUCKET, 'round/trip.json')).toEqual(value);
  });

  it('getJson gives undefined for a key that does not exist', async () => {
    expect(await getJson(s3.client, BUCKET, 'never/written.json')).toBeUndefined();
  });

  it('getJson throws what is not a missing key: an aborted read, or a body that is not JSON', async () => {
    await putJson(s3.client, BUCKET, 'aborted.json', {});
    await expect(
      getJson(s3.client, BUCKET, 'aborted.json', AbortSignal.abort(new Error('out of time'))),
    ).rejects.toThrow();

    await s3.put(BUCKET, 'not-json.json', 'not { json');
    await expect(getJson(s3.client, BUCKET, 'not-json.json')).rejects.toThrow(SyntaxError);
  });

  it('putJson does not send once its signal is aborted', async () => {
    await expect(
      putJson(s3.client, BUCKET, 'unsent.json', { a: 1 }, AbortSignal.abort(new Error('out of time'))),
    ).rejects.toThrow();

    expect(await s3.get(BUCKET, 'unsent.json')).toBeUndefined();
  });
});
