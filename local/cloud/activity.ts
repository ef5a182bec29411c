/**
 * Counts work in progress and tells when there is none: the basis of `whenIdle()` in the local runtime.
 * Work must be registered (`begin`) synchronously when it becomes due, before anything awaits, so that
 * there is never a moment where work is pending but not counted.
 */
export class Activity {
  private running = 0;
  private waiters: (() => void)[] = [];

  get idle(): boolean {
    return this.running === 0;
  }

  get pending(): number {
    return this.running;
  }

  /** Registers one piece of work; call the returned function (once) when it is over. */
  begin(): () => void {
    this.running++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.running--;
      if (this.running === 0) this.wake();
    };
  }

  /** Runs `work`, counted from now until it settles. */
  track<T>(work: () => Promise<T>): Promise<T> {
    const end = this.begin();
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (e) {
      end();
      return Promise.reject(e);
    }
    return promise.finally(end);
  }

  /** Resolves the next time nothing is running (at once when nothing is). */
  whenIdle(): Promise<void> {
    if (this.idle) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
