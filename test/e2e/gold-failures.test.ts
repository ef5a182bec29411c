/**
 * A gold model that fails at run time is explained: the model, the engine's own error and the line of the
 * model's file it points at, on the console and in the report; nothing says it was published.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPipeline } from '../../local/commands/pipeline';

const modelsDir = join(__dirname, 'fixtures', 'gold-failures', 'models');

describe('a gold model failing at run time', () => {
  let state: string;
  beforeAll(() => {
    state = mkdtempSync(join(tmpdir(), 'medallion-gold-failures-'));
  });
  afterAll(() => rmSync(state, { recursive: true, force: true }));

  it("names the model, the engine's error and the model file's line, and publishes nothing", async () => {
    const lines: string[] = [];
    const report = await runPipeline({
      modelsDir,
      stateDir: state,
      port: 0,
      apiPort: 0,
      out: (l) => lines.push(l),
    });
    expect(report.ok).toBe(false);
    expect(report.gold?.failures).toEqual([
      {
        model: 'order_numbers',
        error: 'States.TaskFailed',
        message: expect.stringContaining("Could not convert string 'O-"),
        file: join(modelsDir, 'order_numbers.sql'),
        line: 6,
      },
    ]);
    const printed = lines.join('\n');
    expect(printed).toMatch(
      /gold model order_numbers failed at \S*order_numbers\.sql:6 \(States\.TaskFailed\):/,
    );
    expect(printed).toContain('Conversion Error');
    expect(printed).toContain(
      'order_numbers: 0 row(s), not published: it failed (below); no earlier version',
    );
    expect(printed).not.toContain('published at s3://medallion-local-gold/order_numbers/_unpublished/');
    // What AWS would alarm on: the failed execution, counted by Step Functions (the template's alarm on
    // ExecutionsFailed), and the alarm the workflow published itself, by its subject.
    expect(report.wouldAlarm).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^GoldWorkflowFailures /),
        'medallion gold: model order_numbers failed',
      ]),
    );
    expect(printed).toContain('would alarm: medallion gold: model order_numbers failed');
  }, 120_000);
});
