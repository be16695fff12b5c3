// The SDK comes from the runtime, as on Lambda; the endpoint from AWS_ENDPOINT_URL_S3.
import { S3Client, ListBucketsCommand } from '@aws-sdk/client-s3';

const s3 = new S3Client({});

export const handler = async () => {
  const listed = await s3.send(new ListBucketsCommand({}));
  return { statusCode: 200, body: JSON.stringify({ buckets: listed.Buckets.map((b) => b.Name) }) };
};
