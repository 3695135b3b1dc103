import { ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { AwsClients, createAwsClients } from '../../lambda/adapters/aws-clients';
import { useForTestFile } from './test-file-resource';

/**
 * moto in server mode: one local process that answers SQS, DynamoDB,
 * Secrets Manager, S3, CloudWatch and CloudFormation calls, so the AWS
 * adapters run against real wire protocols with no account. It is
 * installed into `.venv/` by `scripts/install-moto.sh` on first use.
 */

const ROOT = resolve(__dirname, '..', '..');
const MOTO_SERVER = resolve(ROOT, '.venv', 'bin', 'moto_server');
const VENV_PYTHON = resolve(ROOT, '.venv', 'bin', 'python');
const INSTALL_SCRIPT = resolve(ROOT, 'scripts', 'install-moto.sh');

/**
 * Runs moto_server's own entry point, plus a watchdog thread that ends the
 * server when its parent goes away, so a jest worker that is killed (and
 * so never runs its exit hooks) leaves no emulator behind.
 */
const SERVER_WITH_WATCHDOG = [
  'import os, sys, threading, time',
  'from moto.server import main',
  'parent = os.getppid()',
  'def watch():',
  '    while os.getppid() == parent:',
  '        time.sleep(1)',
  '    os._exit(0)',
  'threading.Thread(target=watch, daemon=True).start()',
  'main(sys.argv[1:])',
].join('\n');

/** The region and fake credentials every emulator client uses. */
export const MOTO_REGION = 'us-east-1';
export const MOTO_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** A running emulator. */
export interface Moto {
  /** `http://127.0.0.1:<port>`, for `createAwsClients({ endpoint })`. */
  readonly endpoint: string;
  /** How long the start took, install excluded, in milliseconds. */
  readonly startupMs: number;
  /** Stops the process and waits for it to exit. Safe to call twice. */
  stop(): Promise<void>;
}

/** Raised when the emulator cannot be installed or started. */
export class MotoStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MotoStartError';
  }
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Installs moto into `.venv/` unless the pinned version is already there.
 * The script returns at once in that case (a few milliseconds), and it
 * also upgrades a venv left by an older pin. Parallel callers are safe:
 * the script holds a lock while it installs.
 */
export async function ensureMotoInstalled(): Promise<string> {
  await new Promise<void>((done, fail) => {
    const install = spawn('bash', [INSTALL_SCRIPT], {
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    install.on('error', (error) =>
      fail(new MotoStartError(`Could not run ${INSTALL_SCRIPT}.`, { cause: error })),
    );
    install.on('exit', (code) =>
      code === 0
        ? done()
        : fail(new MotoStartError(`${INSTALL_SCRIPT} exited with ${code}; see its output above.`)),
    );
  });
  if (!existsSync(MOTO_SERVER)) {
    throw new MotoStartError(`${INSTALL_SCRIPT} finished but ${MOTO_SERVER} is missing.`);
  }

  return MOTO_SERVER;
}

/**
 * Starts moto on 127.0.0.1 at a port the OS picks, and resolves once it
 * answers HTTP. The process is killed by `stop()` or, failing that, when
 * this process exits.
 */
export async function startMoto(options: { timeoutMs?: number } = {}): Promise<Moto> {
  await ensureMotoInstalled();
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();

  // Port 0: the server binds a free port itself and prints it, so no other
  // process can take the port between choosing and binding it.
  const child = spawn(VENV_PYTHON, ['-c', SERVER_WITH_WATCHDOG, '-H', '127.0.0.1', '-p', '0'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  track(child);

  let endpoint: string;
  try {
    endpoint = await announcedEndpoint(child, timeoutMs);
    await answers(endpoint, started + timeoutMs);
  } catch (error) {
    await kill(child);
    throw error;
  }

  return {
    endpoint,
    startupMs: Date.now() - started,
    stop: () => kill(child),
  };
}

/** What a test file gets from `useMoto()`: read it inside tests and hooks. */
export interface MotoContext {
  readonly endpoint: string;
  readonly startupMs: number;
  /** Clients pointed at the emulator, built on first use. */
  readonly aws: AwsClients;
}

/**
 * Starts one emulator for the test file in `beforeAll` and stops it in
 * `afterAll`. The first start on a fresh machine includes the install, so
 * the hook is given minutes, not the usual timeout.
 */
export function useMoto(): MotoContext {
  let aws: AwsClients | undefined;
  const started = useForTestFile(
    'moto',
    startMoto,
    async (moto) => {
      for (const client of [aws?.sqs, aws?.s3, aws?.secrets]) client?.destroy();
      aws?.dynamo.destroy();
      await moto.stop();
    },
    300_000,
  );

  return {
    get endpoint() {
      return started().endpoint;
    },
    get startupMs() {
      return started().startupMs;
    },
    get aws() {
      aws ??= motoClients(started().endpoint);

      return aws;
    },
  };
}

/** AWS clients for the emulator: explicit loopback endpoint, fake credentials. */
export function motoClients(endpoint: string, maxAttempts = 3): AwsClients {
  return createAwsClients({
    endpoint,
    region: MOTO_REGION,
    credentials: { ...MOTO_CREDENTIALS },
    maxAttempts,
  });
}

let sequence = 0;

/**
 * A resource name no other test in this run uses: prefix, worker pid, a
 * counter and a random suffix, within SQS's 80 and S3's 63 characters.
 */
export function uniqueName(prefix: string): string {
  sequence += 1;
  const suffix = `${process.pid}-${sequence}-${Math.random().toString(36).slice(2, 8)}`;

  return `${prefix}-${suffix}`.toLowerCase().slice(0, 60);
}

function announcedEndpoint(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((done, fail) => {
    let output = '';
    const timer = setTimeout(
      () => finish(new MotoStartError(`moto did not start within ${timeoutMs} ms:\n${output}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (match) finish(undefined, `http://127.0.0.1:${match[1]}`);
    };
    const onExit = (code: number | null) =>
      finish(new MotoStartError(`moto exited (${code}) before it started:\n${output}`));
    const finish = (error: Error | undefined, endpoint?: string) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      // Keep draining the request log so the pipe never fills and blocks moto.
      child.stdout?.resume();
      child.stderr?.resume();
      if (error) fail(error);
      else done(endpoint!);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function answers(endpoint: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch (error) {
      if (Date.now() > deadline)
        throw new MotoStartError(`moto at ${endpoint} never answered.`, { cause: error });
    }
    if (Date.now() > deadline) throw new MotoStartError(`moto at ${endpoint} never answered 200.`);
    await new Promise((wake) => setTimeout(wake, 50));
  }
}

function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;

  exitHookInstalled = true;
  process.once('exit', () => {
    for (const server of running) server.kill('SIGKILL');
  });
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.kill('SIGTERM');
  const forced = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(forced);
}
