import { ObjectChangedError } from '../../../core/errors';
import { unquoteETag } from '../../../lambdas/aws/s3';
import { checkSourceUnchanged } from '../../../lambdas/bronze-to-silver/source-check';
import { withLocalS3 } from '../../support/local-s3';

const BRONZE = 'bronze';

describe('checkSourceUnchanged', () => {
  const s3 = withLocalS3([BRONZE]);
  const eTagOf = async (key: string) => unquoteETag((await s3.head(BRONZE, key))?.ETag);

  it('passes while the object still has the ETag that was read', async () => {
    const key = 'retail/orders/same.csv';
    await s3.put(BRONZE, key, 'a,b\n1,2\n');

    await expect(
      checkSourceUnchanged(s3.client, { bucket: BRONZE, key }, await eTagOf(key), undefined),
    ).resolves.toBeUndefined();
  });

  it('throws ObjectChangedError (retried), naming both ETags, once the object was replaced', async () => {
    const key = 'retail/orders/replaced.csv';
    await s3.put(BRONZE, key, 'a,b\n1,2\n');
    const read = await eTagOf(key);
    await s3.put(BRONZE, key, 'a,b\n1,2\n3,4\n');
    const now = await eTagOf(key);

    const check = checkSourceUnchanged(s3.client, { bucket: BRONZE, key }, read, undefined);

    await expect(check).rejects.toBeInstanceOf(ObjectChangedError);
    await expect(check).rejects.toThrow(`s3://${BRONZE}/${key}: read ETag ${read}, now ${now}`);
    await expect(check).rejects.toMatchObject({ disposition: 'retry' });
  });

  it('checks nothing when no ETag was read (not even whether the object exists)', async () => {
    await expect(
      checkSourceUnchanged(
        s3.client,
        { bucket: BRONZE, key: 'retail/orders/gone.csv' },
        undefined,
        undefined,
      ),
    ).resolves.toBeUndefined();
  });

  it('fails when the object is gone, and when its signal is aborted', async () => {
    await expect(
      checkSourceUnchanged(s3.client, { bucket: BRONZE, key: 'retail/orders/gone.csv' }, 'abc', undefined),
    ).rejects.toThrow();

    const key = 'retail/orders/aborted.csv';
    await s3.put(BRONZE, key, 'a\n');
    await expect(
      checkSourceUnchanged(
        s3.client,
        { bucket: BRONZE, key },
        await eTagOf(key),
        AbortSignal.abort(new Error('out of time')),
      ),
    ).rejects.toThrow();
  });
});
