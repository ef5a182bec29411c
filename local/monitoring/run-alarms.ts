/**
 * What `medallion pipeline` says AWS would have alarmed on: the template's alarms evaluated on the run's
 * metrics (`alarm-evaluation.ts`), plus the alarms the gold workflow itself published to the alarm topic
 * (a failed model, a failed current-state merge), one line each.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { type GoldEngineName, PROJECT_ROOT } from '../../lib/config';
import { cacheDirOf } from '../cloud/cache-dir';
import type { LocalCloud } from '../cloud/local-cloud';
import { wiringKey, wiringTemplateFile } from '../cloud/template-wiring';
import { goldTemplateFile } from '../gold/run-gold-command';
import { type CfnTemplate, synthesizeTemplate } from '../gold/state-machine-definition';
import type { GoldSummary } from '../report/pipeline-report';
import { type AlarmResult, evaluateAlarms } from './alarm-evaluation';

/** Bump when what the cached alarm template holds changes. */
const ALARM_TEMPLATE_VERSION = 1;

/** The alarms of a run, evaluated. */
export interface RunAlarms {
  /** Every alarm of the template, evaluated (see `evaluateAlarms`). */
  readonly results: AlarmResult[];
  /** One line per alarm AWS would have raised: the template's in ALARM, then the gold workflow's own. */
  readonly wouldAlarm: string[];
  /** Time spent, reading or synthesizing the template included. */
  readonly ms: number;
}

export interface RunAlarmsOptions {
  readonly stateDir: string;
  readonly contractsDir: string;
  /** The gold models the run ran (their template holds the gold workflow's alarm too). */
  readonly modelsDir?: string;
  /** The gold run's summary (`runGold` recorded its execution in the metrics): its alarms are listed. */
  readonly gold?: Pick<GoldSummary, 'alarmSubjects'>;
  /** The engine the gold models ran on (its template's alarms differ). @default 'athena' */
  readonly goldEngine?: GoldEngineName;
}

/** Evaluates the template's alarms on the run's metrics, and lists the gold workflow's own alarms. */
export function evaluateRunAlarms(
  cloud: Pick<LocalCloud, 'metrics' | 'wiring'>,
  options: RunAlarmsOptions,
): RunAlarms {
  const t0 = Date.now();
  const template = alarmTemplate(
    options.stateDir,
    options.contractsDir,
    options.modelsDir,
    cloud.wiring.bucketPrefix,
    options.goldEngine,
  );
  const results = evaluateAlarms(template, cloud.metrics, { bucketPrefix: cloud.wiring.bucketPrefix });
  // An alarm without actions notifies nobody (an SLO's window alarms: its composites page, and the run's
  // SLOs are judged apart, local/monitoring/product-slis.ts): it is no `would alarm` line.
  const silent = new Set(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .filter(([, r]) => ((r.Properties?.AlarmActions as unknown[] | undefined) ?? []).length === 0)
      .map(([id]) => id),
  );
  const wouldAlarm = [
    ...results.filter((r) => r.state === 'ALARM' && !silent.has(r.logicalId)).map((r) => r.line),
    // As the topic's subscribers read them: the subject of each alarm the workflow published.
    ...(options.gold?.alarmSubjects ?? []),
  ];
  return { results, wouldAlarm, ms: Date.now() - t0 };
}

const TEMPLATES = new Map<string, CfnTemplate>();

/**
 * The merged template of the app for these contracts (and models), for its alarms. The gold step's own
 * cached template when it is there (`gold-template-<key>.json` in the cache directory, run-gold-command.ts), or
 * without models the one the local cloud's wiring was derived from (`wiringTemplateFile`), else
 * one cached as `alarm-template-<key>.json` (see `cache-dir.ts`: kept when the state is wiped), keyed by what
 * decides it (lib/, core/, the contracts, the models, cdk.json), else synthesized in-process (seconds):
 * with the gold models when given (their template holds the gold workflow's alarm), gold disabled
 * otherwise (the sample models need not fit other contracts).
 */
export function alarmTemplate(
  stateDir: string,
  contractsDir: string,
  modelsDir?: string,
  bucketPrefix?: string,
  goldEngine: GoldEngineName = 'athena',
): CfnTemplate {
  const key = templateKey(contractsDir, modelsDir, goldEngine);
  const memo = TEMPLATES.get(key);
  if (memo) return memo;
  // Without models: the template the local cloud's wiring was derived from (gold disabled too).
  const cached = modelsDir
    ? goldTemplateFile(stateDir, contractsDir, modelsDir, goldEngine)
    : bucketPrefix === undefined
      ? undefined
      : wiringTemplateFile(cacheDirOf(stateDir), contractsDir, bucketPrefix);
  const file = join(cacheDirOf(stateDir), `alarm-template-${key}.json`);
  let template = readTemplate(cached) ?? readTemplate(file);
  if (!template) {
    const inRepo = (dir: string) => {
      const rel = relative(PROJECT_ROOT, dir);
      return rel.startsWith('..') || isAbsolute(rel) ? dir : rel;
    };
    const config = modelsDir
      ? { contractsDir: inRepo(contractsDir), gold: { modelsDir: inRepo(modelsDir), engine: goldEngine } }
      : { contractsDir, gold: { enabled: false } };
    template = synthesizeTemplate({ config }).template;
    mkdirSync(cacheDirOf(stateDir), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(template));
    renameSync(temp, file);
  }
  TEMPLATES.set(key, template);
  return template;
}

function templateKey(contractsDir: string, modelsDir: string | undefined, engine: GoldEngineName): string {
  const hash = createHash('sha256')
    .update(wiringKey(contractsDir, `alarms-v${ALARM_TEMPLATE_VERSION}`))
    .update(engine);
  if (modelsDir) for (const [name, bytes] of modelFiles(modelsDir)) hash.update(name).update(bytes);
  return hash.digest('hex').slice(0, 16);
}

function modelFiles(modelsDir: string): [string, Buffer][] {
  try {
    return readdirSync(modelsDir)
      .sort()
      .map((f) => [f, readFileSync(join(modelsDir, f))]);
  } catch {
    return [];
  }
}

function readTemplate(file: string | undefined): CfnTemplate | undefined {
  if (!file || !existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as CfnTemplate;
  } catch {
    return undefined; // a torn file: synthesize again
  }
}
