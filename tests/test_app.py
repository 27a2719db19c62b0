"""The local web app (`itb app`) through Starlette's TestClient, and the real server on a socket:
token, working-folder safety, the pages' checks, runs (one at a time, kept on disk) and the
same results.csv as `itb analyze`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
from starlette.testclient import TestClient  # noqa: E402

from analysis.app.jobs import Jobs  # noqa: E402
from analysis.app.security import cookie_name  # noqa: E402
from analysis.app.server import create_app, is_loopback  # noqa: E402
from analysis.app.workspace import UploadNameError, safe_name  # noqa: E402
from analysis.paths import EXAMPLES, PACKAGE_ROOT  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from app_data import EDIT, MALFORMED, MESSY  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
TOKEN = "test-token-123"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path / "work"


@pytest.fixture
def client(work: Path) -> TestClient:
    c = TestClient(create_app(work, TOKEN))
    assert c.get(f"/?token={TOKEN}").status_code == 200
    return c


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _wait(client: TestClient, run_id: str, limit: float = 300) -> dict:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        status = client.get(f"/runs/{run_id}/status").json()
        if status["state"] != "running":
            return status
        time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not end")


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------------------- token

def test_every_request_without_the_token_is_refused(work):
    c = TestClient(create_app(work, TOKEN))
    for path in ("/", "/check", "/run", "/static/app.css", "/files/current", "/runs/1/status"):
        r = c.get(path)
        assert r.status_code == 403, path
        assert "token" in r.text
    assert c.get("/?token=wrong").status_code == 403
    assert c.post("/upload", files=[("files", ("a.csv", b"x"))]).status_code == 403
    assert not any((work / "datasets").iterdir())


def test_the_token_becomes_a_strict_cookie_and_leaves_the_address(work):
    c = TestClient(create_app(work, TOKEN))
    r = c.get(f"/check?token={TOKEN}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/check"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(cookie_name(TOKEN) + "=") and "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    page = c.get("/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in \
        csp.split("style-src")[0]
    assert page.headers["x-content-type-options"] == "nosniff"
    # every asset is local: no address of another host in any page or stylesheet
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)
    assert "http" not in c.get("/static/app.css").text


# ---------------------------------------------------------------------------- working folder

@pytest.mark.parametrize("name", ["../evil.csv", "../../evil.csv", "/tmp/evil.csv", "..\\evil.csv",
                                  "C:\\evil.csv", "sub/evil.csv", "ev\x00il.csv", ".hidden.csv",
                                  "..", "evil.exe"])
def test_upload_names_cannot_write_outside_the_working_folder(client, work, name):
    outside = {p for p in work.parent.rglob("*") if not p.is_relative_to(work)}
    r = client.post("/upload", files=[("files", (name, b"patient_id,visit,measure,value\n"))])
    assert {p for p in work.parent.rglob("*") if not p.is_relative_to(work)} == outside
    written = [p for p in (work / "datasets").rglob("*") if p.is_file()]
    if r.status_code == 400:                   # refused, naming the upload: nothing written
        assert "upload" in _text(r.text) and written == []
    else:             # the client or parser sent a plain base name (or an encoded NUL)
        assert r.status_code == 200 and len(written) == 1
        assert written[0].name in ("evil.csv", "ev%00il.csv")
        assert written[0].parent.parent == work / "datasets"
    with pytest.raises(UploadNameError):       # the app's own rule refuses every such name
        safe_name(name)


def test_no_file_outside_the_working_folder_is_served(client, work, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (work / "datasets" / "link.txt").symlink_to(secret)
    for path in ("/files/../secret.txt", "/files/%2e%2e/secret.txt", "/files/..%2fsecret.txt",
                 "/files/datasets/link.txt", f"/files/{secret}", "/files//etc/passwd",
                 "/files/datasets/%2e%2e/%2e%2e/secret.txt"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "secret" not in r.text
    (work / "datasets" / "inside.txt").write_text("inside")
    served = client.get("/files/datasets/inside.txt")
    assert served.status_code == 200 and served.text == "inside"
    assert "sandbox" in served.headers["content-security-policy"]


def test_a_chosen_folder_is_copied_and_never_modified(client, work, tmp_path):
    source = tmp_path / "mine"
    shutil.copytree(EXAMPLES / "case_series", source)
    before = _tree_digest(source)
    r = client.post("/choose", data={"folder": str(source)})
    assert r.status_code == 200 and "valid." in _text(r.text)
    assert client.post("/settings", data={"title": "Mine", "primary_outcome": "gait_speed",
                                          "df_method": "kenward-roger"}).status_code == 200
    client.post("/mapping", data={})
    assert _tree_digest(source) == before
    copies = list((work / "datasets").iterdir())
    assert len(copies) == 1 and "Mine" in (copies[0] / "study.yaml").read_text()
    assert str(work.resolve()) in r.text                       # the page names the folder


# ---------------------------------------------------------------------------- pages

def test_check_groups_errors_first_with_row_column_and_marked_cell(client):
    r = client.post("/upload", files=[("files", ("bad.csv", MALFORMED.encode()))])
    html = r.text
    assert "NOT valid: 3 error(s)" in html
    errors = html[html.index('id="list-error"'):html.index("</ul>", html.index('id="list-error"'))]
    assert html.index('id="s-error"') < html.index('id="s-note"')
    lines = re.findall(r"<li>(.*?)</li>", errors)
    assert len(lines) == 3
    assert "row 3, column &#39;value&#39;: text in a numeric column (value: &#39;fast&#39;)" \
        in lines[0]
    assert "row 4, column &#39;patient_id&#39;" in lines[1]
    assert "Did you mean &#39;tug&#39;?" in lines[2]
    marked = re.findall(r'<tr><th scope="row">(\d+)</th>(.*?)</tr>', html, re.S)
    cells = {int(row): re.findall(r"<td( class=\"marked\")?[^>]*>", body) for row, body in marked}
    assert [i for i, c in enumerate(cells[3]) if c] == [3]          # row 3, column D (value)
    assert [i for i, c in enumerate(cells[4]) if c] == [0]          # row 4, column A (patient_id)
    assert [i for i, c in enumerate(cells[2]) if c] == []


def test_text_from_data_is_escaped(client):
    evil = "patient_id,visit,measure,value\n<script>alert(1)</script>,baseline,tug,1\n"
    r = client.post("/upload", files=[("files", ("x.csv", evil.encode()))])
    assert "<script>alert" not in r.text and "&lt;script&gt;" in r.text


def test_editing_one_mapping_line_saves_mapping_yaml_and_changes_the_data(client, work):
    client.post("/upload", files=[("files", ("klinik.csv", MESSY.encode()))])
    page = client.get("/mapping").text
    index = re.search(r'id="as_(\d+)"[^>]*data-column="' + re.escape(EDIT[0]), page).group(1)
    bad = client.post("/mapping", data={f"as_{index}": "gait_sped_baseline"})
    assert bad.status_code == 400 and "is not a tidy column" in bad.text
    mapping = next((work / "datasets").iterdir()) / "mapping.yaml"
    assert not mapping.exists()                                      # refused: nothing written
    ok = client.post("/mapping", data={f"as_{index}": EDIT[1]})
    assert ok.status_code == 200 and "Saved mapping.yaml" in ok.text
    assert f'"{EDIT[0]}": {{as: {EDIT[1]}' in mapping.read_text()
    from analysis.data.codebook import load_codebook
    from analysis.data.mapping_file import load_mapping

    assert load_mapping(mapping, load_codebook()).column(EDIT[0]).as_ == EDIT[1]
    check = _text(client.get("/check").text)
    assert "3 measure(s)" not in check and "2 measure(s)" in check   # tug and gait_speed
    assert "Gangtempo bl&#39;: column matches no" not in client.get("/check").text


def test_settings_have_the_command_lines_did_you_mean(client, work):
    client.post("/choose", data={"example": "case_series"})
    r = client.post("/settings", data={"primary_outcome": "gait_sped", "reference_visit": "baselin",
                                       "df_method": "satterthwaite",
                                       "families": "gait: tug, gait_speed"})
    assert r.status_code == 400
    assert "did you mean &#39;gait_speed&#39;?" in r.text
    assert "reference_visit: &#39;baselin&#39; is not a visit" in r.text
    bad = client.post("/settings", data={"controls": "gait_speed: fast, 0.1, 20"})
    assert bad.status_code == 400 and "controls, line 1" in bad.text
    ok = client.post("/settings", data={"title": "T", "primary_outcome": "gait_speed",
                                        "df_method": "kenward-roger",
                                        "controls": "gait_speed: 1.31, 0.11, 20, Bohannon"})
    assert ok.status_code == 200 and "Saved study.yaml" in ok.text
    from analysis.data.config import load_config

    config = load_config(next((work / "datasets").iterdir()) / "study.yaml")
    assert (config.primary_outcome, config.df_method) == ("gait_speed", "kenward-roger")
    assert config.controls["gait_speed"].n == 20


# ---------------------------------------------------------------------------- runs

def test_results_csv_is_byte_identical_to_itb_analyze(client, work, tmp_path):
    client.post("/choose", data={"example": "case_series"})
    r = client.post("/run", data={"report": "auto"})          # no format: results only
    run_id = str(r.url).rsplit("/", 1)[1]
    assert _wait(client, run_id)["state"] == "done"
    ours = work / "runs" / run_id / "results" / "results.csv"
    dataset = next((work / "datasets").iterdir())
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT.parent)}
    subprocess.run([sys.executable, "-m", "analysis", "analyze", str(dataset), "--out",
                    str(tmp_path / "cli"), "--no-cache", "-q"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    assert ours.read_bytes() == (tmp_path / "cli" / "results.csv").read_bytes()
    page = client.get(f"/runs/{run_id}").text
    for name in ("results.csv", "manifest.json"):
        href = re.search(rf'href="(/files/[^"]+/{name})"', page).group(1)
        assert client.get(href).content == (ours.parent / name).read_bytes()
    manifest = json.loads((ours.parent / "manifest.json").read_text())
    assert manifest["files"]["results.csv"]["sha256"] == hashlib.sha256(ours.read_bytes()).hexdigest()


def test_a_second_run_is_refused_and_a_reload_keeps_the_run(client, work):
    client.post("/choose", data={"example": "case_report"})
    first = client.post("/run", data={"report": "auto"})
    run_id = str(first.url).rsplit("/", 1)[1]
    second = client.post("/run", data={"report": "auto"})
    assert second.status_code == 409 and "a run is going" in second.text
    assert len(list((work / "runs").iterdir())) == 1
    assert _wait(client, run_id)["state"] == "done"
    # a new app on the same folder (the page reloaded after a restart) still has the run
    again = TestClient(create_app(work, "other-token"))
    again.get("/?token=other-token")
    page = again.get(f"/runs/{run_id}").text
    assert "done: finished" in page and "results.csv" in page
    assert run_id in again.get("/run").text
    # reproduce from the page: itb reproduce on the run's folder
    r = again.post(f"/runs/{run_id}/reproduce")
    check = str(r.url).rsplit("/", 1)[1]
    assert _wait(again, check)["state"] == "done"
    assert "reproduced: every file is the recorded one" in again.get(f"/runs/{check}").text


def test_a_run_left_running_by_a_stopped_app_is_marked_interrupted(work):
    runs = work / "runs" / "20260101000000000"
    runs.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (runs / "status.json").write_text(json.dumps({
        "id": runs.name, "kind": "analyze", "dataset": "d", "command": ["itb", "analyze"],
        "state": "running", "pid": dead.pid, "started": 1.0}))
    run = Jobs(work / "runs").get(runs.name)
    assert run.state == "interrupted" and "stopped" in run.message


# ---------------------------------------------------------------------------- the real server

def _non_loopback_address() -> str | None:
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True,
                             check=False).stdout
    except OSError:
        out = ""
    found = [a for a in re.findall(r"inet (\d+\.\d+\.\d+\.\d+)", out) if not is_loopback(a)]
    if not found:
        try:
            address = socket.gethostbyname(socket.gethostname())
        except OSError:
            return None
        found = [address] if not is_loopback(address) else []
    return found[0] if found else None


def test_the_server_answers_on_loopback_only_and_needs_the_token(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT.parent)}
    proc = subprocess.Popen([sys.executable, "-m", "analysis", "app", "--no-browser", "--port", "0",
                             "--workdir", str(tmp_path / "w")], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        url = re.search(r"(http://127\.0\.0\.1:(\d+)/\?token=\S+)", line)
        assert url, line
        port = int(url.group(2))
        import http.cookiejar

        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(
            http.cookiejar.CookieJar()))
        with browser.open(url.group(1), timeout=30) as response:
            assert response.status == 200 and b"Upload files" in response.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30)
        assert refused.value.code == 403
        other = _non_loopback_address()
        if other is None:
            pytest.skip("this machine has no non-loopback IPv4 address to try")
        with pytest.raises(OSError):
            socket.create_connection((other, port), timeout=5).close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert "WARNING" not in proc.stderr.read()


def test_only_loopback_hosts_are_quiet():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")


def test_one_bad_name_refuses_the_whole_upload_and_trials_go_to_gait(client, work):
    r = client.post("/upload", files=[("files", ("observations.csv", b"patient_id\n")),
                                      ("files", ("evil.exe", b"x"))])
    assert r.status_code == 400 and not any((work / "datasets").iterdir())
    trial = (EXAMPLES / "case_report" / "gait" / "bl_d5_trial1.c3d").read_bytes()
    client.post("/upload", files=[("files", ("observations.csv",
                                             (EXAMPLES / "case_report" / "observations.csv")
                                             .read_bytes())),
                                  ("files", ("bl_d5_trial1.c3d", trial))])
    dataset = next((work / "datasets").iterdir())
    assert (dataset / "gait" / "bl_d5_trial1.c3d").read_bytes() == trial
    assert sorted(p.name for p in dataset.iterdir()) == ["gait", "observations.csv"]


@pytest.mark.slow
def test_a_case_report_of_one_patient_of_a_series_is_previewed(client):
    client.post("/choose", data={"example": "case_series"})
    patients = re.findall(r"<option>([^<]+)</option>",
                          client.get("/run").text.split('id="patient"')[1].split("</select>")[0])
    assert len(patients) > 1
    chosen = patients[1]
    r = client.post("/run", data={"report": "case-report", "patient": chosen, "to_html": "1"})
    run_id = str(r.url).rsplit("/", 1)[1]
    assert _wait(client, run_id)["state"] == "done"
    page = client.get(f"/runs/{run_id}").text
    assert f"--report case-report --patient {chosen}" in page
    frame = re.search(r'<iframe class="report" src="([^"]+case-report\.html)"', page)
    assert frame, page[-2000:]
    report = client.get(frame.group(1))
    assert report.status_code == 200 and chosen in report.text
    assert "sandbox" in report.headers["content-security-policy"]


def test_itb_app_data_starts_on_a_copy_of_that_data(work, tmp_path):
    data = tmp_path / "klinik.csv"
    data.write_text(MESSY, encoding="utf-8")
    c = TestClient(create_app(work, TOKEN, data_path=data))
    page = c.get(f"/check?token={TOKEN}")
    assert "klinik.csv: valid." in _text(page.text)
    copies = [p for p in (work / "datasets").rglob("klinik.csv")]
    assert len(copies) == 1 and copies[0].read_text(encoding="utf-8") == MESSY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["klinik.csv", "work"]
