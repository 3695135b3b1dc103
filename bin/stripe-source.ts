#!/usr/bin/env node
/**
 * Entry point of the CDK app (`cdk.json` runs it through tsx):
 *
 *   npx cdk synth -c env=prod [-c alarmEmail=oncall@example.com]
 *                             [-c sourceIpAllowlist=config/stripe-ips.txt]
 *
 * builds the stack `StripeSource-<env>` with that environment's settings from
 * lib/config.ts and fails synth on any unacknowledged cdk-nag finding.
 */
import { createApp } from '../lib/app';

createApp();
