import { AwsClients, createAwsClients } from '../../lambda/adapters/aws-clients';
import { EmbeddedDynamo, startEmbeddedDynamo } from '../../local/embedded-dynamo';
import { useForTestFile } from './test-file-resource';

/** dynalite for one test file, with AWS clients pointed at it. */
export interface DynamoForTests {
  readonly dynamo: EmbeddedDynamo;
  readonly aws: AwsClients;
}

/** Starts dynalite once for the file's tests and stops it after them. */
export function useEmbeddedDynamo(): () => DynamoForTests {
  return useForTestFile(
    'dynalite',
    async () => {
      const dynamo = await startEmbeddedDynamo();
      const aws = createAwsClients({
        endpoint: dynamo.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });

      return { dynamo, aws };
    },
    async ({ dynamo, aws }) => {
      aws.dynamo.destroy();
      await dynamo.stop();
    },
  );
}
