const { greet } = require("greeting");
const { record } = require("./record");

let invocations = 0; // module state: kept while the environment is warm

exports.handler = async (event, context) => {
  invocations += 1;
  if (event.Records) {
    record("async", event, context);
    return { batchItemFailures: [] };
  }
  return {
    statusCode: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      greeting: greet(event.pathParameters.name),
      invocations,
      requestId: context.awsRequestId,
      functionName: context.functionName,
      memoryLimitInMB: context.memoryLimitInMB,
      remaining: context.getRemainingTimeInMillis(),
      node: process.version,
      event,
    }),
  };
};
