import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  ENVIRONMENT_NAMES,
  EnvironmentConfigError,
  environmentConfig,
  validateEnvironmentConfig,
} from '../../lib/config';
import {
  SourceIpAllowlistError,
  parseSourceIpAllowlist,
  readSourceIpAllowlist,
} from '../../lib/source-ip-allowlist';

describe('environmentConfig', () => {
  it('accepts only test-mode events in dev and staging and only live ones in prod', () => {
    expect(environmentConfig('dev').acceptedModes).toBe('test');
    expect(environmentConfig('staging').acceptedModes).toBe('test');
    expect(environmentConfig('prod').acceptedModes).toBe('live');
  });

  it.each(ENVIRONMENT_NAMES)('gives %s the shared timing and retention settings', (name) => {
    expect(environmentConfig(name)).toMatchObject({
      name,
      signatureToleranceSeconds: 300,
      secretCacheSeconds: 300,
      mappingCacheSeconds: 60,
      dedupeTtlHours: 24,
      eventLogRetentionDays: 30,
      maxReceiveCount: 5,
      mapperBatchSize: 10,
      largeEventExpiryDays: 28,
      queueAgeAlarmSeconds: 300,
    });
  });

  it.each(ENVIRONMENT_NAMES)('commits no alarm address or allowlist for %s', (name) => {
    expect(environmentConfig(name).alarmEmail).toBeUndefined();
    expect(environmentConfig(name).sourceIpAllowlist).toBeUndefined();
  });

  it('destroys dev data but retains prod data, and keeps prod logs longer', () => {
    expect(environmentConfig('dev')).toMatchObject({
      removalPolicy: RemovalPolicy.DESTROY,
      logRetention: RetentionDays.ONE_WEEK,
      mapperMaxConcurrency: 2,
    });
    expect(environmentConfig('prod')).toMatchObject({
      removalPolicy: RemovalPolicy.RETAIN,
      logRetention: RetentionDays.THREE_MONTHS,
      mapperMaxConcurrency: 10,
    });
  });

  it('rejects an unknown environment, naming the allowed ones', () => {
    expect(() => environmentConfig('production')).toThrow(EnvironmentConfigError);
    expect(() => environmentConfig('production')).toThrow(
      'Unknown environment "production". Use one of: dev, staging, prod',
    );
  });
});

describe('validateEnvironmentConfig', () => {
  it.each(ENVIRONMENT_NAMES)('accepts the shipped %s settings', (name) => {
    expect(() => validateEnvironmentConfig(environmentConfig(name))).not.toThrow();
  });

  it('names every setting out of range in one error', () => {
    const config = {
      ...environmentConfig('prod'),
      mapperBatchSize: 11,
      mapperMaxConcurrency: 1,
      alarmEmail: 'not-an-address',
    };

    const message = (() => {
      try {
        validateEnvironmentConfig(config);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();

    expect(message.split('\n')).toEqual([
      'Invalid settings for environment "prod":',
      '- mapperBatchSize must be 1-10 (FIFO limit)',
      '- mapperMaxConcurrency must be 2-1000 (SQS event source maximum concurrency)',
      '- alarmEmail "not-an-address" is not an email address',
    ]);
  });

  it('rejects reserved concurrency below the event source maximum concurrency', () => {
    const config = { ...environmentConfig('prod'), mapperReservedConcurrency: 5 };

    expect(() => validateEnvironmentConfig(config)).toThrow(
      'mapperReservedConcurrency must be at least mapperMaxConcurrency',
    );
  });
});

describe('parseSourceIpAllowlist', () => {
  it('reads one address or CIDR per line, ignoring comments and blank lines', () => {
    const text = [
      '# Stripe webhook IPs',
      '3.18.12.63',
      '',
      '  13.235.14.237   # Mumbai',
      '192.0.2.0/24',
      '2001:db8::1',
      '2001:db8::/32',
    ].join('\n');

    expect(parseSourceIpAllowlist(text)).toEqual([
      '3.18.12.63/32',
      '13.235.14.237/32',
      '192.0.2.0/24',
      '2001:db8::1/128',
      '2001:db8::/32',
    ]);
  });

  it('lists a repeated address once', () => {
    expect(parseSourceIpAllowlist('192.0.2.1\r\n192.0.2.1/32\r\n')).toEqual(['192.0.2.1/32']);
  });

  it('names every malformed line by number', () => {
    const text = '192.0.2.1\nstripe.com\n192.0.2.0/33\n10.0.0.0/8/1\n';

    expect(() => parseSourceIpAllowlist(text, 'ips.txt')).toThrow(
      'ips.txt:\n- line 2: "stripe.com" is not an IP address or CIDR block\n' +
        '- line 3: "192.0.2.0/33" is not an IP address or CIDR block\n' +
        '- line 4: "10.0.0.0/8/1" is not an IP address or CIDR block',
    );
  });

  it('refuses a list with no address, which would block every delivery', () => {
    expect(() => parseSourceIpAllowlist('# nothing yet\n\n')).toThrow(SourceIpAllowlistError);
  });
});

describe('readSourceIpAllowlist', () => {
  it('reads the file at synth time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'allowlist-'));
    const file = join(dir, 'ips.txt');
    writeFileSync(file, '192.0.2.10\n');

    expect(readSourceIpAllowlist(file)).toEqual(['192.0.2.10/32']);
  });

  it('says which file it could not read', () => {
    const missing = join(tmpdir(), 'no-such-dir', 'ips.txt');

    expect(() => readSourceIpAllowlist(missing)).toThrow(
      `Cannot read the source IP allowlist ${missing}`,
    );
  });
});
