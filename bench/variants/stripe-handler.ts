import Stripe from 'stripe';

/**
 * A cold-start reference: the usual hand-written verifier, importing the
 * whole `stripe` package for `webhooks.constructEvent`.
 */
export async function handler(event: { body: string; headers: Record<string, string> }) {
  try {
    const parsed = Stripe.webhooks.constructEvent(
      event.body,
      event.headers['stripe-signature'] ?? '',
      process.env.SECRET ?? '',
    );

    return { statusCode: 200, body: parsed.id };
  } catch {
    return { statusCode: 400 };
  }
}
