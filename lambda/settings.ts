/**
 * Reads the Lambdas' settings from the environment the stack sets, failing
 * at start with the name of whatever is missing rather than mid-request.
 */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Environment variable ${name} is not set; the stack sets it on deploy.`);

  return value;
}

/** A positive number from the environment, or the default when unset. */
export function numberEnv(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${text}".`);

  return value;
}

/** Which Stripe modes to act on: live, test or both. */
export function modesEnv(name: string): 'live' | 'test' | 'both' {
  const value = process.env[name] ?? 'both';
  if (value !== 'live' && value !== 'test' && value !== 'both') {
    throw new Error(`${name} must be live, test or both, got "${value}".`);
  }

  return value;
}
