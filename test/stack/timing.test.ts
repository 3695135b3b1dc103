import { Validations } from 'aws-cdk-lib';
import { createApp } from '../../lib/app';

it('prints', () => {
  const { app } = createApp({ context: { env: 'dev' } });
  for (const c of app.node.findAll()) {
    for (const m of c.node.metadata) {
      if (m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY) console.log(c.node.path, JSON.stringify(m.data));
    }
  }
});
