/**
 * One resource shared by the tests of a file: started in `beforeAll`,
 * stopped in `afterAll`. Returns how to reach it; reaching it before the
 * start (at the top of a file, say) throws an error that names it, rather
 * than handing back `undefined`.
 *
 * @param startTimeoutMs how long the start may take. @default jest's hook timeout
 */
export function useForTestFile<T>(
  name: string,
  start: () => Promise<T>,
  stop: (resource: T) => Promise<void>,
  startTimeoutMs?: number,
): () => T {
  let resource: T | undefined;

  beforeAll(async () => {
    resource = await start();
  }, startTimeoutMs);

  afterAll(async () => {
    if (resource !== undefined) await stop(resource);
  });

  return () => {
    if (resource === undefined) {
      throw new Error(`${name} is not running; reach it inside a test or hook.`);
    }

    return resource;
  };
}
