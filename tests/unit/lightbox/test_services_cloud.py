"""The embedded S3 server's dispatcher: moto's answers, looked up once per host."""

from __future__ import annotations

from unittest import mock

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from lightbox.services.cloud import CachedDispatcher

HOSTS = ["s3.us-east-1.amazonaws.com", "sqs.us-east-1.amazonaws.com", "moto_api", None,
         "nothing.example.com"]


@pytest.mark.parametrize("host", HOSTS)
def test_backend_for_host_matches_motos(host: str | None) -> None:
    ours, moto_s = CachedDispatcher(), DomainDispatcherApplication(mock.sentinel.create_app)
    assert ours.get_backend_for_host(host) == moto_s.get_backend_for_host(host)
    assert ours.get_backend_for_host(host) == moto_s.get_backend_for_host(host)  # from the cache


def test_each_host_is_looked_up_once() -> None:
    dispatcher = CachedDispatcher()
    lookup = DomainDispatcherApplication.get_backend_for_host
    with mock.patch.object(DomainDispatcherApplication, "get_backend_for_host", autospec=True,
                           side_effect=lookup) as moto_lookup:
        for _ in range(3):
            assert dispatcher.get_backend_for_host("s3.us-east-1.amazonaws.com") == "s3"
            assert dispatcher.get_backend_for_host("sqs.eu-west-1.amazonaws.com") == "sqs"
    assert moto_lookup.call_count == 2
