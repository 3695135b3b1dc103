import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where the local run keeps the signing secret it generated (git-ignored). */
export const DEV_SECRET_FILE = resolve(__dirname, '..', '.local', 'signing-secret');

/**
 * The local signing secret: `STRIPE_WEBHOOK_SECRET` when set; otherwise the
 * one generated on an earlier run, or a new one, kept in `.local/` so that
 * `npm start` and `npm run send` agree without copying it around.
 */
export function localSigningSecret(
  create: boolean,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { secret: string; generated: boolean } | undefined {
  const fromEnv = env.STRIPE_WEBHOOK_SECRET;
  if (fromEnv) return { secret: fromEnv, generated: false };
  if (existsSync(DEV_SECRET_FILE)) return { secret: readFileSync(DEV_SECRET_FILE, 'utf8').trim(), generated: true };
  if (!create) return undefined;

  const secret = `whsec_dev_${randomBytes(18).toString('hex')}`;
  mkdirSync(dirname(DEV_SECRET_FILE), { recursive: true });
  writeFileSync(DEV_SECRET_FILE, `${secret}\n`, { mode: 0o600 });

  return { secret, generated: true };
}
