"""Image-to-video in Debian's real Chromium, with and without JavaScript: upload a reference image with the
video page's plain multipart form (a bad file first), pick the fit on the settings page and see the
fitted frame's preview, generate, and find the frame the take started from. Screenshots go to
test-output/browser/ (image-js-…, image-nojs-…)."""
import io

from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import PASSWORD, unique_email, wait_until
from test_browser import Steps, make_driver


def loaded_width(driver, selector):
    """The decoded width of an image on the page (0 until it loaded), read through DevTools, so it works
    with the page's JavaScript turned off too."""
    expression = f"(() => {{ const i = document.querySelector({selector!r}); return i && i.complete ? i.naturalWidth : 0; }})()"
    return driver.execute_cdp_cmd("Runtime.evaluate", {"expression": expression})["result"]["value"]


def run_image_flow(javascript, tmp_path):
    tag = "image-js" if javascript else "image-nojs"
    driver = make_driver(javascript, str(tmp_path))
    s = Steps(driver, tag)
    picture = tmp_path / "harbour.png"
    Image.new("RGB", (900, 900), (30, 110, 200)).save(picture)
    not_a_picture = tmp_path / "notes.png"
    not_a_picture.write_bytes(b"just some text, named like a picture")
    try:
        s.go("/signup")
        email = unique_email("browser-image")
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Sign up")
        s.fill("email", email)  # sign-up never signs in: log in
        s.fill("password", PASSWORD)
        s.click("Log in")
        s.fill("name", "Stills")
        s.click("Create project")
        s.click("New video")
        s.fill("title", "Harbour from a still")
        s.fill("final_prompt", "The still comes alive: boats drift out [sim:seconds=1]")
        s.click("Save")
        assert "No reference image" in s.text()
        s.shot("video-without-image")

        # A file that only looks like a picture by its name: refused, with the reason on the page.
        driver.find_element(By.NAME, "image").send_keys(str(not_a_picture))
        s.click("Upload image")
        assert "not a JPEG, PNG or WebP" in s.text()
        s.shot("bad-image-refused")

        driver.find_element(By.NAME, "image").send_keys(str(picture))
        s.click("Upload image")
        assert "Reference image saved." in s.text() and "PNG, 900×900" in s.text()
        wait_until(lambda: loaded_width(driver, "figure.reference img") == 900, timeout=10, what="the uploaded image")
        s.shot("video-with-image")

        # Settings: letterbox, Review, and the preview shows the frame fitted to 1280x720.
        s.click("Generate with Sora")
        Select(driver.find_element(By.NAME, "image_fit")).select_by_value("letterbox")
        s.click("Review")
        assert "letterboxed" in s.text() and "fitted to 1280x720" in s.text()
        wait_until(lambda: loaded_width(driver, "figure.reference img") == 320, timeout=10, what="the fitted preview")
        driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "document.querySelector('figure.reference').scrollIntoView()"})
        s.shot("settings-letterbox-preview")

        s.click("Generate video ($0.40)")
        wait_until(lambda: driver.find_elements(By.TAG_NAME, "video"), timeout=60, interval=0.5, what="the player")
        assert "Started from" in s.text() and "letterbox" in s.text()
        wait_until(lambda: loaded_width(driver, "img.reference-frame") == 1280, timeout=10, what="the fitted frame")
        driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "document.querySelector('img.reference-frame').scrollIntoView()"})
        s.shot("completed-from-image")
        s.click("Harbour from a still")
        assert "from an image (letterbox)" in s.text()
        s.shot("history-from-image")
    finally:
        driver.quit()


def test_image_upload_in_chromium(worker, tmp_path):
    run_image_flow(javascript=True, tmp_path=tmp_path)


def test_image_upload_without_javascript(worker, tmp_path):
    run_image_flow(javascript=False, tmp_path=tmp_path)
