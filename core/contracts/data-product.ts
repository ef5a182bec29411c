/**
 * A dataset (or a gold model) as a data product: who owns it and how to reach them, the service level it
 * promises (its SLO), who may read it, and the version of its interface. Shared by the data contracts (YAML)
 * and the gold models' headers (`-- owner:`, `-- version:`, `-- sla:`, `-- access:`).
 *
 * The SLA's targets are objectives over a window (30 days unless said): an objective of 99.9% leaves an
 * error budget of 0.1% of the window's events (rows, runs, minutes) to fail before the product breaks its
 * promise. See the README's "SLOs and error budgets".
 */
import { z } from 'zod';

/** `MAJOR.MINOR.PATCH`: a change that breaks readers (a dropped or retyped column, a new key) bumps MAJOR. */
export const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** `30 minutes`, `1 hour`, `2 hours`, `7 days`. */
const DURATION = /^(\d{1,5})\s*(minute|hour|day)s?$/;
/** `99.9%` or a ratio `0.999`. */
const PERCENT = /^(\d{1,3}(?:\.\d{1,6})?)\s*%$/;

const MINUTES = { minute: 1, hour: 60, day: 1440 } as const;

/** Minutes in a duration such as `2 hours`; undefined when it is not one. */
export function durationMinutes(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]) * MINUTES[m[2] as keyof typeof MINUTES];
  return n > 0 ? n : undefined;
}

/** A ratio in (0, 1) from `99.9%` or `0.999`; undefined when it is neither or out of range. */
export function ratio(value: string | number): number | undefined {
  let r: number;
  if (typeof value === 'number') r = value;
  else {
    const m = PERCENT.exec(value.trim());
    if (!m) return undefined;
    // 99.9 / 100 is 0.9990000000000001 in binary floating point: rounded to the 8 decimals a percentage
    // with 6 can have.
    r = Math.round(Number(m[1]) * 1e6) / 1e8;
  }
  return r > 0 && r < 1 ? r : undefined;
}

/** A duration as written (`'2 hours'`), or as parsed (minutes): parsing a parsed contract again is a no-op. */
const duration = (what: string) =>
  z
    .union([z.string(), z.number().int().positive()])
    .refine(
      (t) => typeof t === 'number' || durationMinutes(t) !== undefined,
      `${what} must read like '30 minutes', '1 hour' or '7 days'`,
    )
    .transform((t) => (typeof t === 'number' ? t : (durationMinutes(t) as number)));

const objective = (what: string) =>
  z
    .union([z.string(), z.number()])
    .refine(
      (v) => ratio(v) !== undefined,
      `${what} must be a percentage below 100% ('99.9%') or a ratio in (0, 1)`,
    )
    .transform((v) => ratio(v) as number);

/** Who owns the product: a team (the alarm routing's owner) and how to reach them. */
export const ownerSchema = z
  .union(
    [
      z.string().min(1).describe('How to reach the owner (an e-mail address or a channel).'),
      z
        .object({
          team: z.string().min(1).optional().describe('The owning team. Default: the domain.'),
          contact: z.string().min(1).describe('How to reach the owner: an e-mail address or a channel.'),
        })
        .strict(),
    ],
    { error: "owner must be a contact ('team@example.com') or { team, contact } with a contact" },
  )
  .transform((o) => (typeof o === 'string' ? { contact: o } : o))
  .describe('Who to call when this product breaks: a contact, or { team, contact }.');

export type DataProductOwner = z.output<typeof ownerSchema>;

/** The service level the product promises: objectives over a window. */
export const slaSchema = z
  .object({
    freshness: duration('sla.freshness')
      .optional()
      .describe(
        "How old the newest data may be: rows must reach silver (a gold model: be published) within this long of the last arrival, e.g. '1 hour'.",
      ),
    completeness: objective('sla.completeness')
      .optional()
      .describe(
        "Share of the rows producers state their files hold that must arrive, e.g. '99.9%' (the count: X-Expected-Rows, upload metadata expected-rows, or a source.trailer line); on AWS an hour's rows far below their trailing baseline (files that never came) opens a ticket too.",
      ),
    quality: objective('sla.quality')
      .optional()
      .describe("Share of rows that must pass the contract (not quarantined), e.g. '99%'."),
    window: duration('sla.window')
      .default(30 * 1440)
      .describe("The window the objectives hold over, and the error budget's: default '30 days'."),
  })
  .strict()
  .describe(
    'Service level objectives: each target is met over the window, leaving (1 - target) as error budget.',
  );

export type DataProductSla = z.output<typeof slaSchema>;

/** Who may read the product, beyond its own domain's readers. */
export const accessSchema = z
  .object({
    readers: z
      .array(z.string().regex(/^[a-z][a-z0-9_]{0,62}$/))
      .default([])
      .describe("Other domains whose reader role may read this product's silver (a gold model: its gold)."),
    bronze: z
      .boolean()
      .default(false)
      .describe("The owning domain's reader role may also read bronze (raw data as sent). Default: no one."),
    quarantine: z
      .boolean()
      .default(false)
      .describe("The owning domain's reader role may also read the quarantined rows. Default: no one."),
  })
  .strict()
  .describe(
    'Who reads the product: the owning domain always, the domains listed too; bronze and quarantine only if said.',
  );

export type DataProductAccess = z.output<typeof accessSchema>;

export const versionSchema = z
  .string()
  .regex(SEMVER, "version must be MAJOR.MINOR.PATCH, e.g. '1.2.0'")
  .describe(
    'The version of the interface readers see (MAJOR.MINOR.PATCH): a change that drops or retypes a column, or changes the key, needs a new MAJOR (`medallion check --against <git ref>` enforces it).',
  );

/** The major part of a version (`2` for `2.1.0`). */
export const majorOf = (version: string): number => Number(version.split('.')[0]);
