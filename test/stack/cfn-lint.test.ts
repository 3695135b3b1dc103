import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ENVIRONMENT_NAMES, environmentConfig } from '../../lib/config';
import { ensureMotoInstalled } from '../support/moto';
import { synthesize } from './synth';

const CFN_LINT = resolve(__dirname, '..', '..', '.venv', 'bin', 'cfn-lint');

/**
 * Checks left out, each with why: W3005 flags the DependsOn that the CDK
 * itself puts on every function's role and default policy (redundant with
 * the GetAtt, harmless, and not ours to remove).
 */
const IGNORED = ['W3005'];

describe('cfn-lint on the synthesized templates', () => {
  let dir: string;

  beforeAll(async () => {
    // The same script that installs moto installs cfn-lint beside it in .venv/.
    await ensureMotoInstalled();
    dir = mkdtempSync(join(tmpdir(), 'stripe-source-cfn-lint-'));
  }, 300_000);

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(ENVIRONMENT_NAMES)('finds nothing in the %s template', (name) => {
    // Prepare
    const { template } = synthesize(environmentConfig(name));
    const file = join(dir, `StripeSource-${name}.template.json`);
    writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));

    // Act
    const lint = spawnSync(CFN_LINT, ['--ignore-checks', ...IGNORED, '--', file], { encoding: 'utf8' });

    // Assess
    expect({ status: lint.status, output: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });
});
