/**
 * The local dashboard: the numbers of a running local cloud (`dashboard-model.ts`, fed by `cloud-feed.ts`)
 * served on 127.0.0.1 (`dashboard-server.ts`). `medallion local` and `medallion pipeline --keep-running`
 * start one and print its URL in their banner.
 *
 *   const feed = new CloudFeed(cloud);
 *   const dashboard = await LocalDashboard.start(cloud, feed, { port: 0 });
 *   feed.start();  // after every listener is attached
 *   ...
 *   await dashboard.stop(); await feed.stop();
 */
import { loadContracts } from '../../core/contracts/load-contracts';
import { PortInUseError } from '../../core/errors';
import type { LocalCloud } from '../cloud/local-cloud';
import type { CloudFeed } from './cloud-feed';
import { type AlarmResult, DashboardModel, type DashboardSnapshot } from './dashboard-model';
import { DashboardServer } from './dashboard-server';

/** The dashboard's port unless told otherwise (after S3's 4566 and the ingest API's 4567). */
export const DEFAULT_DASHBOARD_PORT = 4568;

/** How long one evaluation of the alarms is shown before the provider is asked again. */
const ALARMS_FRESH_MS = 1000;

export interface LocalDashboardOptions {
  /** Port on 127.0.0.1; default {@link DEFAULT_DASHBOARD_PORT}, 0 for any free port. */
  readonly port?: number;
  /** When another process has `port`, take any free one instead of failing; default false. */
  readonly anyPortIfTaken?: boolean;
  /**
   * The alarms that would fire, evaluated now (e.g. local/monitoring/alarm-evaluation.ts's
   * `evaluateAlarms` over what the cloud's functions emitted); none: the page says none is wired in.
   */
  readonly alarms?: () => readonly AlarmResult[];
}

/** What the dashboard reads of the cloud besides the feed. */
export type DashboardCloud = Pick<LocalCloud, 'contractsDir' | 'queueDepths'>;

export class LocalDashboard {
  private constructor(
    readonly model: DashboardModel,
    private readonly server: DashboardServer,
    /** The numbers now, as the page receives them. */
    readonly snapshot: () => DashboardSnapshot,
    private readonly unsubscribe: (() => void)[],
  ) {}

  /** Counts the feed's activity (attach before `feed.start()`) and serves the page. */
  static async start(
    cloud: DashboardCloud,
    feed: CloudFeed,
    options: LocalDashboardOptions = {},
  ): Promise<LocalDashboard> {
    const model = new DashboardModel(loadContracts(cloud.contractsDir), feed.since);
    const unsubscribe = [
      feed.onActivity((a, quiet) => model.apply(a, quiet)),
      feed.onGoldRuns((runs) => model.setGoldRuns(runs)),
    ];
    const alarms = new AlarmsShown(options.alarms);
    const snapshot = () =>
      model.snapshot({
        queues: cloud.queueDepths,
        goldRunning: feed.goldRunning(),
        alarms: alarms.current(),
      });
    const server = new DashboardServer({ snapshot });
    const dashboard = new LocalDashboard(model, server, snapshot, unsubscribe);
    try {
      await server.start(options.port ?? DEFAULT_DASHBOARD_PORT).catch((e) => {
        if (e instanceof PortInUseError && options.anyPortIfTaken) return server.start(0);
        throw e;
      });
    } catch (e) {
      for (const u of unsubscribe) u();
      throw e;
    }
    return dashboard;
  }

  /** The page, e.g. `http://127.0.0.1:4568/`. */
  get url(): string {
    return this.server.url;
  }

  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    await this.server.stop();
  }
}

/** The provider's answer, asked at most once a second (a page asks for numbers four times a second). */
class AlarmsShown {
  private at = 0;
  private alarms: readonly AlarmResult[] | undefined;

  constructor(private readonly provider: LocalDashboardOptions['alarms']) {}

  current(): readonly AlarmResult[] | undefined {
    if (!this.provider) return undefined;
    if (!this.alarms || Date.now() - this.at >= ALARMS_FRESH_MS) {
      try {
        this.alarms = this.provider();
      } catch (e) {
        this.alarms = [
          {
            alarmId: 'alarm-evaluation',
            alarmName: 'alarm evaluation',
            state: 'NOT_EVALUATED',
            line: `the alarms could not be evaluated: ${(e as Error).message}`,
          },
        ];
      }
      this.at = Date.now();
    }
    return this.alarms;
  }
}
