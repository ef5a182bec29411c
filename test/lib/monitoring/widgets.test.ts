/** The dashboard's building blocks, the deferred slot above all: its widgets are chosen at rendering. */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { DeferredWidgets, graph, header, text } from '../../../lib/monitoring/widgets';

describe('widget factories', () => {
  test('a header spans the dashboard, its title as a level-2 heading over the subtitle', () => {
    const h = header('Gold', 'What it shows.');
    expect([h.width, h.height]).toEqual([24, 2]);
    expect(h.toJson()).toEqual([
      expect.objectContaining({
        type: 'text',
        properties: expect.objectContaining({ markdown: '## Gold\nWhat it shows.' }),
      }),
    ]);
  });

  test('text and graphs take a third of the width by default', () => {
    expect([text('note').width, text('note').height]).toEqual([8, 6]);
    expect(text('wide', 16).width).toBe(16);
    const g = graph('Rows', [new cloudwatch.Metric({ namespace: 'Medallion', metricName: 'RowsIn' })]);
    expect([g.width, g.height]).toEqual([8, 6]);
  });
});

describe('DeferredWidgets', () => {
  test('renders nothing before it is positioned, then the widgets chosen at that moment', () => {
    let chosen = [text('before')];
    const slot = new DeferredWidgets(16, 6, () => chosen);
    expect(slot.toJson()).toEqual([]);
    chosen = [text('after', 16)];
    slot.position(8, 2);
    expect(slot.toJson()).toEqual([
      expect.objectContaining({
        x: 8,
        y: 2,
        width: 16,
        properties: expect.objectContaining({ markdown: 'after' }),
      }),
    ]);
  });

  test('places several widgets side by side in its slot', () => {
    const slot = new DeferredWidgets(16, 6, () => [text('a'), text('b')]);
    slot.position(0, 0);
    expect((slot.toJson() as { x: number }[]).map((w) => w.x)).toEqual([0, 8]);
  });

  test('refuses widgets larger than its slot', () => {
    const slot = new DeferredWidgets(8, 6, () => [text('a'), text('b')]);
    expect(() => slot.position(0, 0)).toThrow('deferred widgets of 16x6 exceed their 8x6 slot');
  });
});
