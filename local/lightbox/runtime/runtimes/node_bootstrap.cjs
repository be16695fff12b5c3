'use strict';
// Lightbox's Node.js runtime: what Lambda's nodejs runtime does in an execution environment, with
// nothing but Node's own modules. It loads the handler named by _HANDLER from LAMBDA_TASK_ROOT (CommonJS
// through require, ES modules through import()), then loops on Lambda's Runtime API at
// AWS_LAMBDA_RUNTIME_API: GET invocation/next, call the handler, POST its response or error. Error
// payloads, error types, exit codes and console lines follow aws-lambda-nodejs-runtime-interface-client,
// the code Lambda runs. A .cjs file, so it is CommonJS whatever package.json sits above it. Handlers
// wrapped by awslambda.streamifyResponse stream their response (node_streaming.cjs).

const fs = require('fs');
const http = require('http');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');
const streaming = require('./node_streaming.cjs');

const [API_HOST, API_PORT] = (process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001').split(':');
const BASE = '/2018-06-01/runtime';
// Keep-alive sockets are unref'd while idle, so a callback handler's "empty event loop" is reached.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// -- errors, named as Lambda names them ----------------------------------------------------------
class RuntimeError extends Error {}
function runtimeError(kind, message) {
  const err = new RuntimeError(message);
  err.name = `Runtime.${kind}`;
  return err;
}

function isError(obj) {
  return util.types.isNativeError(obj) || (obj && typeof obj.name === 'string' &&
    typeof obj.message === 'string' && typeof obj.stack === 'string');
}

// The payload Lambda returns for a failed invocation: {errorType, errorMessage, trace}.
function errorPayload(err) {
  try {
    if (isError(err)) {
      return { errorType: err.name, errorMessage: err.message, trace: String(err.stack).split('\n') };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (_e) {
    return { errorType: 'handled', errorMessage: 'callback called with Error argument, but there was a ' +
      'problem while retrieving one or more of its message, name, and stack' };
  }
}

// -- console lines as Lambda writes them: time, request id, level, message ----------------------
let requestId;
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [method, level] of Object.entries(levels)) {
    console[method] = (...args) => {
      process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${util.format(...args)}\n`);
    };
  }
}

function logError(title, err) {
  const payload = isError(err)
    ? Object.assign({ errorType: err.name, errorMessage: err.message }, err,
      { stack: String(err.stack).split('\n') })
    : err;
  let text;
  try {
    text = JSON.stringify(payload);
  } catch (_e) {
    text = JSON.stringify(errorPayload(err));
  }
  console.error(`${title} \t${text}`);
}

// -- the Runtime API -----------------------------------------------------------------------------
function call(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: API_HOST, port: API_PORT, path: BASE + route, method, agent,
      headers: Object.assign({ 'Content-Type': 'application/json' }, headers || {},
        body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) }) }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
        body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function fatal(err) {
  process.stderr.write(`lightbox node runtime: the Runtime API failed: ${err && err.stack || err}\n`);
  process.exit(1);
}

function postError(route, err, then) {
  const payload = errorPayload(err);
  call('POST', route, JSON.stringify(payload), { 'Lambda-Runtime-Function-Error-Type': payload.errorType })
    .then(() => then(), fatal);
}

function postResponse(id, result, then) {
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (err) {
    postError(`/invocation/${id}/error`, err, then);
    return;
  }
  call('POST', `/invocation/${id}/response`, body).then(() => then(), fatal);
}

// -- loading the handler (the rules of the nodejs runtime's UserFunction) ----------------------
function typeModule(folder) {
  // The nearest package.json decides whether .js is an ES module; node_modules or / stop the search.
  for (let dir = folder; ; dir = path.dirname(dir)) {
    if (dir.endsWith('/node_modules')) return false;
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
      } catch (_e) {
        console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`);
        return false;
      }
    }
    if (dir === path.dirname(dir)) return false;
  }
}

// ES module imports find what NODE_PATH holds (the runtime's AWS SDK, layers' node_modules), as require()
// does: Node's ESM resolver ignores NODE_PATH, Lambda's runtime does not. Only when NODE_PATH holds more
// than the function's own folder, since the hook runs on a loader thread of its own.
function resolveEsmFromNodePath() {
  const Module = require('module');
  const root = path.resolve(process.env.LAMBDA_TASK_ROOT || process.cwd());
  const dirs = (process.env.NODE_PATH || '').split(path.delimiter).filter((d) => d && path.resolve(d) !== root);
  if (!dirs.length || typeof Module.register !== 'function') return;
  const parents = dirs.map((d) => pathToFileURL(path.join(d, 'lightbox-resolve.js')).href);
  const hook = `const parents = ${JSON.stringify(parents)};
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || /^(\\.|\\/|[a-zA-Z][a-zA-Z+.-]*:)/.test(specifier)) throw err;
    for (const parentURL of parents) {
      try { return await next(specifier, { ...context, parentURL }); } catch (_e) { /* the next folder */ }
    }
    throw err;
  }
}`;
  Module.register(`data:text/javascript,${encodeURIComponent(hook)}`);
}

const required = (file) => (fs.existsSync(file) ? require(file) : undefined);
const imported = async (file) => (fs.existsSync(file) ? import(pathToFileURL(file).href) : undefined);

async function loadModule(root, moduleRoot, name) {
  const base = path.resolve(root, moduleRoot, name);
  const extensionless = required(base);
  if (extensionless) return extensionless;
  const esm = typeModule(path.dirname(base));
  return (!esm && required(`${base}.js`)) ||
    (esm && (await imported(`${base}.js`))) ||
    (await imported(`${base}.mjs`)) ||
    required(`${base}.cjs`) ||
    require(require.resolve(name, { paths: [root, path.resolve(root, moduleRoot)] }));
}

async function loadHandler(root, full) {
  if (full.includes('..')) {
    throw runtimeError('MalformedHandlerName', `'${full}' is not a valid handler name. Use absolute paths ` +
      'when specifying root directories in handler names.');
  }
  const moduleAndHandler = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(moduleAndHandler));
  const match = moduleAndHandler.match(/^([^.]*)\.(.*)$/);
  if (!match) throw runtimeError('MalformedHandlerName', 'Bad handler');
  let app;
  try {
    app = await loadModule(root, moduleRoot, match[1]);
  } catch (err) {
    if (err instanceof SyntaxError) throw runtimeError('UserCodeSyntaxError', String(err));
    if (err && (err.code === 'MODULE_NOT_FOUND' || err.code === 'ERR_MODULE_NOT_FOUND')) {
      throw runtimeError('ImportModuleError', String(err));
    }
    throw err;
  }
  const handler = match[2].split('.').reduce((obj, key) => obj && obj[key], app);
  if (!handler) throw runtimeError('HandlerNotFound', `${full} is undefined or not exported`);
  if (typeof handler !== 'function') throw runtimeError('HandlerNotFound', `${full} is not a function`);
  return handler;
}

// -- the invocation loop -------------------------------------------------------------------------
let onEmptyLoop = null; // what to do when the event loop empties ('beforeExit'), for this invocation
let onCrash = (err, code) => postError('/init/error', err, () => process.exit(code));

function contextFor(id, headers, controls) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const json = (value) => (value === undefined ? undefined : JSON.parse(value));
  return Object.assign(controls, {
    awsRequestId: id,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: json(headers['lambda-runtime-client-context']),
    identity: json(headers['lambda-runtime-cognito-identity']),
    tenantId: headers['lambda-runtime-aws-tenant-id'], // TenancyConfig PER_TENANT: the invocation's tenant
    getRemainingTimeInMillis: () => deadline - Date.now(),
  });
}

// A streaming handler's invocation: its response goes out while it runs (node_streaming.cjs).
function invokeStreamingOnce(handler, id, next) {
  const scheduleNext = () => setImmediate(() => invokeOnce(handler, true));
  onCrash = (err, code) => postError(`/invocation/${id}/error`, err, () => process.exit(code));
  onEmptyLoop = null;
  let event;
  try {
    event = JSON.parse(next.body);
  } catch (err) {
    logError('Invoke Error', err);
    postError(`/invocation/${id}/error`, err, scheduleNext);
    return;
  }
  const api = { host: API_HOST, port: API_PORT, path: `${BASE}/invocation/${encodeURIComponent(id)}/response` };
  const started = streaming.invokeStreaming(handler, event, contextFor(id, next.headers, {}), api,
    { logError, errorPayload }, scheduleNext);
  onEmptyLoop = () => { onEmptyLoop = null; started.onEmptyLoop(); };
}

function invokeOnce(handler, streams) {
  call('GET', '/invocation/next').then((next) => {
    if (next.status !== 200) return fatal(`invocation/next answered ${next.status}: ${next.body}`);
    const id = next.headers['lambda-runtime-aws-request-id'];
    requestId = id;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    if (streams) return invokeStreamingOnce(handler, id, next);
    const scheduleNext = () => setImmediate(() => invokeOnce(handler, false));
    let finished = false; // only the first of callback/succeed/fail/done/promise counts
    let waitForEmptyLoop = true;
    const once = (fn) => (...args) => { if (!finished) { finished = true; onEmptyLoop = null; fn(...args); } };
    const fail = (err) => {
      logError('Invoke Error', err);
      postError(`/invocation/${id}/error`, err, scheduleNext);
    };
    const done = once((err, result) => (err !== undefined && err !== null ? fail(err)
      : postResponse(id, result, scheduleNext)));
    const callback = (err, result) => {
      if (finished) return;
      if ((err !== undefined && err !== null) || !waitForEmptyLoop) return done(err, result);
      // Lambda answers a callback handler once nothing is left on the event loop (unless told not to).
      onEmptyLoop = () => { onEmptyLoop = null; setImmediate(() => done(null, result)); };
    };
    const controls = {
      get callbackWaitsForEmptyEventLoop() { return waitForEmptyLoop; },
      set callbackWaitsForEmptyEventLoop(value) { waitForEmptyLoop = value; },
      succeed: (result) => done(null, result),
      fail: (err) => done(err === undefined || err === null ? 'handled' : err),
      done,
    };
    onCrash = (err, code) => postError(`/invocation/${id}/error`, err, () => process.exit(code));
    const isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';
    // A handler that never answers: null once the loop is empty, or an error for an async one whose
    // promise can no longer settle.
    onEmptyLoop = () => {
      finished = true;
      onEmptyLoop = null;
      if (isAsync) {
        const err = runtimeError('NodeJsExit', 'Runtime exited without providing a reason: the event loop ' +
          'emptied before the handler\'s promise settled');
        logError('Invoke Error', err);
        postError(`/invocation/${id}/error`, err, scheduleNext);
      } else {
        postResponse(id, null, scheduleNext);
      }
    };
    try {
      const event = JSON.parse(next.body);
      const result = handler(event, contextFor(id, next.headers, controls), callback);
      if (result && typeof result.then === 'function') {
        result.then((value) => done(null, value), (err) => done(err === undefined || err === null ? 'handled' : err));
      }
    } catch (err) {
      if (!finished) { finished = true; onEmptyLoop = null; fail(err); }
    }
  }, fatal);
}

async function main() {
  patchConsole();
  resolveEsmFromNodePath();
  process.on('uncaughtException', (err) => {
    logError('Uncaught Exception', err);
    onCrash(err, 129);
  });
  process.on('unhandledRejection', (reason) => {
    const err = runtimeError('UnhandledPromiseRejection', String(reason));
    err.reason = reason;
    logError('Unhandled Promise Rejection', err);
    onCrash(err, 128);
  });
  process.on('beforeExit', () => { if (onEmptyLoop) onEmptyLoop(); });
  streaming.install(); // the awslambda global, before the handler's module runs
  let handler;
  let streams;
  try {
    handler = await loadHandler(process.env.LAMBDA_TASK_ROOT || process.cwd(), process.env._HANDLER || '');
    streams = streaming.isStreaming(handler);
  } catch (err) {
    logError('Uncaught Exception', err);
    onCrash(err, 129);
    return;
  }
  invokeOnce(handler, streams);
}

main();
