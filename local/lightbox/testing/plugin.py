"""pytest plugin (entry point `lightbox`): a `lightbox` fixture that runs a SAM app's functions.

Loaded in every pytest run once lightbox is installed, so nothing here starts a server unless a
test asks for `lightbox` or `lightbox_servers`. Which template: the `lightbox_template` marker >
`--lightbox-template` > `template.yaml` in the rootdir; parameter overrides: the marker's
`parameters=` > the `lightbox_parameters` fixture (override it in a conftest). How handlers run:
the `lightbox_isolation` marker > `--lightbox-isolation` > in the test's process (testing/isolation.py).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported when a fixture runs: every pytest run loads this module, few use it
    from lightbox.testing.harness import Lightbox
    from lightbox.testing.servers import TestServers


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lightbox", "run SAM functions on the lightbox emulator")
    group.addoption("--lightbox-template", default=None, metavar="PATH",
                    help="SAM template the `lightbox` fixture loads (default: template.yaml in the rootdir)")
    group.addoption("--lightbox-redis-url", default=None, metavar="URL",
                    help="use this Redis instead of starting one; its database is flushed before each test")
    group.addoption("--lightbox-s3-endpoint", default=None, metavar="URL",
                    help="use this moto server instead of starting one; it is reset before each test")
    group.addoption("--lightbox-isolation", default="thread", choices=["thread", "process"],
                    help="thread (default): handlers run in the test's process; process: each function in "
                         "execution environment processes, exactly as `lightbox up` runs them")
    group.addoption("--lightbox-strict", action="store_true", default=False,
                    help="fail a test whose template has anything that is not emulated (as `lightbox up --strict`)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "lightbox_template(path=None, parameters=None): the SAM template (relative to the rootdir) "
                   "and parameter overrides the `lightbox` fixture uses for this test")
    config.addinivalue_line(
        "markers", "lightbox_isolation(mode): 'process' runs this test's functions in execution environments "
                   "as `lightbox up` does; 'thread' in the test's own process (the default)")


@pytest.fixture(scope="session")
def lightbox_servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestServers]:
    """One Redis and one S3/SQS (moto) server for the whole session, started on free ports."""
    from lightbox.testing.servers import TestServers

    servers = TestServers.start(tmp_path_factory.mktemp("lightbox"),
                                request.config.getoption("lightbox_redis_url"),
                                request.config.getoption("lightbox_s3_endpoint"))
    yield servers
    servers.stop()


@pytest.fixture
def lightbox_parameters() -> dict[str, str]:
    """Template parameter overrides for every test; override this fixture to set your own."""
    return {}


@pytest.fixture
def lightbox(request: pytest.FixtureRequest, lightbox_servers: TestServers,
             lightbox_parameters: dict[str, str]) -> Iterator[Lightbox]:
    """The template's functions on empty servers: fresh buckets, queues, streams for each test."""
    from lightbox.testing.harness import Lightbox

    marker = request.node.get_closest_marker("lightbox_template")
    path = request.config.getoption("lightbox_template") or "template.yaml"
    parameters = dict(lightbox_parameters)
    if marker is not None:
        path = marker.args[0] if marker.args else marker.kwargs.get("path", path)
        parameters.update(marker.kwargs.get("parameters") or {})
    template = Path(path) if Path(path).is_absolute() else request.config.rootpath / path
    if not template.is_file():
        pytest.fail(f"lightbox: no SAM template at {template}; put template.yaml in the rootdir, pass "
                    "--lightbox-template PATH, or mark the test @pytest.mark.lightbox_template(PATH)", pytrace=False)
    from lightbox.exceptions import LightboxError
    from lightbox.runtime.invoke import runtime_findings
    from lightbox.template.loader import refuse_not_emulated

    lightbox_servers.reset()
    try:
        isolation_marker = request.node.get_closest_marker("lightbox_isolation")
        isolation = (isolation_marker.args[0] if isolation_marker and isolation_marker.args
                     else request.config.getoption("lightbox_isolation"))
        box = Lightbox(lightbox_servers, template, parameters, isolation=isolation)
    except LightboxError as exc:  # the template's own mistakes: its lines, not a traceback into the plugin
        pytest.fail("\n".join(f"lightbox: error: {line}" for line in str(exc).splitlines()), pytrace=False)
    if request.config.getoption("lightbox_strict"):
        try:
            refuse_not_emulated(box.template, runtime_findings(box.template))
        except LightboxError as exc:
            box.close()
            pytest.fail("\n".join(f"lightbox: error: {line}" for line in str(exc).splitlines()), pytrace=False)
    yield box
    box.close()
    lightbox_servers.reset()  # leave the servers as empty as the test found them


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if call.when != "call" or not report.failed or "lightbox" not in getattr(item, "funcargs", {}):
        return report
    from lightbox.testing.harness import Lightbox

    box = item.funcargs["lightbox"]  # type: ignore[attr-defined]
    if isinstance(box, Lightbox):
        failures = box.failures_report()
        if failures:  # handlers run by triggers fail quietly (retries, DLQ); show why here
            report.sections.append(("lightbox: failed invocations", failures))
    return report
