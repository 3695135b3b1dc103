#!/usr/bin/env node
/**
 * Entry point of the CDK app: `cdk synth -c env=<dev|staging|prod>` builds the stack
 * `StripeSource-<env>` with that environment's settings from lib/config.ts.
 *
 * Context overrides, for values that must not be committed:
 * - `-c alarmEmail=oncall@example.com` subscribes an address to the alarm topic;
 * - `-c sourceIpAllowlist=path/to/ips.txt` restricts callers to the listed IPs.
 */
import { App } from 'aws-cdk-lib';
import { environmentConfig } from '../lib/config';
import { applyNagPacks } from '../lib/nag';
import { StripeSourceStack } from '../lib/stripe-source-stack';

const app = new App();

const contextString = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
};

const envName = contextString('env') ?? 'dev';
const base = environmentConfig(envName);
const config = {
  ...base,
  alarmEmail: contextString('alarmEmail') ?? base.alarmEmail,
  sourceIpAllowlist: contextString('sourceIpAllowlist') ?? base.sourceIpAllowlist,
};

new StripeSourceStack(app, `StripeSource-${config.name}`, {
  config,
  // Deploy to the account and region of the caller's credentials; synth needs neither.
  env: {
    account: process.env.CDK_DEFAULT_ACCOUNT,
    region: process.env.CDK_DEFAULT_REGION,
  },
  terminationProtection: config.name === 'prod',
});

applyNagPacks(app);
