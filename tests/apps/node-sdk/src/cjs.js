const { S3Client, ListBucketsCommand } = require('@aws-sdk/client-s3');

const s3 = new S3Client({});

exports.handler = async () => {
  const listed = await s3.send(new ListBucketsCommand({}));
  return { statusCode: 200, body: JSON.stringify({ buckets: listed.Buckets.map((b) => b.Name) }) };
};
