// Writes, then forgets to end its stream.
exports.forgetful = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain');
  responseStream.write('started\n');
  setInterval(() => {}, 1000); // something keeps running, as a forgotten timer or socket does
});

// Not async: Lambda's runtime refuses it at its first invocation.
exports.sync = awslambda.streamifyResponse((event, responseStream) => {
  responseStream.setContentType('text/plain');
});
