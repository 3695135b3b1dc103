/**
 * The verifier handler alone, for section 1 to bundle a second time with
 * `stripe` served by the narrow webhook module (`NARROW_STRIPE.minimal`, the
 * import change that was not applied) and time beside the verifier bundled
 * with the whole package. Nothing else in this module imports `stripe`, so
 * the alias reaches only the verifier's own signature check.
 */
import { StaticSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { CountingTelemetry } from './noop-telemetry';
import type { Delivery } from './verifier-subjects';

export function createNarrowVerifier(secret: string): (d: Delivery) => Promise<{ statusCode: number }> {
  const verify = createVerifierHandler({
    secrets: new StaticSigningSecrets(secret),
    queue: { enqueue: async () => {} },
    telemetry: new CountingTelemetry(),
  });

  return (d) => verify(d.request);
}
