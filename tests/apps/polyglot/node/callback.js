const { record } = require("./record");

exports.handler = function (event, context, callback) {
  if (event.Records) {
    record("callback", event, context);
    return callback(null, { batchItemFailures: [] });
  }
  const body = JSON.parse(event.body || "{}");
  // Lambda answers only once the event loop is empty: this timer runs before the response goes out.
  const reply = { echo: body, timerRan: false };
  setTimeout(() => { reply.timerRan = true; }, 50);
  callback(null, reply);
};
