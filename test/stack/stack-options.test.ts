import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EnvironmentConfig, EnvironmentConfigError, environmentConfig } from '../../lib/config';
import { StripeSourceStack } from '../../lib/stripe-source-stack';
import { logicalId } from './synth';

/**
 * The optional settings, on the prod configuration: an alarm email, a source IP allowlist
 * and reserved mapper concurrency. These stacks are synthesized into a real cloud assembly,
 * so this file also checks what the local esbuild bundled.
 */
describe('StripeSource-prod with the optional settings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stripe-source-stack-'));
  const allowlist = join(dir, 'stripe-ips.txt');
  const otherAllowlist = join(dir, 'other-ips.txt');
  writeFileSync(allowlist, '# Stripe\n3.18.12.63\n3.130.192.231\n');
  writeFileSync(otherAllowlist, '192.0.2.0/24\n');

  const optional: EnvironmentConfig = {
    ...environmentConfig('prod'),
    alarmEmail: 'oncall@example.com',
    sourceIpAllowlist: allowlist,
    mapperReservedConcurrency: 20,
  };

  let app: App;
  let stack: StripeSourceStack;
  let template: Template;
  let other: Template;
  let otherStack: StripeSourceStack;

  beforeAll(() => {
    app = new App({ outdir: join(dir, 'cdk.out') });
    stack = new StripeSourceStack(app, 'StripeSource-prod', { config: optional });
    otherStack = new StripeSourceStack(app, 'StripeSource-prod-other', {
      config: { ...optional, sourceIpAllowlist: otherAllowlist },
    });
    template = Template.fromStack(stack);
    other = Template.fromStack(otherStack);
  });

  it('subscribes the configured address to the alarm topic by email', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      TopicArn: { Ref: logicalId(stack.alarms.topic) },
    });
  });

  it('lets only the allowlisted addresses invoke the API', () => {
    const api = template.toJSON().Resources[logicalId(stack.ingress.api)];

    expect(api.Properties.Policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
      },
      {
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        Resource: 'execute-api:/*',
        Condition: { NotIpAddress: { 'aws:SourceIp': ['3.18.12.63/32', '3.130.192.231/32'] } },
      },
    ]);
  });

  it('deploys the API again when the allowlist changes, so the new policy applies', () => {
    const deployment = logicalId(stack.ingress.api.latestDeployment!);
    const otherDeployment = logicalId(otherStack.ingress.api.latestDeployment!);

    expect(deployment).not.toEqual(otherDeployment);
    expect(other.toJSON().Resources[otherDeployment].Type).toBe('AWS::ApiGateway::Deployment');
  });

  it('reserves the configured concurrency for the mapper', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      MemorySize: 512,
      ReservedConcurrentExecutions: 20,
    });
  });

  it.each([
    ['verifier', () => stack.ingress.verifier.function],
    ['mapper', () => stack.mapping.mapper.function],
  ])('bundles the %s with esbuild: minified CommonJS, a source map, no AWS SDK', (_, fn) => {
    const assembly = app.synth();
    const code = template.toJSON().Resources[logicalId(fn())].Properties.Code;
    const hash = String(code.S3Key).replace(/\.zip$/, '');
    const assetDir = join(assembly.directory, `asset.${hash}`);
    const bundle = readFileSync(join(assetDir, 'index.js'), 'utf8');

    expect(existsSync(join(assetDir, 'index.js.map'))).toBe(true);
    expect(bundle).toMatch(/\/\/# sourceMappingURL=index\.js\.map\s*$/);
    expect(bundle.split('\n').length).toBeLessThan(50);
    expect(bundle).toMatch(/require\("@aws-sdk\/client-[a-z-]+"\)/);
    expect(bundle).not.toContain('@smithy/smithy-client');
  });
});

describe('StripeSourceStack settings checks', () => {
  it('fails synth before building anything when a setting is out of range', () => {
    const app = new App();
    const config = { ...environmentConfig('dev'), mapperBatchSize: 20 };

    expect(() => new StripeSourceStack(app, 'Bad', { config })).toThrow(EnvironmentConfigError);
    expect(app.node.children).toHaveLength(0);
  });
});
