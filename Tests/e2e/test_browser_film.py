"""The storyboard to a film in Debian's real Chromium, with JavaScript and without (PromptReel's pages use
none): shots added, generated in one click at the total the button names (each from the last frame of the
shot before), the click's page followed to the end, the film made with crossfades, played and downloaded. axe-core checks every page (make_driver).
Screenshots go to test-output/browser/ (docs/images/ keeps three of them)."""
import os

from selenium.webdriver.common.by import By

from conftest import wait_until
from test_browser import Steps, make_driver


def run_film_flow(javascript, tmp_path):
    tag = "film-js" if javascript else "film-nojs"
    downloads = str(tmp_path / "downloads")
    os.makedirs(downloads, exist_ok=True)
    driver = make_driver(javascript, downloads)
    s = Steps(driver, tag)
    try:
        s.sign_up("film")
        s.fill("name", "Lighthouse")
        s.click("Create project")
        for title, clip in [("Dawn", "640x360@24,audio,1.5"), ("Storm", "640x360@24,audio,1"),
                            ("Calm", "832x480@16,silent,1")]:
            s.click("New video")
            s.fill("title", title)
            s.fill("final_prompt", f"The lighthouse: {title.lower()} [sim:seconds=1] [sim:clip={clip}]")
            s.click("Save")
            s.click("Lighthouse")
        # Generate every shot in one click; the button names the total.
        s.click("Generate shots")
        # Continuity: each shot starts from the last frame of the shot before.
        driver.find_element(By.CSS_SELECTOR, 'input[name="continuity"]').click()
        s.click("Review")
        assert "Generate 3 shots ($1.20)" in s.text(), s.text()
        assert s.text().count("from the last frame of shot") == 2
        s.shot("generate-shots")
        s.click("Generate 3 shots ($1.20)")
        assert "/dashboard/batches/" in driver.current_url
        s.shot("batch-running")
        wait_until(lambda: "All 3 generations have finished" in s.text(), timeout=90, interval=0.5, what="the shots")
        assert not driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')
        s.shot("batch-done")
        s.click("Back to the storyboard")
        assert "Running time" in s.text()
        s.shot("storyboard")
        # The film: crossfades of 500 ms between the chosen takes.
        driver.find_element(By.CSS_SELECTOR, 'input[name="transition"][value="crossfade"]').click()
        s.click("Make the film")
        assert "/dashboard/films/" in driver.current_url
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "main video"), timeout=90, interval=0.5,
                   what="the film's player")
        text = s.text()
        assert "640×360" in text and "shots normalised" in text, text
        if javascript:
            duration = wait_until(lambda: driver.execute_script(
                "const v = document.querySelector('main video'); return v.readyState >= 1 ? v.duration : 0;"),
                timeout=20, what="the film's metadata")
            assert abs(duration - 2.5) < 0.3, duration
        s.shot("film")
        s.click("Download the film", navigates=False)
        path = wait_until(lambda: next((os.path.join(downloads, f) for f in os.listdir(downloads) if f.endswith(".mp4")), None),
                          timeout=30, what="the download")
        assert os.path.basename(path).startswith("Lighthouse-film-")
        wait_until(lambda: open(path, "rb").read(12)[4:8] == b"ftyp", timeout=10, what="the downloaded film")
        # Share it: the link opens a page with the film and nothing of the app.
        s.click("Make a link")
        url = driver.find_element(By.CSS_SELECTOR, "input[readonly]").get_attribute("value")
        s.go(url)
        assert driver.find_elements(By.CSS_SELECTOR, "main video") and not driver.find_elements(By.CSS_SELECTOR, "nav")
        s.shot("shared-film")
    finally:
        driver.quit()


def test_storyboard_to_film_in_chromium(worker, tmp_path):
    run_film_flow(javascript=True, tmp_path=tmp_path)


def test_storyboard_to_film_without_javascript(worker, tmp_path):
    run_film_flow(javascript=False, tmp_path=tmp_path)
