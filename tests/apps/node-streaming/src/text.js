// A plain stream: no HTTP metadata, its own Content-Type; write() takes text, bytes or objects.
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream.setContentType('text/plain; charset=utf-8');
  responseStream.write('hello ');
  responseStream.write(Buffer.from('stream '));
  responseStream.write({ n: 1 });
  responseStream.end();
});
