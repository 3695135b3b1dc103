import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsManagerSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { EventQueue, QueuedEvent } from '../../lambda/core/ports';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { createSecret } from '../support/aws-resources';
import { teamFixture } from '../support/fixtures';
import { motoClients, useMoto } from '../support/moto';
import { RecordingTelemetry } from '../support/recording-telemetry';
import { signedDelivery } from '../support/signed-delivery';

/**
 * The verifier against Secrets Manager in moto: a secret that holds several
 * signing secrets while one is rolled, picked up after the cache time or at
 * once on a signature failure, with the refresh rate-limited.
 */

const moto = useMoto();
const payload = teamFixture('customer.created', '2025-10-29.clover').text;

/** Counts the GetSecretValue calls a client sends (retries aside). */
function countSecretReads(client: SecretsManagerClient): () => number {
  let calls = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetSecretValueCommand') calls += 1;

      return next(args);
    },
    { step: 'initialize', name: 'countSecretReads' },
  );

  return () => calls;
}

/** A verifier reading `secretId` through its own client, with its call count. */
function verifierFor(
  secretId: string,
  options: { cacheSeconds: number; minRefreshSeconds: number; now?: () => number },
) {
  const client = motoClients(moto.endpoint).secrets;
  const reads = countSecretReads(client);
  const secrets = new SecretsManagerSigningSecrets({ client, secretId, ...options });
  const refresh = jest.spyOn(secrets, 'refresh');
  const queued: QueuedEvent[] = [];
  const queue: EventQueue = { enqueue: async (event) => void queued.push(event) };
  const telemetry = new RecordingTelemetry();
  const verify = createVerifierHandler({ secrets, queue, telemetry });

  return { verify, reads, refresh, queued, telemetry, secrets, client };
}

async function storeSecret(secretId: string, value: string): Promise<void> {
  await moto.aws.secrets.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: value }),
  );
}

describe('signing secrets from Secrets Manager', () => {
  it('accepts events signed with a newly stored secret once the cache expires', async () => {
    const secretId = await createSecret(moto.aws, 'signing', 'whsec_first');
    const v = verifierFor(secretId, { cacheSeconds: 1, minRefreshSeconds: 3600 });
    expect((await v.verify(signedDelivery(payload, 'whsec_first'))).statusCode).toBe(200);
    expect(v.reads()).toBe(1);

    await storeSecret(secretId, 'whsec_first,whsec_second');

    expect(await v.secrets.current()).toEqual(['whsec_first']);
    expect(v.reads()).toBe(1);
    await new Promise((wake) => setTimeout(wake, 1100));
    const second = await v.verify(signedDelivery(payload, 'whsec_second'));
    const first = await v.verify(signedDelivery(payload, 'whsec_first'));

    expect(second.statusCode).toBe(200);
    expect(first.statusCode).toBe(200);
    expect(v.refresh).not.toHaveBeenCalled();
    expect(v.reads()).toBe(2);
    expect(v.telemetry.of('accepted').map((e) => e.fields.secretIndex)).toEqual([0, 1, 0]);
    v.client.destroy();
  });

  it('refreshes at once when a signature fails right after a rotation', async () => {
    const secretId = await createSecret(moto.aws, 'signing', '["whsec_before"]');
    const v = verifierFor(secretId, { cacheSeconds: 300, minRefreshSeconds: 30 });
    expect((await v.verify(signedDelivery(payload, 'whsec_before'))).statusCode).toBe(200);

    await storeSecret(secretId, '["whsec_after", "whsec_before"]');
    const rotated = await v.verify(signedDelivery(payload, 'whsec_after'));
    const again = await v.verify(signedDelivery(payload, 'whsec_after'));

    expect(rotated.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    expect(v.refresh).toHaveBeenCalledTimes(1);
    expect(v.reads()).toBe(2);
    expect(v.queued).toHaveLength(3);
    v.client.destroy();
  });

  it('calls Secrets Manager at most once per refresh interval for bad signatures', async () => {
    const secretId = await createSecret(moto.aws, 'signing', 'whsec_real');
    let clock = Date.now();
    const v = verifierFor(secretId, { cacheSeconds: 300, minRefreshSeconds: 30, now: () => clock });
    expect((await v.verify(signedDelivery(payload, 'whsec_real'))).statusCode).toBe(200);

    const firstBad = await v.verify(signedDelivery(payload, 'whsec_forged'));
    const secondBad = await v.verify(signedDelivery(payload, 'whsec_forged'));
    const readsWithinInterval = v.reads();
    clock += 31_000;
    const afterInterval = await v.verify(signedDelivery(payload, 'whsec_forged'));

    expect([firstBad.statusCode, secondBad.statusCode, afterInterval.statusCode]).toEqual([
      400, 400, 400,
    ]);
    expect(v.telemetry.of('rejected').map((e) => e.reason)).toEqual([
      'signature_mismatch',
      'signature_mismatch',
      'signature_mismatch',
    ]);
    expect(v.refresh).toHaveBeenCalledTimes(3);
    expect(readsWithinInterval).toBe(2);
    expect(v.reads()).toBe(3);
    expect(v.queued).toHaveLength(1);
    v.client.destroy();
  });
});
