/** The cold-start baseline: a handler that loads nothing. */
export async function handler(): Promise<{ statusCode: number }> {
  return { statusCode: 200 };
}
