// Fails after part of its answer went out (or, with ?early=1, before anything did).
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  if (event.queryStringParameters?.early || event.early) throw new TypeError('nothing to stream');
  responseStream.setContentType('text/plain');
  responseStream.write('partial\n');
  await new Promise((resolve) => setTimeout(resolve, 5));
  throw new RangeError('broke mid-stream');
});
