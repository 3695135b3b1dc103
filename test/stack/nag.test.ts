import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { NagPack } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { createApp } from '../../lib/app';
import { ENVIRONMENT_NAMES } from '../../lib/config';
import { nagPacks } from '../../lib/nag';

/** One finding a pack raised: the rule (with its finding id, if any) and where. */
interface Finding {
  readonly rule: string;
  readonly path: string;
}

/** One `Validations.of(scope).acknowledge()` recorded in the construct tree. */
interface Acknowledgement {
  readonly rule: string;
  readonly path: string;
  readonly reason: string;
}

/** Runs the project's packs over the tree and lists what they report. */
function findings(root: IConstruct): Finding[] {
  return nagPacks(root).flatMap((pack) =>
    (pack as NagPack).validateScope(root).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? '',
      })),
    ),
  );
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          rule: id.replace(/^annotation::/i, ''),
          path: construct.node.path,
          reason,
        })),
      ),
  );
}

/** What the packs raise when no acknowledgement is recorded at all. */
function unacknowledgedFindings(context: Record<string, string>): Finding[] {
  const acknowledge = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation();
  try {
    return findings(createApp({ context }).app);
  } finally {
    acknowledge.mockRestore();
  }
}

const allowlist = join(mkdtempSync(join(tmpdir(), 'nag-')), 'stripe-ips.txt');
writeFileSync(allowlist, '3.18.12.63\n3.130.192.231\n');

/** Each environment as committed, and prod with every optional resource switched on. */
const variants: Array<[string, Record<string, string>]> = [
  ...ENVIRONMENT_NAMES.map((env): [string, Record<string, string>] => [env, { env }]),
  [
    'prod with an alarm email and a source IP allowlist',
    { env: 'prod', alarmEmail: 'oncall@example.com', sourceIpAllowlist: allowlist },
  ],
];

describe.each(variants)('cdk-nag on StripeSource-%s', (_, context) => {
  let built: ReturnType<typeof createApp>;
  let raw: Finding[];

  beforeAll(() => {
    built = createApp({ context });
    raw = unacknowledgedFindings(context);
  });

  it('reports no unacknowledged AwsSolutions or Serverless finding', () => {
    expect(findings(built.app)).toEqual([]);
  });

  it('synthesizes through the packs registered on the app', () => {
    expect(() => built.app.synth()).not.toThrow();
  });

  it('gives every acknowledgement a rule id of a checked pack and a reason of substance', () => {
    const acks = acknowledgements(built.app);

    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.rule).toMatch(/^(AwsSolutions|Serverless)-[A-Za-z0-9]+(\[[^\]]+\])?$/);
      expect(ack.reason.length).toBeGreaterThanOrEqual(80);
      expect(ack.reason.split(/\s+/).length).toBeGreaterThanOrEqual(15);
      expect(ack.reason).not.toMatch(/\b(TODO|TBD|not needed|not required|n\/a)\b/i);
    }
  });

  it('acknowledges only findings the packs actually raise there', () => {
    const stale = acknowledgements(built.app).filter(
      (ack) =>
        !raw.some(
          (finding) =>
            finding.rule === ack.rule &&
            (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`)),
        ),
    );

    expect(stale).toEqual([]);
  });
});
