import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSigningSecrets } from '../../../lambda/adapters/signing-secrets';
import { SigningSecrets } from '../../../lambda/core/ports';
import { GatewayEvent } from '../../../lambda/handlers/gateway-request';
import { teamFixture } from '../../support/fixtures';
import { NOW_MS, signedHttpApiDelivery, verifierHarness } from '../../support/verifier-harness';

const OLD_SECRET = 'whsec_before_rotation_aaaaaaaaaaaa';
const NEW_SECRET = 'whsec_after_rotation_bbbbbbbbbbbbb';
const T = NOW_MS / 1000;
const BODY = teamFixture('customer.created', '2020-08-27').text;

function signedRequest(secret: string, t = T): GatewayEvent {
  return signedHttpApiDelivery(BODY, secret, t);
}

/** A Secrets Manager stand-in: counts GetSecretValue calls and never leaves the process. */
function secretsManager(value: () => string) {
  const client = new SecretsManagerClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'unit', secretAccessKey: 'unit' },
  });
  const calls: string[] = [];
  jest.spyOn(client, 'send').mockImplementation(async (command: unknown) => {
    if (!(command instanceof GetSecretValueCommand)) throw new Error('unexpected command');
    calls.push(command.input.SecretId ?? '');

    return { SecretString: value() };
  });

  return { client, calls };
}

/** A SigningSecrets port that counts what the handler asks of it. */
class CountingSecrets implements SigningSecrets {
  current_ = 0;
  refresh_ = 0;

  constructor(
    private secrets: readonly string[],
    private readonly onRefresh: () => readonly string[] | undefined = () => undefined,
  ) {}

  async current(): Promise<readonly string[]> {
    this.current_ += 1;

    return this.secrets;
  }

  async refresh(): Promise<readonly string[] | undefined> {
    this.refresh_ += 1;
    const refreshed = this.onRefresh();
    if (refreshed) this.secrets = refreshed;

    return refreshed;
  }
}

describe('signing secrets are read once per container', () => {
  it('reads Secrets Manager once for many deliveries to one container', async () => {
    // Prepare
    const { client, calls } = secretsManager(() => OLD_SECRET);
    const secrets = new SecretsManagerSigningSecrets({ client, secretId: 'stripe/signing' });
    const { verify, queue } = verifierHarness(secrets);

    // Act
    for (let i = 0; i < 50; i += 1) await verify(signedRequest(OLD_SECRET));

    // Assess
    expect(queue.events).toHaveLength(50);
    expect(calls).toEqual(['stripe/signing']);
  });

  it('reads Secrets Manager again in a new container', async () => {
    // Prepare
    const { client, calls } = secretsManager(() => OLD_SECRET);
    const container = () =>
      verifierHarness(new SecretsManagerSigningSecrets({ client, secretId: 'stripe/signing' }));

    // Act
    await container().verify(signedRequest(OLD_SECRET));
    await container().verify(signedRequest(OLD_SECRET));

    // Assess
    expect(calls).toHaveLength(2);
  });

  it('answers header faults without reading the secrets at all', async () => {
    // Prepare
    const secrets = new CountingSecrets([OLD_SECRET]);
    const { verify } = verifierHarness(secrets);
    const noHeader = { ...signedRequest(OLD_SECRET), headers: {} } as GatewayEvent;

    // Act
    const response = await verify(noHeader);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(secrets.current_).toBe(0);
  });
});

describe('a mismatch right after a rotation refreshes the secrets once', () => {
  it('accepts a delivery signed with the new secret after one forced read', async () => {
    // Prepare
    let stored = OLD_SECRET;
    const { client, calls } = secretsManager(() => stored);
    const secrets = new SecretsManagerSigningSecrets({ client, secretId: 'stripe/signing' });
    const { verify, telemetry } = verifierHarness(secrets);
    await verify(signedRequest(OLD_SECRET));
    stored = NEW_SECRET;

    // Act
    const response = await verify(signedRequest(NEW_SECRET));
    const next = await verify(signedRequest(NEW_SECRET));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(next.statusCode).toBe(200);
    expect(calls).toHaveLength(2);
    expect(telemetry.calls.filter((c) => c.kind === 'accepted')).toHaveLength(3);
  });

  it('refreshes at most once per interval under a flood of forged signatures', async () => {
    // Prepare
    let clockMs = NOW_MS;
    const { client, calls } = secretsManager(() => OLD_SECRET);
    const secrets = new SecretsManagerSigningSecrets({
      client,
      secretId: 'stripe/signing',
      minRefreshSeconds: 30,
      now: () => clockMs,
    });
    const { verify } = verifierHarness(secrets);

    // Act
    const responses = [];
    for (let i = 0; i < 20; i += 1) responses.push(await verify(signedRequest('whsec_forged')));
    const inWindow = calls.length;
    clockMs += 31_000;
    await verify(signedRequest('whsec_forged'));

    // Assess
    expect(responses.every((r) => r.statusCode === 400)).toBe(true);
    expect(inWindow).toBe(2);
    expect(calls).toHaveLength(3);
  });

  it('asks the port for exactly one refresh per mismatching delivery, then rejects', async () => {
    // Prepare
    const secrets = new CountingSecrets([OLD_SECRET]);
    const { verify, telemetry } = verifierHarness(secrets);

    // Act
    const response = await verify(signedRequest(NEW_SECRET));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(secrets.refresh_).toBe(1);
    expect(telemetry.calls).toEqual([
      { kind: 'rejected', detail: expect.objectContaining({ reason: 'signature_mismatch' }) },
    ]);
  });

  it('accepts with the refreshed secrets when the refresh brings the new one', async () => {
    // Prepare
    const secrets = new CountingSecrets([OLD_SECRET], () => [NEW_SECRET, OLD_SECRET]);
    const { verify, telemetry } = verifierHarness(secrets);

    // Act
    const response = await verify(signedRequest(NEW_SECRET));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(secrets.refresh_).toBe(1);
    expect(telemetry.calls).toEqual([{ kind: 'accepted', detail: expect.objectContaining({ secretIndex: 0 }) }]);
  });

  it('does not refresh for a genuine signature outside the tolerance', async () => {
    // Prepare
    const secrets = new CountingSecrets([OLD_SECRET]);
    const { verify } = verifierHarness(secrets);

    // Act
    const response = await verify(signedRequest(OLD_SECRET, T - 3600));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(secrets.refresh_).toBe(0);
  });

  it('rejects as a mismatch when the refresh itself fails, and logs the refresh failure', async () => {
    // Prepare
    const secrets = new CountingSecrets([OLD_SECRET], () => {
      throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
    });
    const { verify, telemetry } = verifierHarness(secrets);

    // Act
    const response = await verify(signedRequest(NEW_SECRET));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(telemetry.calls).toEqual([
      {
        kind: 'warn',
        detail: {
          message: 'signing secret refresh failed',
          errorName: 'ThrottlingException',
          errorMessage: 'Rate exceeded',
        },
      },
      { kind: 'rejected', detail: expect.objectContaining({ reason: 'signature_mismatch' }) },
    ]);
  });
});
