/** Wall-clock laps of one transform, for the manifest's `durationsMs`. */
export class Timer {
  private readonly start = Date.now();
  private last = this.start;
  readonly laps: Record<string, number> = {};

  /** Records the time since the previous lap (or the start) under `name`. */
  lap(name: string): void {
    const t = Date.now();
    this.laps[name] = t - this.last;
    this.last = t;
  }

  total(): number {
    return Date.now() - this.start;
  }
}
