"""The upload page in a real browser (Debian's chromium, driven by Playwright) on `lightbox up`:
three photos and one fake get three thumbnails and one failure message, live, without a reload."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
PHOTOS = [CORPUS / "exif" / "Canon_40D.jpg", CORPUS / "exif" / "DSCN0010.jpg",
          CORPUS / "orientation" / "Portrait_6.jpg"]
CHROMIUM = "/usr/bin/chromium"  # Debian's, not a downloaded browser
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        # CI installs it (.ci/run) and must run this test; elsewhere it is a system package a
        # person may not have, and the rest of the suite must still run.
        assert os.environ.get("CI") != "true", f"{CHROMIUM} is missing in CI: .ci/run installs Debian's chromium"
        pytest.skip(f"{CHROMIUM} is not installed: apt-get install chromium to run the browser test")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


def token(client: str) -> str:
    """As the README prints one: `python -m photolib.auth issue CLIENT`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "layers" / "photolib" / "python")}
    out = subprocess.run([sys.executable, "-m", "photolib.auth", "issue", client], cwd=ROOT, check=True,
                         capture_output=True, text=True, env=env)
    return out.stdout.strip()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def test_uploads_show_live_thumbnails_and_a_failure_without_reload(stack: str, page: Page, tmp_path: Path) -> None:
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("<!doctype html><html><body>a web page, not a photo</body></html>")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto(f"{stack}/?token={token('web-tester')}")
    expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    assert "token=" not in page.url  # taken out of the address bar
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page

    page.set_input_files("#files", [str(p) for p in [*PHOTOS, fake]])
    expect(page.locator(".card")).to_have_count(4)
    expect(page.locator(".card img.thumb")).to_have_count(3, timeout=90_000)
    failed = page.locator(".card.failed")
    expect(failed).to_have_count(1, timeout=30_000)
    expect(failed.locator(".name")).to_have_text(fake.name)
    expect(failed.locator(".error")).to_contain_text("HTML")
    for img in page.locator(".card img.thumb").all():  # the browser really fetched each thumbnail
        assert img.evaluate("i => i.complete && i.naturalWidth > 0"), img.get_attribute("src")
    assert page.evaluate("window.sameDocument") is True
    page.screenshot(path=str(tmp_path / "gallery.png"), full_page=True)

    # The detail view: the camera's metadata and every rendition.
    page.locator(".card", has_text="Canon_40D.jpg").click()
    dialog = page.locator("#detail")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#detail-metadata")).to_contain_text("Canon EOS 40D")
    expect(dialog.locator("#detail-renditions")).to_contain_text("thumb_150")
    expect(dialog.locator("#detail-renditions")).to_contain_text("original")
    page.screenshot(path=str(tmp_path / "detail.png"))
    assert (tmp_path / "gallery.png").stat().st_size > 0
    assert not [p for p in problems if "CORS" in p or "Access-Control" in p], problems


def test_the_page_without_a_token_says_how_to_get_one(stack: str, page: Page) -> None:
    page.goto(stack)
    expect(page.locator("#notice")).to_contain_text("python -m photolib.auth issue CLIENT_ID")


def test_files_dropped_on_the_page_upload_and_complete(stack: str, page: Page) -> None:
    page.goto(f"{stack}/?token={token('drop-tester')}")
    expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    photos = [PHOTOS[0], PHOTOS[1]]
    # What the browser hands the page when a person drops files: a drop event whose
    # dataTransfer holds File objects (built here from the photos' bytes).
    transfer = page.evaluate_handle(
        """files => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name, {type: "image/jpeg"}));
            }
            return dt;
        }""",
        [{"name": p.name, "data": base64.b64encode(p.read_bytes()).decode()} for p in photos])
    page.dispatch_event("#drop", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#drop")).to_have_class(re.compile(r"\bover\b"))
    page.dispatch_event("#drop", "drop", {"dataTransfer": transfer})
    expect(page.locator(".card")).to_have_count(2)
    expect(page.locator(".card img.thumb")).to_have_count(2, timeout=90_000)
    assert sorted(page.locator(".card .name").all_inner_texts()) == sorted(p.name for p in photos)


def test_an_upload_storage_refuses_fails_its_card_with_storages_reason(stack: str, page: Page) -> None:
    # A client declaring one byte less than it sends: the presigned POST's policy is signed for
    # the declared size, so storage refuses the file, as S3 does, and the page says why.
    def declare_less(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "size": body["size"] - 1}))

    page.route("**/uploads", declare_less)
    bearer = token("refused-tester")
    page.goto(f"{stack}/?token={bearer}")
    expect(page.locator("#live")).to_have_text("live", timeout=15_000)
    with page.expect_response(lambda r: r.request.method == "DELETE", timeout=30_000) as deleted:
        page.set_input_files("#files", [str(PHOTOS[1])])
    failed = page.locator(".card.failed")
    expect(failed).to_have_count(1)
    expect(failed.locator(".error")).to_have_text(
        "upload failed: Your proposed upload exceeds the maximum allowed size")
    # The record that waited for the bytes is gone, not left pending; the card keeps the reason.
    photo_id = deleted.value.url.rsplit("/", 1)[1]
    assert deleted.value.status == 204 and len(photo_id) == 32
    gone = requests.get(f"{stack}/photos/{photo_id}", headers={"Authorization": f"Bearer {bearer}"}, timeout=10)
    assert gone.status_code == 404
    # One stream brings events in order: once a later upload's thumbnail is shown, the page has
    # also handled the photo.deleted event published before it.
    page.unroute("**/uploads")
    page.set_input_files("#files", [str(PHOTOS[0])])
    expect(page.locator(".card img.thumb")).to_have_count(1, timeout=90_000)
    expect(failed).to_have_count(1)
    expect(failed.locator(".error")).to_contain_text("exceeds the maximum allowed size")
