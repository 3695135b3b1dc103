/**
 * A stand-in for `import Stripe from 'stripe'` that keeps the SDK's webhook
 * signature code (its own `verifyHeader`, HMAC and comparison) and nothing
 * else: no API resources, no HTTP client. The package's `exports` map offers
 * no deep import, so these paths reach its files directly; only a bundler
 * alias can put this in place of 'stripe' (see `stripeWebhooksOnly`).
 */
import { createWebhooks } from '../../node_modules/stripe/cjs/Webhooks.js';
import { StripeSignatureVerificationError } from '../../node_modules/stripe/cjs/Error.js';
import { NodePlatformFunctions } from '../../node_modules/stripe/cjs/platform/NodePlatformFunctions.js';

const webhooks = createWebhooks(new NodePlatformFunctions());

export default { webhooks, errors: { StripeSignatureVerificationError } };
