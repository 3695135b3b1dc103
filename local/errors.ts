import { StripeSourceError } from '../lambda/core/errors';

/**
 * The local run cannot start as configured: a setting is missing or
 * contradicts another, or a resource it names cannot be used. The message
 * says which, and what to set or create.
 */
export class LocalRunError extends StripeSourceError {}
