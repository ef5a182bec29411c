/**
 * A process that takes the lock of a state directory (argv[2]) and holds it until its stdin closes:
 * prints `locked <pid>` or `refused <message>` on one line. For the lock's multi-process tests.
 */
import { acquireStateLock } from '../../local/cloud/state-lock';

try {
  const lock = acquireStateLock(process.argv[2], 'state-lock child');
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
