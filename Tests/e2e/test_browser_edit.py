"""Edit, save as new, and delete in Debian's real Chromium, with and without JavaScript (the pages use none): the
history marks the generation made with the earlier prompt, and the delete asks first, saying what goes.
Screenshots go to test-output/browser/."""
import re

import pytest
from selenium.webdriver.common.by import By

from conftest import BASE, PASSWORD, unique_email, wait_until
from test_browser import Steps, make_driver


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_edit_copy_and_delete_in_chromium(worker, tmp_path, javascript):
    driver = make_driver(javascript, str(tmp_path))
    s = Steps(driver, "edit-js" if javascript else "edit-nojs")
    try:
        s.go("/signup")
        email = unique_email("browser-edit")
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Sign up")
        s.fill("email", email)  # sign-up never signs in: log in
        s.fill("password", PASSWORD)
        s.click("Log in")
        s.fill("name", "Harbour films")
        s.click("Create project")
        s.click("New video")
        s.fill("title", "Harbour at dawn")
        s.fill("final_prompt", "Slow aerial shot over a misty harbour [sim:seconds=1]")
        s.click("Save")
        video_path = driver.current_url.replace(BASE, "")

        # One generation with the first prompt.
        s.click("Generate with Sora")
        s.click("Generate video")
        wait_until(lambda: "Download video" in s.text(), timeout=60, interval=0.5, what="the finished video")
        s.go(video_path)

        # Edit the prompt: the past generation keeps (and shows) the prompt it was made with.
        s.click("Edit")
        s.shot("edit-form")
        s.fill("title", "Harbour at night")
        s.fill("final_prompt", "Slow aerial shot over a harbour at night")
        s.click("Save")
        text = s.text()
        assert "Saved." in text and "Harbour at night" in text and "Made with an earlier prompt" in text
        summary = driver.find_element(By.CSS_SELECTOR, "details.earlier-prompt summary")
        summary.click()
        assert "misty harbour" in driver.find_element(By.CSS_SELECTOR, "details.earlier-prompt pre").text
        s.shot("earlier-prompt")

        # Save as new video, then back to the original.
        s.click("Save as new video")
        assert "Harbour at night (copy)" in s.text() and "the original is unchanged" in s.text()
        s.shot("copy")
        s.go(video_path)

        # Delete asks first and says what goes; then the project no longer lists it.
        s.click("Delete…")
        text = s.text()
        assert re.search(r"1 generation, \d+(\.\d)? KB of media", text), text
        s.shot("delete-confirm")
        s.click("Delete this video")
        text = s.text()
        assert "Deleted “Harbour at night”: 1 generation" in text and "What it cost stays in your spend" in text
        assert "Harbour at night (copy)" in text
        s.shot("deleted")
        s.go(video_path)
        assert "Not Found" in s.text()
    finally:
        driver.quit()
