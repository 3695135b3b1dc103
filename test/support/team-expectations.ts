/**
 * What the default mappings send for each of the team's fixture files
 * (`fixtures/events/<type>/<version>.json`): the exact Knock requests, or
 * the skipped mappings with their reasons. The mapping unit tests and the
 * end-to-end test both hold the pipeline to this one table.
 */

/** What the defaults send for one team fixture: exact requests, or the skip reasons. */
export interface Expected {
  readonly requests?: readonly { method: string; path: string; body: Record<string, unknown> }[];
  readonly skipped?: readonly { mappingId: string; reason: string }[];
}

const trigger = (workflow: string, customer: string, data: Record<string, unknown>) => ({
  method: 'POST',
  path: `/v1/workflows/${workflow}/trigger`,
  body: { recipients: [customer], data },
});

export const TEAM_EXPECTATIONS: Record<string, Expected> = {
  'customer.created/2020-08-27.json': {
    requests: [
      {
        method: 'PUT',
        path: '/v1/users/cus_IDaTeam2020A1',
        body: { name: 'Ada Lovelace', email: 'ada@example.com', phone_number: '+15555550100' },
      },
    ],
  },
  'customer.created/2025-10-29.clover.json': {
    requests: [{ method: 'PUT', path: '/v1/users/cus_TClover0000A1', body: { name: 'Grace Hopper', email: 'grace@example.com' } }],
  },
  'customer.updated/2022-11-15.json': {
    requests: [
      {
        method: 'PUT',
        path: '/v1/users/cus_NTeam2022Upd1',
        body: { name: 'Katherine Johnson', email: 'katherine@example.com', phone_number: '+15555550123' },
      },
    ],
  },
  'customer.updated/2025-03-31.basil.json': {
    requests: [
      { method: 'PUT', path: '/v1/users/cus_SBasil0000U1', body: { name: 'Dorothy Vaughan', phone_number: '+445555550199' } },
    ],
  },
  'customer.subscription.created/2022-11-15.json': {
    requests: [
      trigger('subscription-created', 'cus_NTeam2022Upd1', {
        subscription_id: 'sub_1MTeamCreated01',
        status: 'active',
        price_id: 'price_1MTeamBasic',
        current_period_end: 1679419400,
      }),
    ],
  },
  'customer.subscription.created/2025-03-31.basil.json': {
    requests: [
      trigger('subscription-created', 'cus_SBasil0000U1', {
        subscription_id: 'sub_1RTeamCreated01',
        status: 'trialing',
        price_id: 'price_1RTeamPro',
        current_period_end: 1746209800,
        trial_end: 1746209800,
      }),
    ],
  },
  'customer.subscription.updated/2020-08-27.json': {
    requests: [
      trigger('subscription-updated', 'cus_IDaTeam2020A1', {
        subscription_id: 'sub_1HTeamUpdated01',
        status: 'past_due',
        previous_status: 'active',
        price_id: 'price_1HTeamBasic',
        cancel_at_period_end: false,
        current_period_end: 1605278400,
      }),
    ],
  },
  'customer.subscription.updated/2025-10-29.clover.json': {
    requests: [
      trigger('subscription-updated', 'cus_TClover0000A1', {
        subscription_id: 'sub_1STeamUpdated01',
        status: 'active',
        price_id: 'price_1RTeamPro',
        cancel_at_period_end: true,
        current_period_end: 1766592000,
      }),
    ],
  },
  'customer.subscription.deleted/2022-11-15.json': {
    requests: [
      trigger('subscription-canceled', 'cus_NTeam2022Upd1', {
        subscription_id: 'sub_1MTeamCreated01',
        status: 'canceled',
        canceled_at: 1680000000,
        ended_at: 1680000000,
      }),
    ],
  },
  'customer.subscription.deleted/2025-03-31.basil.json': {
    requests: [
      trigger('subscription-canceled', 'cus_SBasil0000U1', {
        subscription_id: 'sub_1RTeamCreated01',
        status: 'canceled',
        canceled_at: 1747000000,
        ended_at: 1747000000,
      }),
    ],
  },
  'invoice.paid/2022-11-15.json': {
    requests: [
      trigger('invoice-paid', 'cus_NTeam2022Upd1', {
        invoice_id: 'in_1MTeamPaid0001',
        invoice_number: 'TEAM-0001',
        amount_paid: 1999,
        currency: 'usd',
        amount_paid_display: '$19.99',
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1MTeamPaid0001',
        subscription_id: 'sub_1MTeamCreated01',
      }),
    ],
  },
  'invoice.paid/2025-03-31.basil.json': {
    requests: [
      trigger('invoice-paid', 'cus_SBasil0000U1', {
        invoice_id: 'in_1RTeamPaid0001',
        invoice_number: 'TEAM-0042',
        amount_paid: 4900,
        currency: 'eur',
        amount_paid_display: '€49.00',
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1RTeamPaid0001',
        subscription_id: 'sub_1RTeamCreated01',
      }),
    ],
  },
  'invoice.payment_failed/2020-08-27.json': {
    requests: [
      trigger('invoice-payment-failed', 'cus_IDaTeam2020A1', {
        invoice_id: 'in_1HTeamFailed01',
        amount_due: 1999,
        currency: 'usd',
        amount_due_display: '$19.99',
        attempt_count: 1,
        next_payment_attempt: 1605537700,
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1HTeamFailed01',
        subscription_id: 'sub_1HTeamUpdated01',
      }),
    ],
  },
  'invoice.payment_failed/2025-10-29.clover.json': {
    requests: [
      trigger('invoice-payment-failed', 'cus_TClover0000A1', {
        invoice_id: 'in_1STeamFailed01',
        amount_due: 150000,
        currency: 'jpy',
        amount_due_display: '¥150,000',
        attempt_count: 2,
        next_payment_attempt: 1766851300,
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1STeamFailed01',
        subscription_id: 'sub_1STeamUpdated01',
      }),
    ],
  },
  'charge.refunded/2022-11-15.json': {
    requests: [
      trigger('charge-refunded', 'cus_NTeam2022Upd1', {
        charge_id: 'ch_1MTeamCharge01',
        amount_refunded: 1999,
        currency: 'usd',
        amount_refunded_display: '$19.99',
        receipt_url: 'https://pay.stripe.com/receipts/payment/test_ch_1MTeamCharge01',
      }),
    ],
  },
  'charge.refunded/2025-03-31.basil.json': {
    requests: [
      trigger('charge-refunded', 'cus_SBasil0000U1', {
        charge_id: 'ch_1RTeamCharge01',
        amount_refunded: 1500,
        currency: 'eur',
        amount_refunded_display: '€15.00',
        receipt_url: 'https://pay.stripe.com/receipts/payment/test_ch_1RTeamCharge01',
      }),
    ],
  },
  'charge.refunded/2025-03-31.basil.guest.json': {
    requests: [],
    skipped: [
      {
        mappingId: 'charge-refunded-notify',
        reason: 'required parameter "recipients" is missing or not one or more recipient ids',
      },
    ],
  },
  'payment_intent.succeeded/2025-03-31.basil.json': { requests: [] },
};
