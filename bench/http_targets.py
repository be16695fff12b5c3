"""The servers bench_http_invoke.py times, each a real process on loopback: `lightbox up` (environments or
the thread model), the same handler behind a bare Flask route, and behind serverless-offline."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from lightbox.services.processes import free_port
from lightbox.testing.up import UpProcess, start_up

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "bench" / "apps" / "invoke"
# npm installs here once; later runs reuse it (delete the folder to update).
NPM_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lightbox-bench" / "serverless-offline"
NPM_PACKAGES = ("serverless@3", "serverless-offline@13")

# The same route as the template's HttpApi event, the handler called as a bare function: no route
# table, no API Gateway event mapping, no runtime, no response mapping. On the gateway's own server
# (werkzeug's threaded server with lightbox's keep-alive handler), so the row differs only by those.
FLASK_SERVER = """\
import importlib.util, sys
from flask import Flask, Response
from lightbox.apigateway.http_server import make_gateway_server

spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
app = Flask("bare")
event = {"version": "2.0", "routeKey": "GET /ping", "rawPath": "/ping", "headers": {}, "isBase64Encoded": False}

@app.get("/ping")
def ping():
    out = module.ping(event, None)
    return Response(out["body"], status=out["statusCode"], headers=out["headers"])

make_gateway_server("127.0.0.1", int(sys.argv[2]), app).serve_forever()
"""

SERVERLESS_YML = """\
service: lightbox-bench
frameworkVersion: "3"
provider:
  name: aws
  runtime: python3.11
  region: us-east-1
functions:
  ping:
    handler: app.ping
    events:
      - httpApi: {{path: /ping, method: get}}
plugins:
  - serverless-offline
custom:
  serverless-offline:
    host: 127.0.0.1
    httpPort: {http}
    lambdaPort: {lambda_}
    websocketPort: {websocket}
    noPrependStageInUrl: true
"""


@dataclass
class Server:
    """One target: where to GET, and the process to stop (None: `lightbox up`, stopped by `up`)."""

    name: str
    url: str
    proc: subprocess.Popen[bytes]
    up: UpProcess | None = None
    group: bool = False  # the process leads its own group, its children in it

    def stop(self) -> None:
        if self.up is not None:
            self.up.stop()
            return
        if self.proc.poll() is None:
            if self.group:
                os.killpg(self.proc.pid, signal.SIGTERM)
            else:
                self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.group:
            with contextlib.suppress(ProcessLookupError):  # a child left behind by its leader
                os.killpg(self.proc.pid, signal.SIGKILL)


def wait_serving(server: Server, log: Path, timeout: float = 90) -> Server:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url, timeout=5).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        if server.proc.poll() is not None:
            break
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"{server.name} did not answer {server.url}:\n{log.read_text(errors='replace')[-3000:]}")


def lightbox_up(data_dir: Path, isolation: str) -> Server:
    """`lightbox up` on the bench app; isolation "process" (environments) or "thread" (LIGHTBOX_ISOLATION)."""
    data_dir.mkdir(parents=True)
    up = start_up(data_dir, ["-t", str(APP / "template.yaml")], env={"LIGHTBOX_ISOLATION": isolation}, cwd=ROOT)
    return wait_serving(Server(f"lightbox up ({isolation})", f"{up.url}/ping", up.proc, up), up.log_path)


def bare_flask(tmp: Path) -> Server:
    port, log = free_port(), tmp / "flask.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", FLASK_SERVER, str(APP / "fn" / "app.py"), str(port)],
                                stdout=out, stderr=subprocess.STDOUT)
    return wait_serving(Server("bare Flask", f"http://127.0.0.1:{port}/ping", proc), log)


def serverless_install() -> tuple[Path | None, str]:
    """(the serverless CLI, "") once `npm install` has run in the cache folder; (None, why) when it cannot."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return None, "node or npm is not on PATH"
    cli = NPM_CACHE / "node_modules" / ".bin" / "serverless"
    if cli.exists():
        return cli, ""
    NPM_CACHE.mkdir(parents=True, exist_ok=True)
    (NPM_CACHE / "package.json").write_text('{"name": "lightbox-bench-serverless-offline", "private": true}\n')
    print(f"npm install {' '.join(NPM_PACKAGES)} in {NPM_CACHE} (once; later runs reuse it)", flush=True)
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NPM_PACKAGES],
                          cwd=NPM_CACHE, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0 or not cli.exists():
        return None, f"npm install failed: {(done.stderr or done.stdout).strip().splitlines()[-1:]}"
    return cli, ""


def serverless_offline(tmp: Path, cli: Path) -> Server:
    """`serverless offline` in a service folder holding the same app.py, its plugins from the npm cache."""
    service = tmp / "serverless"
    service.mkdir()
    shutil.copy(APP / "fn" / "app.py", service / "app.py")
    (service / "node_modules").symlink_to(NPM_CACHE / "node_modules")
    http = free_port()
    (service / "serverless.yml").write_text(SERVERLESS_YML.format(http=http, lambda_=free_port(),
                                                                  websocket=free_port()))
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
    log = tmp / "serverless.log"
    with log.open("wb") as out:
        # Its own process group: `serverless` starts node children and the Python handler's process.
        proc = subprocess.Popen([str(cli), "offline", "start"], cwd=service, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    server = Server("serverless-offline", f"http://127.0.0.1:{http}/ping", proc, group=True)
    return wait_serving(server, log, timeout=120)
