"""The web app in a real browser (Debian's chromium and chromium-driver, driven by Selenium), by
mouse and keyboard only: the bundled example and a messy clinic sheet each to a downloaded PDF
whose text is checked, a malformed file's grouped errors read, one mapping line edited, and a
run reproduced from the page. Screenshots of every page go to test-artifacts/app/.

Skipped, saying why, when the browser or its driver is not installed; `.ci/run` installs both,
so CI always runs this test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from analysis.paths import EXAMPLES, PACKAGE_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "app"

pytestmark = [
    pytest.mark.browser, pytest.mark.slow,
    pytest.mark.skipif(not (Path(CHROMIUM).exists() and Path(DRIVER).exists()),
                       reason="browser test: needs Debian's chromium and chromium-driver "
                       "(apt-get install chromium chromium-driver; .ci/run installs them)"),
]
sys.path.insert(0, str(Path(__file__).parent))
from app_data import EDIT, MALFORMED, MESSY, write  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("app")
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "app", "--no-browser", "--port",
                             "0", "--workdir", str(work / "work")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    url = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", proc.stdout.readline())
    try:
        assert url, "the app printed no address"
        yield url.group(1), url.group(2), work
    finally:
        proc.terminate()
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def browser(server):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    downloads = server[2] / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1280,1000",
                 f"--user-data-dir={server[2] / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False,
        "plugins.always_open_pdf_externally": True})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.implicitly_wait(5)
    driver.downloads = downloads
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver, name: str) -> None:
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _by(kind: str):
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def _upload(driver, paths: list[Path]) -> None:
    driver.find_element(_by("LINK_TEXT"), "1. Data").click()
    driver.find_element(_by("ID"), "files").send_keys("\n".join(str(p) for p in paths))
    driver.find_element(_by("CSS_SELECTOR"), "form[action='/upload'] button").click()


def _run_to_pdf(driver, name: str, *, html: bool = False) -> str:
    """Start a PDF-only run from the Run page, wait on its progress bar, download the PDF and
    return its text."""
    from pypdf import PdfReader

    driver.find_element(_by("LINK_TEXT"), "5. Run").click()
    for fmt in ("to_html", "to_docx"):   # the PDF only: one render per dataset keeps it short
        box = driver.find_element(_by("ID"), fmt)
        if box.is_selected() and not (html and fmt == "to_html"):
            box.click()
    _shot(driver, f"{name}-run-form")
    driver.find_element(_by("ID"), "start-run").click()
    assert driver.find_element(_by("ID"), "progress").tag_name == "progress"
    _shot(driver, f"{name}-run-progress")
    end = time.monotonic() + 600
    while time.monotonic() < end:
        state = driver.find_element(_by("ID"), "state").text
        if not state.startswith("running"):
            break
        time.sleep(1)
    assert state.startswith("done"), driver.find_element(_by("ID"), "log").get_attribute(
        "textContent")[-2000:]
    _shot(driver, f"{name}-run-done")
    before = set(driver.downloads.glob("*.pdf"))
    link = driver.find_element(_by("PARTIAL_LINK_TEXT"), ".pdf")
    link.click()
    end = time.monotonic() + 60
    while time.monotonic() < end:
        new = set(driver.downloads.glob("*.pdf")) - before
        if new and not list(driver.downloads.glob("*.crdownload")):
            break
        time.sleep(0.5)
    assert new, "no PDF was downloaded"
    pdf = new.pop()
    return "\n".join(page.extract_text() or "" for page in PdfReader(pdf).pages)


def test_from_the_bundled_example_and_a_messy_sheet_to_a_pdf_by_mouse(server, browser):
    base, token, _ = server
    d = browser
    d.get(f"{base}/?token={token}")
    assert "token" not in d.current_url                      # the token left the address bar
    assert d.find_element(_by("TAG_NAME"), "h1").text == "Data"
    _shot(d, "01-home")
    # keyboard: the first Tab reaches the skip link, which moves to the content
    from selenium.webdriver.common.keys import Keys

    d.find_element(_by("TAG_NAME"), "body").send_keys(Keys.TAB)
    assert d.switch_to.active_element.text == "Skip to content"

    # 1. the bundled example (one patient: case report), uploaded as files
    example = EXAMPLES / "case_report"
    _upload(d, [example / "observations.csv", example / "patients.csv", example / "study.yaml"])
    assert "valid." in d.find_element(_by("ID"), "verdict").text
    _shot(d, "02-check-example")
    text = _run_to_pdf(d, "03-example", html=True)
    assert "gait speed" in text.lower() and "test infusion" in text.lower()
    frame = d.find_element(_by("CSS_SELECTOR"), "iframe.report")    # the HTML report's preview
    d.switch_to.frame(frame)
    assert "gait speed" in d.find_element(_by("TAG_NAME"), "body").text.lower()
    d.switch_to.default_content()
    assert d.find_elements(_by("CSS_SELECTOR"), "#downloads a")     # downloads listed
    d.find_element(_by("ID"), "reproduce").click()                  # itb reproduce, from the page
    end = time.monotonic() + 300
    while d.find_element(_by("ID"), "state").text.startswith("running") and \
            time.monotonic() < end:
        time.sleep(1)
    assert d.find_element(_by("ID"), "state").text.startswith("done")
    assert "reproduced: every file is the recorded one" in d.find_element(
        _by("ID"), "log").get_attribute("textContent")
    _shot(d, "04-reproduce")

    # 2. a malformed file: the errors, grouped, first, with rows, columns and marked cells
    bad = write(server[2] / "files", "malformed.csv", MALFORMED)
    _upload(d, [bad])
    assert "NOT valid: 3 error(s)" in d.find_element(_by("ID"), "verdict").text
    errors = [li.text for li in d.find_elements(_by("CSS_SELECTOR"), "#list-error li")]
    assert len(errors) == 3 and "row 3, column 'value'" in errors[0]
    headings = [h.text for h in d.find_elements(_by("CSS_SELECTOR"), "section.problems h2")]
    assert headings[0].startswith("Errors")
    marked = d.find_elements(_by("CSS_SELECTOR"), "table.sheet td.marked")
    assert [m.get_attribute("title") for m in marked][:1] == ["text in a numeric column"]
    _shot(d, "05-check-malformed")

    # 3. a messy clinic sheet: edit one mapping line, then to a PDF
    messy = write(server[2] / "files", "ITB_Klinik.csv", MESSY)
    _upload(d, [messy])
    assert f"'{EDIT[0]}'" in d.find_element(_by("ID"), "list-dropped").text
    d.find_element(_by("LINK_TEXT"), "3. Columns").click()
    field = d.find_element(_by("CSS_SELECTOR"), f"input[data-column='{EDIT[0]}']")
    field.clear()
    field.send_keys(EDIT[1])
    _shot(d, "06-mapping-edit")
    d.find_element(_by("ID"), "save-mapping").click()
    assert "Saved mapping.yaml" in d.find_element(_by("ID"), "saved").text
    d.find_element(_by("LINK_TEXT"), "2. Check").click()
    assert "valid." in d.find_element(_by("ID"), "verdict").text
    assert not d.find_elements(_by("ID"), "list-dropped") or EDIT[0] not in d.find_element(
        _by("ID"), "list-dropped").text
    d.find_element(_by("LINK_TEXT"), "4. Settings").click()
    d.find_element(_by("ID"), "primary_outcome").send_keys("gait_sped")
    d.find_element(_by("ID"), "save-settings").click()
    assert "did you mean 'gait_speed'?" in d.find_element(_by("CSS_SELECTOR"), ".error").text
    _shot(d, "07-settings-did-you-mean")
    field = d.find_element(_by("ID"), "primary_outcome")
    field.clear()
    field.send_keys("gait_speed")
    d.find_element(_by("ID"), "save-settings").click()
    assert "Saved study.yaml" in d.find_element(_by("ID"), "saved").text
    _shot(d, "08-settings-saved")
    text = _run_to_pdf(d, "09-messy")
    assert "gait speed" in text.lower()
    d.refresh()                                             # reloading never loses the run
    assert d.find_element(_by("ID"), "state").text.startswith("done")
    assert d.find_elements(_by("CSS_SELECTOR"), "#downloads a")
