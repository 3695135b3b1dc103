import type { APIGatewayProxyEvent } from 'aws-lambda';
import Stripe from 'stripe';

/**
 * A Stripe delivery as the verifier Lambda receives it from the REST API:
 * the body text exactly as given, signed with `secret` the way Stripe signs
 * (`t=<now>,v1=<hmac>`).
 */
export function signedDelivery(
  payload: string,
  secret: string,
  options: { base64?: boolean; timestamp?: number } = {},
): APIGatewayProxyEvent {
  const signature = Stripe.webhooks.generateTestHeaderString({
    payload,
    secret,
    ...(options.timestamp !== undefined ? { timestamp: options.timestamp } : {}),
  });
  const headers = {
    'Content-Type': 'application/json; charset=utf-8',
    'Stripe-Signature': signature,
  };

  return {
    resource: '/webhooks/stripe',
    path: '/webhooks/stripe',
    httpMethod: 'POST',
    headers,
    multiValueHeaders: Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name, [value]]),
    ),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {
      resourcePath: '/webhooks/stripe',
      httpMethod: 'POST',
      path: '/test/webhooks/stripe',
      stage: 'test',
      requestId: `req-${Math.random().toString(36).slice(2)}`,
    } as APIGatewayProxyEvent['requestContext'],
    body: options.base64 ? Buffer.from(payload, 'utf8').toString('base64') : payload,
    isBase64Encoded: options.base64 === true,
  };
}
