import type { APIGatewayProxyEvent } from 'aws-lambda';
import { GatewayEvent } from '../../lambda/handlers/gateway-request';

/**
 * `headerOf` of lambda/handlers/gateway-request.ts with the same answers
 * (multiValueHeaders first, repeats joined with commas, a value under two
 * spellings counted once) but without building arrays and a Set for every
 * request: one pass over the names, and a list only when a name repeats.
 */
export function headerOf(event: GatewayEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const multi = (event as APIGatewayProxyEvent).multiValueHeaders;
  if (multi) {
    const values: string[] = [];
    for (const key of Object.keys(multi)) {
      const list = multi[key];
      if (key.toLowerCase() !== wanted || !Array.isArray(list)) continue;
      for (const value of list) if (typeof value === 'string') values.push(value);
    }
    if (values.length > 0) return joinDistinct(values);
  }

  const headers = event.headers ?? {};
  let first: string | undefined;
  let all: string[] | undefined;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (typeof value !== 'string' || key.toLowerCase() !== wanted) continue;
    if (first === undefined) first = value;
    else (all ??= [first]).push(value);
  }

  return all ? joinDistinct(all) : first;
}

function joinDistinct(values: readonly string[]): string {
  return [...new Set(values)].join(',');
}
