"""Takes and remix in Debian's real Chromium, once with JavaScript and once without (PromptReel's pages
use none): three takes from one click side by side, each played and downloaded; a remix with a new
prompt; and an expired original whose Remix says why and offers Generate again. Screenshots go to
test-output/browser/."""
import os
import re
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import BASE, PASSWORD, unique_email, wait_until
from test_browser import FIXTURE, Steps, make_driver


def run_takes_flow(javascript, tmp_path):
    tag = "takes-js" if javascript else "takes-nojs"
    downloads = str(tmp_path / "downloads")
    os.makedirs(downloads, exist_ok=True)
    driver = make_driver(javascript, downloads)
    s = Steps(driver, tag)
    try:
        s.go("/signup")
        email = unique_email("takes")
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Sign up")
        s.fill("email", email)  # sign-up never signs in: log in
        s.fill("password", PASSWORD)
        s.click("Log in")
        s.fill("name", "Takes")
        s.click("Create project")
        s.click("New video")
        s.fill("title", "Kite festival")
        s.fill("final_prompt", "Kites over a beach at noon [sim:seconds=2]")
        s.click("Save")

        # Settings: three takes; the confirm button names the total.
        s.click("Generate with Sora")
        Select(driver.find_element(By.NAME, "takes")).select_by_value("3")
        s.click("Review")
        assert "3 takes × $0.40 = $1.20" in s.text()
        s.shot("settings-3-takes")
        s.click("Generate 3 takes ($1.20)")
        assert driver.current_url.endswith("/takes"), driver.current_url
        assert driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        s.shot("takes-running")

        # The three takes finish side by side: each plays and downloads.
        wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "li.take video")) == 3, timeout=60, interval=0.5,
                   what="three players")
        assert not driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        cards = driver.find_elements(By.CSS_SELECTOR, "li.take")
        assert len(cards) == 3 and "Latest: 3 takes · $1.20" in s.text()
        tops = [c.location["y"] for c in cards]
        lefts = [c.location["x"] for c in cards]
        assert tops[0] == tops[1] and lefts[0] < lefts[1], (tops, lefts)  # side by side, not stacked
        if javascript:
            # Takes load nothing until played (preload="none"): ask the second one for its metadata.
            driver.execute_script("const v = document.querySelectorAll('li.take video')[1]; v.preload = 'metadata'; v.load();")
            duration = wait_until(lambda: driver.execute_script(
                "const v = document.querySelectorAll('li.take video')[1]; return v.readyState >= 1 ? v.duration : 0;"),
                timeout=20, what="the second take's metadata")
            assert duration > 0
        s.shot("takes-done")
        sources = {v.get_attribute("src") for v in driver.find_elements(By.CSS_SELECTOR, "li.take video")}
        assert len(sources) == 3
        driver.find_elements(By.CSS_SELECTOR, "li.take a[download]")[2].click()
        path = wait_until(lambda: next((os.path.join(downloads, f) for f in os.listdir(downloads) if f.endswith(".mp4")), None),
                          timeout=30, what="the download")
        wait_until(lambda: open(path, "rb").read() == FIXTURE, timeout=10, what="the complete download")

        # The video page shows the same takes.
        s.click("Kite festival")
        assert len(driver.find_elements(By.CSS_SELECTOR, "li.take video")) == 3
        s.shot("video-page-takes")

        # Remix the first take with a new prompt.
        driver.find_elements(By.CSS_SELECTOR, "li.take a[href$='/remix']")[0].click()
        wait_until(lambda: "/remix" in driver.current_url and "Remix (" in s.text(), timeout=15, what="the remix page")
        assert "Remix ($0.40)" in s.text()
        s.fill("prompt", "The same kites at sunset [sim:seconds=1]")
        s.shot("remix-form")
        s.click("Remix ($0.40)")
        assert re.search(r"/dashboard/generations/\d+$", driver.current_url)
        wait_until(lambda: driver.find_elements(By.TAG_NAME, "video"), timeout=60, interval=0.5, what="the remix's player")
        assert "Remix of" in s.text() and "$0.40" in s.text()
        s.shot("remix-done")

        # An original the provider no longer keeps: Remix says why and offers Generate again.
        s.click("Takes")
        s.click("New video")
        s.fill("title", "Short-lived")
        s.fill("final_prompt", "Gone soon [sim:seconds=1][sim:expires=2]")
        s.click("Save")
        s.click("Generate with Sora")
        s.click("Generate video ($0.40)")
        wait_until(lambda: driver.find_elements(By.TAG_NAME, "video"), timeout=60, interval=0.5, what="the player")
        assert "Remix" in s.text()
        time.sleep(3)
        s.go(driver.current_url.replace(BASE, ""))
        assert "Remix unavailable" in s.text() and "can no longer remix it" in s.text()
        s.shot("remix-expired")
        s.go(driver.current_url.replace(BASE, "") + "/remix")
        assert "Remix unavailable" in s.text()
        s.shot("remix-expired-form")
        s.click("Generate again")
        assert "/generate?" in driver.current_url and "Generate video ($0.40)" in s.text()
        s.shot("generate-again")
    finally:
        driver.quit()


def test_takes_and_remix_in_chromium(worker, tmp_path):
    run_takes_flow(javascript=True, tmp_path=tmp_path)


def test_takes_and_remix_without_javascript(worker, tmp_path):
    run_takes_flow(javascript=False, tmp_path=tmp_path)
