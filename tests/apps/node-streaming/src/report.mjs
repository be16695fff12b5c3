// A report streamed as it is made: the header line at once, then (once the reader says it has it,
// by creating the file named in ?ready=) the rows, piped from a Readable.
import { existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

async function until(path) {
  while (!existsSync(path)) await sleep(10);
}

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201,
    headers: { 'Content-Type': 'text/csv', 'X-Report': context.functionName },
    cookies: ['report=1; Path=/', 'theme=dark'],
  });
  stream.write('id,total\n');
  const ready = event.queryStringParameters?.ready;
  if (ready) await until(ready);
  await pipeline(Readable.from(['1,10\n', '2,20\n', '3,30\n']), stream);
});
