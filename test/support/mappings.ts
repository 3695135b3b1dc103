import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mapping } from '../../lambda/core/mapping/types';

/** The mappings the repository ships in `mappings/default.json`, read as they are. */
export function defaultMappings(): Mapping[] {
  const file = join(__dirname, '..', '..', 'mappings', 'default.json');

  return (JSON.parse(readFileSync(file, 'utf8')) as { mappings: Mapping[] }).mappings;
}

/**
 * A second action on `invoice.paid` (the defaults send only a receipt), for
 * tests of an event that plans two Knock actions.
 */
export const INVOICE_PAID_IDENTIFY: Mapping = {
  id: 'invoice-paid-identify',
  description: 'Remember the last paid invoice on the Knock user.',
  enabled: true,
  version: 1,
  event: 'invoice.paid',
  action: 'identify_user',
  params: {
    user_id: { path: 'data.object.customer' },
    properties: { last_invoice: { path: 'data.object.id' } },
  },
};
