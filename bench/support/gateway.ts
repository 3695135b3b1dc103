import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/**
 * An API Gateway v2 request for one delivery, with the headers Stripe and
 * API Gateway add, so header lookup costs what it costs in AWS.
 */
export function gatewayEvent(
  body: string,
  signature: string,
  { base64 = false }: { base64?: boolean } = {},
): APIGatewayProxyEventV2 {
  const bytes = Buffer.byteLength(body, 'utf8');

  return {
    version: '2.0',
    routeKey: 'POST /webhooks/stripe',
    rawPath: '/webhooks/stripe',
    rawQueryString: '',
    headers: {
      accept: '*/*; q=0.5, application/xml',
      'cache-control': 'no-cache',
      'content-length': String(bytes),
      'content-type': 'application/json; charset=utf-8',
      host: 'abc123.execute-api.us-east-1.amazonaws.com',
      'stripe-signature': signature,
      'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678',
      'x-forwarded-for': '3.18.12.63',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
    },
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      domainName: 'abc123.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'abc123',
      http: {
        method: 'POST',
        path: '/webhooks/stripe',
        protocol: 'HTTP/1.1',
        sourceIp: '3.18.12.63',
        userAgent: 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
      requestId: 'JKJaXmPLvHcESHA=',
      routeKey: 'POST /webhooks/stripe',
      stage: '$default',
      time: '10/Mar/2026:00:03:59 +0000',
      timeEpoch: 1773101039000,
    },
    body: base64 ? Buffer.from(body, 'utf8').toString('base64') : body,
    isBase64Encoded: base64,
  };
}
