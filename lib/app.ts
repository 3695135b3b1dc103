import { App, AppProps } from 'aws-cdk-lib';
import { EnvironmentConfig, environmentConfig } from './config';
import { applyNagPacks } from './nag';
import { StripeSourceStack } from './stripe-source-stack';

/** The app and the one stack it holds, as {@link createApp} built them. */
export interface StripeSourceApp {
  /** The CDK app, with the cdk-nag packs registered. */
  readonly app: App;
  /** `StripeSource-<env>`. */
  readonly stack: StripeSourceStack;
  /** The settings the stack was built with, context overrides applied. */
  readonly config: EnvironmentConfig;
}

/**
 * Builds the app `bin/stripe-source.ts` runs: one `StripeSource-<env>` stack for the
 * environment named by the `env` context value (default `dev`), checked by cdk-nag.
 *
 * Context overrides, for values that must not be committed:
 * - `env`: `dev`, `staging` or `prod`;
 * - `alarmEmail`: an address to subscribe to the alarm topic;
 * - `sourceIpAllowlist`: path of a file of allowed source IPs (see EnvironmentConfig).
 *
 * @param props - passed to `App`; tests set `context` here instead of `-c` flags
 */
export function createApp(props: AppProps = {}): StripeSourceApp {
  const app = new App(props);

  const context = (key: string): string | undefined => {
    const value: unknown = app.node.tryGetContext(key);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
  };

  const base = environmentConfig(context('env') ?? 'dev');
  const config: EnvironmentConfig = {
    ...base,
    alarmEmail: context('alarmEmail') ?? base.alarmEmail,
    sourceIpAllowlist: context('sourceIpAllowlist') ?? base.sourceIpAllowlist,
  };

  // No `env`: the template stays account- and region-agnostic (it needs no lookups), and
  // `cdk deploy` targets the account and region of the caller's credentials.
  const stack = new StripeSourceStack(app, `StripeSource-${config.name}`, {
    config,
    terminationProtection: config.name === 'prod',
  });

  applyNagPacks(app);

  return { app, stack, config };
}
