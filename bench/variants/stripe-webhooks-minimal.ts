/**
 * Like stripe-webhooks-only.ts, but with the two platform functions the
 * webhook code calls given here, so stripe's Node platform module (and the
 * HTTP client it brings) stays out too. The comparison is constant-time
 * over the UTF-8 bytes, as the SDK's, without its TextEncoder per call.
 */
import { timingSafeEqual } from 'node:crypto';
import { createWebhooks } from '../../node_modules/stripe/cjs/Webhooks.js';
import { StripeSignatureVerificationError } from '../../node_modules/stripe/cjs/Error.js';
import { NodeCryptoProvider } from '../../node_modules/stripe/cjs/crypto/NodeCryptoProvider.js';
import type { PlatformFunctions } from '../../node_modules/stripe/cjs/platform/PlatformFunctions.js';

const crypto = new NodeCryptoProvider();
const platform = {
  secureCompare(a: string, b: string): boolean {
    const left = Buffer.from(a, 'utf8');
    const right = Buffer.from(b, 'utf8');

    return left.length === right.length && timingSafeEqual(left, right);
  },
  createDefaultCryptoProvider: () => crypto,
} as unknown as PlatformFunctions;

const webhooks = createWebhooks(platform);

export default { webhooks, errors: { StripeSignatureVerificationError } };
