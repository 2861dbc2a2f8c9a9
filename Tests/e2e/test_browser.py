"""The whole save-then-generate flow in Debian's real Chromium (headless, via chromedriver), once with
JavaScript and once without: PromptReel's pages use none. Screenshots go to test-output/browser/.

Every browser test's driver comes from `make_driver`: it runs axe-core (shipped by PyPI's
axe-selenium-python) on every page the test looks at and fails on any violation, except `meta-refresh` on
a page that offers "Stop updating"."""
import json
import os
import re
import time

import axe_selenium_python
import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from conftest import BASE, PASSWORD, ROOT_DIR, unique_email, wait_until

OUT = os.path.join(ROOT_DIR, "test-output", "browser")
FIXTURE = open(os.path.join(ROOT_DIR, "Sources/promptreel-sim/Fixtures/video.mp4"), "rb").read()


AXE_SOURCE = open(os.path.join(os.path.dirname(axe_selenium_python.__file__), "node_modules", "axe-core", "axe.min.js"),
                  encoding="utf-8").read()
# With the page's JavaScript turned off Chromium runs no timers, and axe-core waits on setTimeout: there
# (only there) the check gets one that runs its callback as a microtask.
TIMERS_AS_MICROTASKS = "window.setTimeout = (f, ms, ...args) => { Promise.resolve().then(() => f(...args)); return 0; };"
# Run only on the document the check looked at, fully loaded (a meta refresh may have replaced it since).
AXE_RUN = """
String(performance.timeOrigin) !== ORIGIN || document.readyState !== 'complete' ? null : axe.run(document).then(r => JSON.stringify({
  stopLink: Array.from(document.querySelectorAll('a')).some(a => a.textContent.trim() === 'Stop updating' && /[?&]refresh=off\\b/.test(a.search)),
  violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\\s+/g, ' '))}))
}))
"""


class AccessibilityViolations(BaseException):
    """axe-core found violations. A BaseException, so the helpers that retry a read while a meta refresh
    reloads the page (`except Exception`) cannot swallow it."""


class CheckedChrome(webdriver.Chrome):
    """Chromium that runs axe-core on every page a test looks at: after each command that navigates, clicks or
    reads the page, a document not checked yet (one `performance.timeOrigin` per document, so a page reached
    by its own meta refresh counts as new) is checked once it has loaded. Only HTML documents: a downloaded
    MP4 or an image opened alone is Chromium's viewer, not a PromptReel page."""

    LOOKS = {"get", "refresh", "goBack", "goForward", "clickElement", "findElement", "findElements",
             "findChildElement", "findChildElements", "getPageSource", "getTitle", "getCurrentUrl"}

    def __init__(self, *args, javascript=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.javascript = javascript
        self.checked = set()   # timeOrigins of the documents checked
        self.checked_urls = []  # what was checked, in order (tests assert the check really ran)
        self._checking = False

    def execute(self, driver_command, params=None):
        response = super().execute(driver_command, params)
        if driver_command in self.LOOKS and not self._checking:
            self._checking = True
            try:
                self.check_accessibility()
            finally:
                self._checking = False
        return response

    def quit(self):
        if os.environ.get("AXE_DEBUG"):
            print(f"\naxe-core checked {len(self.checked_urls)} pages:", *self.checked_urls, sep="\n  ")
        super().quit()

    def evaluate(self, expression, wait=False):
        """The value of `expression` in the page through DevTools, or None when the page went away meanwhile.
        An error thrown in the page (axe-core failing to run) fails the test: a check that did not run must
        not pass."""
        try:
            answer = self.execute_cdp_cmd("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                               "awaitPromise": wait})
        except WebDriverException:
            return None
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise AccessibilityViolations(f"axe-core did not run: {details.get('exception', {}).get('description') or details.get('text')}")
        return answer["result"].get("value")

    def check_accessibility(self):
        state = self.evaluate("[String(performance.timeOrigin), document.readyState, document.contentType, location.href]")
        if state is None:
            return
        origin, ready, content_type, url = state
        if origin in self.checked or ready != "complete" or content_type != "text/html":
            return
        setup = "" if self.javascript else TIMERS_AS_MICROTASKS
        run = AXE_RUN.replace("ORIGIN", json.dumps(origin))
        answer = self.evaluate(f"{setup}\n{AXE_SOURCE}\n;{run}", wait=True)
        if answer is None:
            return  # navigated away while checking: the next document is checked instead
        result = json.loads(answer)
        self.checked.add(origin)
        self.checked_urls.append(url)
        # The refresh is the design; WCAG 2.2.1 is met where the page offers to stop it.
        violations = [v for v in result["violations"] if not (v["id"] == "meta-refresh" and result["stopLink"])]
        if violations:
            lines = [f"axe-core: {len(violations)} violation(s) on {url}"]
            for v in violations:
                lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
                lines.extend(f"    {node}" for node in v["nodes"][:5])
            raise AccessibilityViolations("\n".join(lines))


def make_driver(javascript, downloads, console_log=False):
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(arg)
    options.binary_location = "/usr/bin/chromium"
    prefs = {"download.default_directory": downloads, "download.prompt_for_download": False}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = CheckedChrome(service=Service("/usr/bin/chromedriver"), options=options, javascript=javascript)
    # Headless Chromium downloads only where told to.
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    return driver


def gone(element):
    """True once the page that held `element` has been replaced (any error about it means so)."""
    try:
        element.is_enabled()
        return False
    except Exception:
        return True


class Steps:
    def __init__(self, driver, tag):
        self.d = driver
        self.tag = tag
        self.n = 0
        os.makedirs(OUT, exist_ok=True)

    def shot(self, name):
        self.n += 1
        path = os.path.join(OUT, f"{self.tag}-{self.n:02d}-{name}.png")
        self.d.save_screenshot(path)
        return path

    def go(self, path):
        self.d.get(BASE + path)

    def fill(self, name, value):
        field = self.d.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)

    def click(self, text, navigates=True):
        """Clicks the first button (else link) whose text starts with `text`, as a person would, and
        waits for the next page to replace this one."""
        old = self.d.find_element(By.TAG_NAME, "html")
        for el in self.d.find_elements(By.TAG_NAME, "button") + self.d.find_elements(By.TAG_NAME, "a"):
            if el.text.strip().startswith(text):
                el.click()
                if navigates:
                    WebDriverWait(self.d, 15).until(lambda d: gone(old))
                    WebDriverWait(self.d, 15).until(lambda d: d.execute_cdp_cmd(
                        "Runtime.evaluate", {"expression": "document.readyState"})["result"]["value"] == "complete")
                return
        raise AssertionError(f"no button or link starting with {text!r} on {self.d.current_url}")

    def sign_up(self, tag):
        """Signs up a new account and logs in (sign-up never signs in); returns its email."""
        self.go("/signup")
        email = unique_email(tag)
        for step in ("Sign up", "Log in"):
            self.fill("email", email)
            self.fill("password", PASSWORD)
            self.click(step)
        return email

    def text(self):
        """The page's text; retried while a meta refresh is reloading the page."""
        def read():
            try:
                return self.d.find_element(By.TAG_NAME, "body").text
            except Exception:
                return None
        return wait_until(read, timeout=10, interval=0.1, what="the page")


def run_flow(javascript, tmp_path):
    tag = "js" if javascript else "nojs"
    downloads = str(tmp_path / "downloads")
    os.makedirs(downloads, exist_ok=True)
    driver = make_driver(javascript, downloads)
    s = Steps(driver, tag)
    try:
        # Sign up, create a project, save a video.
        s.go("/signup")
        s.shot("signup")
        email = unique_email("browser")
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Sign up")
        s.fill("email", email)  # sign-up never signs in: log in
        s.fill("password", PASSWORD)
        s.click("Log in")
        assert "/dashboard" in driver.current_url, s.text()
        assert "Simulator: videos come from PromptReel's built-in simulator" in s.text()
        s.fill("name", "Launch campaign")
        s.click("Create project")
        s.shot("project")
        s.click("New video")
        s.fill("title", "Harbour at dawn")
        s.fill("brief", "Opening shot for the launch film")
        s.fill("final_prompt", "Slow aerial shot over a misty harbour at dawn [sim:seconds=2]")
        s.shot("new-video")
        s.click("Save")
        assert "Video saved." in s.text()
        s.shot("saved-video")

        # Brief → roundtable → review the proposal → use it (it becomes the final prompt).
        s.click("Draft the prompt with the roundtable")
        assert "/dashboard/roundtables/" in driver.current_url
        s.shot("roundtable-meeting")
        wait_until(lambda: "Proposal ready" in s.text(), timeout=60, interval=0.5, what="the proposal")
        assert "Use this prompt" in s.text() and "What changes" in s.text()
        s.shot("roundtable-proposal")
        s.click("Use this prompt")
        assert "The final prompt is updated" in s.text() and "Prompt versions" in s.text()
        s.shot("prompt-accepted")

        # Settings: change the model, Review, see the estimate change.
        s.click("Generate with Sora")
        assert "/generate" in driver.current_url
        settings_path = driver.current_url.replace(BASE, "")
        s.shot("settings")
        first = re.search(r"Generate video \(\$(\d+\.\d\d)\)", s.text()).group(1)
        assert first == "0.40"
        Select(driver.find_element(By.NAME, "model")).select_by_value("sora-2-pro")
        Select(driver.find_element(By.NAME, "duration")).select_by_value("8")
        s.click("Review")
        second = re.search(r"Generate video \(\$(\d+\.\d\d)\)", s.text()).group(1)
        assert second == "2.40" and second != first
        assert "8 s × $0.30/s = $2.40" in s.text()
        s.shot("reviewed")

        # Confirm: the progress page refreshes itself (meta refresh) until the video is ready.
        s.click("Generate video ($2.40)")
        assert "/dashboard/generations/" in driver.current_url
        assert driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        assert "You can leave this page" in s.text()
        s.shot("progress")
        wait_until(lambda: driver.find_elements(By.TAG_NAME, "video"), timeout=60, interval=0.5, what="the player")
        completed_path = driver.current_url.replace(BASE, "")
        assert not driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        assert "$2.40" in s.text() and "sora-2-pro · 8 s · 16:9 · 720p" in s.text()
        video = driver.find_element(By.TAG_NAME, "video")
        assert video.get_attribute("poster").endswith("/thumbnail.webp")
        if javascript:
            duration = wait_until(lambda: driver.execute_script(
                "const v = document.querySelector('video'); return v.readyState >= 1 ? v.duration : 0;"),
                timeout=20, what="video metadata")
            assert duration > 0
        s.shot("completed")

        # Download: the file equals the simulator's fixture.
        s.click("Download video", navigates=False)
        path = wait_until(lambda: next((os.path.join(downloads, f) for f in os.listdir(downloads)
                                         if f.endswith(".mp4")), None), timeout=30, what="the download")
        wait_until(lambda: open(path, "rb").read() == FIXTURE, timeout=10, what="the complete download")
        # Chromium prefers the exact UTF-8 title (filename*); others get the ASCII fallback.
        assert os.path.basename(path).startswith(("Harbour at dawn-", "Harbour_at_dawn-"))

        # A job that fails, and Retry with the same settings.
        s.go("/dashboard")
        s.click("Launch campaign")
        s.click("New video")
        s.fill("title", "Forbidden")
        s.fill("final_prompt", "Something the policy blocks [sim:fail=moderation_blocked][sim:seconds=1]")
        s.click("Save")
        s.click("Generate with Sora")
        s.click("Generate video ($0.40)")
        wait_until(lambda: "This generation failed." in s.text(), timeout=60, interval=0.5, what="the failure")
        assert "content policy" in s.text()
        s.shot("failed")
        s.click("Retry")
        assert Select(driver.find_element(By.NAME, "model")).first_selected_option.get_attribute("value") == "sora-2"
        assert "Generate video ($0.40)" in s.text()
        s.shot("retry-settings")

        # History on the video page; the project shows latest status; the dashboard shows spend.
        s.go("/dashboard")
        assert re.search(r"Spent this month: \$\d+\.\d\d", s.text())
        s.click("Launch campaign")
        assert "Completed" in s.text() and "Failed" in s.text()
        s.shot("project-statuses")

        # axe-core really checked the pages of this flow (the progress page among them, beside its stop link).
        assert len(set(driver.checked_urls)) >= 12 and BASE + completed_path in driver.checked_urls, driver.checked_urls

        # Readable on a phone: no sideways scrolling on the busiest pages.
        driver.set_window_size(390, 844)
        for name, path in (("phone-settings", settings_path), ("phone-completed", completed_path)):
            s.go(path)
            assert driver.execute_cdp_cmd("Runtime.evaluate", {
                "expression": "document.documentElement.scrollWidth <= window.innerWidth"})["result"]["value"] is True, name
            s.shot(name)
    finally:
        driver.quit()


def test_flow_in_chromium(worker, tmp_path):
    run_flow(javascript=True, tmp_path=tmp_path)


def test_flow_without_javascript(worker, tmp_path):
    run_flow(javascript=False, tmp_path=tmp_path)
