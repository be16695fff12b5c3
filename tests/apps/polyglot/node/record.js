// What a queue-triggered function received, written where the test can read it.
const fs = require("node:fs");
const path = require("node:path");

module.exports.record = (fn, event, context) => {
  fs.mkdirSync(process.env.OUT_DIR, { recursive: true });
  const file = path.join(process.env.OUT_DIR, `${fn}-${context.awsRequestId}.json`);
  fs.writeFileSync(file, JSON.stringify({ fn, event, requestId: context.awsRequestId }));
};
