/**
 * A process that takes the lock of a state directory (argv[2]) and holds it until its stdin closes:
 * prints `locked <pid>` or `refused <message>` on one line. argv[3]: the mechanism (`socket` or `file`). For the lock's multi-process tests.
 */
import { acquireStateLock, type StateLockMechanism } from '../../local/cloud/state-lock';

void (async () => {
  try {
    const lock = await acquireStateLock(
      process.argv[2],
      'state-lock child',
      process.argv[3] as StateLockMechanism,
    );
    process.stdout.write(`locked ${process.pid}\n`);
    process.stdin.resume();
    process.stdin.on('end', () => {
      lock.release();
      process.exit(0);
    });
  } catch (e) {
    process.stdout.write(`refused ${(e as Error).message}\n`);
    process.exit(0);
  }
})();
