'use strict';
// Response streaming for Lightbox's Node.js runtime, with the wire behaviour of Lambda's: a handler
// wrapped by awslambda.streamifyResponse(async (event, responseStream, context) => ...) writes to a
// Writable whose bytes go to POST invocation/{id}/response as a chunked request (header
// Lambda-Runtime-Function-Response-Mode: streaming) while it runs. HttpResponseStream.from() marks the
// stream application/vnd.awslambda.http-integration-response and puts its metadata first: the JSON
// prelude (statusCode, headers, cookies), then 8 NUL bytes, then the body. A handler that fails ends
// the request with the trailers Lambda-Runtime-Function-Error-Type and -Error-Body (base64 JSON).

const http = require('http');
const { Writable } = require('stream');

// The keys Lambda's runtime reads, so a library that marks a handler itself is understood too.
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HIGH_WATER_MARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const RESPONSE = 'response';
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
const DELIMITER = Buffer.alloc(8); // 8 NUL bytes between the prelude and the body
const ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';
const PRELUDE = Symbol('lightbox.prelude');
// Streams go on a connection of their own (kept alive for the next one): an error the runtime must post
// meanwhile (an uncaught exception) still has the bootstrap's connection.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function namedError(kind, message) {
  const err = new Error(message);
  err.name = `Runtime.${kind}`;
  return err;
}

// What a handler writes to. A real stream.Writable, so pipeline() and Readable.pipe() work with it.
class ResponseStream extends Writable {
  constructor(request, highWaterMark) {
    super(highWaterMark === undefined ? {} : { highWaterMark });
    this._request = request;
    this._opened = false;
    this[PRELUDE] = null;
  }

  setContentType(type) {
    if (this._opened) throw namedError('InvalidStreamingOperation', 'Cannot set content-type, too late.');
    this._request.setHeader('Content-Type', type);
  }

  write(chunk, encoding, callback) {
    // Lambda's stream takes any value and writes JSON of what is not text or bytes.
    const data = typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
    return super.write(data, encoding, callback);
  }

  _open() {
    if (this._opened) return;
    this._opened = true;
    if (this[PRELUDE] !== null) {
      this._request.write(this[PRELUDE]);
      this._request.write(DELIMITER);
    }
  }

  _write(chunk, _encoding, callback) {
    this._open();
    // Done at once unless the connection pushes back: chunks leave as they are written.
    if (this._request.write(chunk)) callback();
    else this._request.once('drain', () => callback());
  }

  _final(callback) {
    this._open(); // a prelude with no body still goes out
    this._request.end(() => callback());
  }
}

class HttpResponseStream {
  static from(stream, prelude) {
    stream.setContentType(HTTP_INTEGRATION);
    stream[PRELUDE] = JSON.stringify(prelude); // JSON never holds a NUL byte: the delimiter stays unique
    return stream;
  }
}

function install() {
  const off = process.env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    streamifyResponse(handler, options) {
      handler[STREAMING] = RESPONSE;
      if (options && typeof options.highWaterMark === 'number') handler[HIGH_WATER_MARK] = options.highWaterMark;
      return handler;
    },
    HttpResponseStream,
  };
}

// Whether the handler streams; any other mark than Lambda's one is refused at init, as Lambda does.
function isStreaming(handler) {
  const mark = handler[STREAMING];
  if (mark === undefined || mark === null || mark === false) return false;
  if (mark === RESPONSE) return true;
  throw namedError('MalformedStreamingHandler', 'Only response streaming is supported.');
}

// One streamed invocation: `api` is {host, port, path} of its /response, `report` logs and shapes
// errors as the bootstrap does; `then` runs once the Runtime API has the whole response.
function invokeStreaming(handler, event, context, api, report, then) {
  const request = http.request({
    host: api.host, port: api.port, path: api.path, method: 'POST', agent,
    headers: {
      'Lambda-Runtime-Function-Response-Mode': 'streaming',
      'Transfer-Encoding': 'chunked',
      Trailer: `${ERROR_TYPE}, ${ERROR_BODY}`,
      'Content-Type': 'application/octet-stream',
    },
  });
  request.setNoDelay(true);
  const mark = handler[HIGH_WATER_MARK];
  const stream = new ResponseStream(request, typeof mark === 'number' ? mark : undefined);
  stream.on('error', () => {}); // a write failing because the client left must not end the environment
  let over = false; // the Runtime API answered, or the connection is gone
  let finished = false; // the handler's outcome is decided
  const afterRequest = () => {
    if (over) then();
    else request.once('close', then);
  };
  request.on('response', (res) => { res.resume(); res.on('end', () => { over = true; }); });
  request.on('close', () => { over = true; });
  request.on('error', (err) => stream.destroy(err)); // the host hung up (its client left): writes fail
  const succeed = () => {
    if (finished) return;
    finished = true;
    afterRequest();
  };
  const fail = (err) => {
    if (finished) return;
    finished = true;
    report.logError('Invoke Error', err);
    if (!request.destroyed && !request.writableEnded) {
      const payload = report.errorPayload(err);
      stream.destroy(); // what the handler left unwritten is dropped; the error ends the response
      request.addTrailers({ [ERROR_TYPE]: payload.errorType,
        [ERROR_BODY]: Buffer.from(JSON.stringify(payload)).toString('base64') });
      request.end();
    }
    afterRequest();
  };
  let result;
  try {
    result = handler(event, stream, context);
  } catch (err) {
    fail(err);
    return { onEmptyLoop: () => {} };
  }
  if (!result || typeof result.then !== 'function') {
    fail('Streaming does not support non-async handlers.');
    return { onEmptyLoop: () => {} };
  }
  result.then((value) => {
    if (value !== undefined) console.warn('Streaming handlers ignore return values.');
    if (stream.writableFinished) succeed();
    else stream.once('finish', succeed); // it may end after the handler returned, as on Lambda
  }, (err) => fail(err === undefined || err === null ? 'handled' : err));
  // The event loop emptied with the stream still open: it can never end now.
  return { onEmptyLoop: () => (stream.writableFinished ? succeed() : fail('Response stream is not finished.')) };
}

module.exports = { install, isStreaming, invokeStreaming, HttpResponseStream };
