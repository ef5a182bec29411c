/** The dashboard's building blocks: section headers, text, graphs of the standard size, deferred slots. */
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** A row's header: its title and what it shows, the full width of the dashboard. */
export function header(title: string, subtitle: string): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown: `## ${title}\n${subtitle}`, width: 24, height: 2 });
}

/** A note in place of a widget (e.g. what is not deployed yet). */
export function text(markdown: string, width = 8): cloudwatch.TextWidget {
  return new cloudwatch.TextWidget({ markdown, width, height: 6 });
}

/** A graph of the standard size (a third of the width). */
export function graph(title: string, left: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
}

/**
 * A fixed-size slot of the dashboard whose widgets are chosen when the dashboard is rendered (the
 * dashboard's body is computed at synthesis, after every construct exists).
 */
export class DeferredWidgets implements cloudwatch.IWidget {
  private row?: cloudwatch.Row;

  constructor(
    public readonly width: number,
    public readonly height: number,
    // Not named `widgets`: the dashboard walks the `widgets` of layout containers when they are added.
    private readonly choose: () => cloudwatch.IWidget[],
  ) {}

  position(x: number, y: number): void {
    this.row = new cloudwatch.Row(...this.choose());
    if (this.row.width > this.width || this.row.height > this.height) {
      throw new Error(
        `deferred widgets of ${this.row.width}x${this.row.height} exceed their ${this.width}x${this.height} slot`,
      );
    }
    this.row.position(x, y);
  }

  toJson(): unknown[] {
    return this.row?.toJson() ?? [];
  }
}
