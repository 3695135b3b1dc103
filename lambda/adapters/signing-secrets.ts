import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SigningSecrets } from '../core/ports';

/**
 * Reads the signing secrets from one stored value. Accepted forms: a JSON
 * list (`["whsec_new","whsec_old"]`), a JSON object with a `secrets` list,
 * or text with secrets separated by commas, spaces or new lines.
 */
export function parseSigningSecrets(value: string): string[] {
  const text = value.trim();
  let list: unknown = undefined;
  if (text.startsWith('[') || text.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // JSON.parse quotes the text it failed on: never let a secret reach a log.
      throw new Error('The signing secret value starts like JSON but is not valid JSON.');
    }
    list = Array.isArray(parsed) ? parsed : (parsed as { secrets?: unknown }).secrets;
  } else {
    list = text.split(/[\s,]+/);
  }

  const secrets = Array.isArray(list)
    ? list.filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((s) => s.trim())
    : [];
  if (secrets.length === 0) {
    throw new Error('The signing secret value holds no secret; store "whsec_..." or a list of them.');
  }

  return secrets;
}

/** Secrets given at start (the local run's `STRIPE_WEBHOOK_SECRET`). */
export class StaticSigningSecrets implements SigningSecrets {
  private readonly secrets: readonly string[];

  constructor(value: string) {
    this.secrets = parseSigningSecrets(value);
  }

  async current(): Promise<readonly string[]> {
    return this.secrets;
  }

  async refresh(): Promise<readonly string[] | undefined> {
    return undefined;
  }
}

/** Settings for reading the signing secrets from Secrets Manager. */
export interface SecretsManagerSigningSecretsProps {
  readonly client: SecretsManagerClient;
  /** Name or ARN of the secret. */
  readonly secretId: string;
  /** How long a fetched value is used before fetching again. @default 300 */
  readonly cacheSeconds?: number;
  /** The least time between two forced refreshes. @default 30 */
  readonly minRefreshSeconds?: number;
  /** The clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/**
 * Signing secrets from Secrets Manager, through Powertools Parameters: read
 * once per container and cached, fetched again when the cache expires, and
 * refreshed at most once per `minRefreshSeconds` when a signature fails
 * right after a rotation (so a flood of bad signatures cannot turn into a
 * flood of Secrets Manager calls).
 */
export class SecretsManagerSigningSecrets implements SigningSecrets {
  private readonly provider: SecretsProvider;
  private readonly cacheSeconds: number;
  private readonly minRefreshMs: number;
  private readonly now: () => number;
  private lastRefresh = Number.NEGATIVE_INFINITY;

  constructor(private readonly props: SecretsManagerSigningSecretsProps) {
    this.provider = new SecretsProvider({ awsSdkV3Client: props.client });
    this.cacheSeconds = props.cacheSeconds ?? 300;
    this.minRefreshMs = (props.minRefreshSeconds ?? 30) * 1000;
    this.now = props.now ?? Date.now;
  }

  async current(): Promise<readonly string[]> {
    return this.read(false);
  }

  async refresh(): Promise<readonly string[] | undefined> {
    if (this.now() - this.lastRefresh < this.minRefreshMs) return undefined;
    this.lastRefresh = this.now();

    return this.read(true);
  }

  private async read(forceFetch: boolean): Promise<readonly string[]> {
    const value = await this.provider.get(this.props.secretId, {
      maxAge: this.cacheSeconds,
      forceFetch,
    });
    if (typeof value !== 'string') {
      throw new Error(`Secret ${this.props.secretId} has no string value.`);
    }

    return parseSigningSecrets(value);
  }
}
