import { build, BuildOptions, Plugin } from 'esbuild';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(__dirname, '..', '..');

/**
 * Where bundles are written: inside node_modules, so it is never committed,
 * and so that `require('@aws-sdk/...')` left external in a bundle resolves
 * to the repository's copy, as the Lambda runtime resolves its own.
 */
export const BUILD_DIR = join(ROOT, 'node_modules', '.cache', 'stripe-source-bench');

/**
 * The deployed bundle's settings (lib/constructs/service-function.ts): one
 * minified CommonJS file for Node 22, the runtime's AWS SDK left out.
 */
export const LAMBDA_BUNDLE: BuildOptions = {
  bundle: true,
  minify: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: ['@aws-sdk/*'],
  logLevel: 'error',
};

/** A bundle on disk and its size. */
export interface BuiltBundle {
  readonly file: string;
  readonly bytes: number;
}

/** Bundles `entry` (relative to the repository) to `<name>.js` in the build folder. */
export async function bundle(
  name: string,
  entry: string,
  extra: {
    plugins?: Plugin[];
    target?: string;
    minify?: boolean;
    sourceMap?: boolean;
    external?: string[];
  } = {},
): Promise<BuiltBundle> {
  mkdirSync(BUILD_DIR, { recursive: true });
  const file = join(BUILD_DIR, `${name}.js`);
  await build({
    ...LAMBDA_BUNDLE,
    ...(extra.target ? { target: extra.target } : {}),
    ...(extra.minify === false ? { minify: false } : {}),
    ...(extra.external ? { external: extra.external } : {}),
    // As deployed: a separate map without the sources' text.
    ...(extra.sourceMap ? { sourcemap: true, sourcesContent: false } : {}),
    entryPoints: [join(ROOT, entry)],
    outfile: file,
    plugins: extra.plugins ?? [],
  });

  return { file, bytes: statSync(file).size };
}

/**
 * Narrower stand-ins for `import Stripe from 'stripe'` (the import change
 * that was not applied: it reaches into the package's files by path):
 * `webhooks-only` keeps the SDK's webhook code and its Node platform module,
 * `minimal` gives the webhook code its two platform functions itself.
 */
export const NARROW_STRIPE = {
  'webhooks-only': 'bench/variants/stripe-webhooks-only.ts',
  minimal: 'bench/variants/stripe-webhooks-minimal.ts',
} as const;

/**
 * An esbuild plugin that serves `import ... from 'stripe'` from a narrower
 * module, for the variant that keeps only the webhook signature code. The
 * package's `exports` map allows no deep import, so the narrow module reaches
 * the package's files by path; only a bundler can do that.
 */
export function stripeWebhooksOnly(replacement: string): Plugin {
  return {
    name: 'stripe-webhooks-only',
    setup(b) {
      b.onResolve({ filter: /^stripe$/ }, (args) =>
        args.importer.endsWith(replacement) ? undefined : { path: join(ROOT, replacement) },
      );
    },
  };
}
