"""Lambda execution environments: each function's invocations run in processes of that function,
driven through Lambda's Runtime API, as Lambda runs them.

The interface (other runtimes and callers build on it; keep it stable):

- `runtime.ProcessRuntime(template, env, hot_reload, limits, client)`: a `lightbox.runtime.invoke.
  Runtime` whose `invoke(name, event, *, trigger=...) -> Invocation` runs in environments;
  `warm()` starts one per function; `close()` kills them all; `replace_template()` retires them.
  Triggers starting with http/cli/direct/invoke/RequestResponse are throttled at once at the
  concurrency limit (`lightbox.exceptions.Throttled`, TooManyRequestsException); others wait.
  Errors are `lightbox.exceptions.FunctionError` (`.error_type`, `.message`, `.stack_trace`,
  `.payload(request_id)`: Lambda's error payload); a timeout is its subclass InvocationTimeout.
  `runtime.invocation_headers` (a ContextVar) adds Lambda-Runtime-Client-Context /
  -Cognito-Identity to the next invocations made in that context (the Invoke API sets it).
  A streamed response comes back as `{"statusCode", "headers", ..., "body": StreamBody}`, an
  iterator of bytes whose close() hangs up on the environment (`.content_type`, the raw `.prelude`
  of an http-integration stream, `.error` once it ended with an error after it started).
- `runtimes.register(prefix, launcher)`: how environments of a runtime start. A launcher takes
  (Function, python runtime interface client setting) and returns `Launch(argv, env)`; the process
  gets Lambda's variables (`launch.lambda_variables`: AWS_LAMBDA_RUNTIME_API, _HANDLER,
  LAMBDA_TASK_ROOT, ...), TMPDIR, cwd = CodeUri, layers' bin/ and lib/ on PATH/LD_LIBRARY_PATH,
  and must speak the Runtime API at http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...
  "python3" is registered (python/bootstrap.py, or awslambdaric).
- `api.py` serves one environment's Runtime API on its own loopback port; `environment.py` is one
  process and its invocation; `pool.py` the environments of a function (concurrency, idle, memory
  watchdog); `faults.py` Lambda's errors for exits, timeouts and memory; `logs.py` START/END/REPORT;
  `launch.py` the process (variables, death tied to ours); `memory.py` /proc reads.
"""
