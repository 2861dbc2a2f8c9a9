"""Pages that refresh themselves, in Debian's real Chromium: a running generation's page keeps its meta
refresh, offers "Stop updating" (the same page without the refresh, with "Check again"), and holds its
changing text in one role="status" region; the account preference "Refresh pages automatically" turns the
refresh off on every such page. axe-core checks each page (see make_driver), and the check itself is
shown to fail on a page with a violation. Screenshots go to test-output/browser/ (refresh-…)."""
import time

import pytest
from selenium.webdriver.common.by import By

from conftest import BASE, PASSWORD, unique_email
from test_browser import AccessibilityViolations, Steps, make_driver


def document_id(driver):
    """Changes whenever the page is loaded again (by a meta refresh, a link or a form)."""
    return driver.execute_cdp_cmd("Runtime.evaluate", {"expression": "String(performance.timeOrigin)",
                                                       "returnByValue": True})["result"]["value"]


def refresh_meta(driver):
    return [m.get_attribute("content") for m in driver.find_elements(By.CSS_SELECTOR, 'meta[http-equiv="refresh"]')]


def status_regions(driver):
    return driver.find_elements(By.CSS_SELECTOR, '[role="status"]')


def start_generation(s, tag):
    """Signs up and clicks Generate on a new video; with no worker running, the generation stays queued."""
    s.go("/signup")
    email = unique_email(tag)
    s.fill("email", email)
    s.fill("password", PASSWORD)
    s.click("Sign up")
    s.fill("email", email)  # sign-up never signs in: log in
    s.fill("password", PASSWORD)
    s.click("Log in")
    s.fill("name", "Refresh")
    s.click("Create project")
    s.click("New video")
    s.fill("title", "Tide coming in")
    s.fill("final_prompt", "Waves over rocks at dusk [sim:seconds=1]")
    s.click("Save")
    video = s.d.current_url.replace(BASE, "")
    s.click("Generate with Sora")
    s.click("Generate video ($0.40)")
    assert "/dashboard/generations/" in s.d.current_url, s.d.current_url
    return s.d.current_url.replace(BASE, ""), video + "/takes"


@pytest.mark.parametrize("javascript", [False, True], ids=["nojs", "js"])
def test_stop_updating_and_check_again(no_worker, tmp_path, javascript):
    driver = make_driver(javascript, str(tmp_path))
    s = Steps(driver, f"refresh-{'js' if javascript else 'nojs'}")
    try:
        progress, takes = start_generation(s, "refresh")
        # Refreshing itself, with its changing text in the page's one polite status region.
        assert refresh_meta(driver) == ["5"]
        regions = status_regions(driver)
        assert len(regions) == 1 and "Waiting" in regions[0].text and "running for" in regions[0].text, [r.text for r in regions]
        assert "This page updates itself every 5 seconds." in s.text()
        stop = driver.find_element(By.LINK_TEXT, "Stop updating")
        assert stop.get_attribute("href") == BASE + progress + "?refresh=off"
        assert driver.checked_urls[-1] == BASE + progress  # axe-core passed it: meta-refresh is allowed beside the link
        s.shot("refreshing")

        # Stop updating: the same page without the refresh, and Check again.
        s.click("Stop updating")
        assert driver.current_url == BASE + progress + "?refresh=off"
        assert refresh_meta(driver) == []
        assert len(status_regions(driver)) == 1 and "Waiting" in status_regions(driver)[0].text
        assert not driver.find_elements(By.LINK_TEXT, "Stop updating")
        assert driver.find_element(By.XPATH, '//button[normalize-space()="Check again"]')
        assert driver.checked_urls[-1] == BASE + progress + "?refresh=off"
        s.shot("stopped")
        # Really still: the page is the same document after the refresh interval has passed.
        before = document_id(driver)
        time.sleep(6)
        assert document_id(driver) == before

        # Check again loads the page anew and keeps the choice.
        s.click("Check again")
        assert driver.current_url == BASE + progress + "?refresh=off"
        assert document_id(driver) != before
        assert refresh_meta(driver) == [] and driver.find_element(By.XPATH, '//button[normalize-space()="Check again"]')

        # And back to updating automatically.
        s.click("Update automatically again")
        assert driver.current_url == BASE + progress and refresh_meta(driver) == ["5"]

        # The takes page of the same click offers the same.
        s.go(takes)
        assert refresh_meta(driver) == ["5"] and len(status_regions(driver)) == 1
        assert "0 of 1 takes finished, 1 running." in status_regions(driver)[0].text
        s.click("Stop updating")
        assert driver.current_url.endswith("/takes?refresh=off") and refresh_meta(driver) == []
        assert driver.find_element(By.XPATH, '//button[normalize-space()="Check again"]')

        # Cancelled, it no longer runs: no refresh and nothing to stop.
        s.go(progress)
        s.click("Cancel (not sent yet)")
        assert "This generation was cancelled." in s.text()
        assert refresh_meta(driver) == [] and not driver.find_elements(By.LINK_TEXT, "Stop updating")
    finally:
        driver.quit()


def test_account_preference_turns_the_refresh_off(no_worker, tmp_path):
    driver = make_driver(True, str(tmp_path))
    s = Steps(driver, "refresh-preference")
    try:
        progress, takes = start_generation(s, "refresh-pref")
        assert refresh_meta(driver) == ["5"]

        s.go("/account")
        on = driver.find_element(By.CSS_SELECTOR, 'input[name="refresh_pages"][value="on"]')
        off = driver.find_element(By.CSS_SELECTOR, 'input[name="refresh_pages"][value="off"]')
        assert on.is_selected() and not off.is_selected()
        off.click()
        s.shot("account-preference")
        s.click("Save preferences")
        assert driver.current_url == BASE + "/account"
        assert "Pages no longer refresh themselves" in s.text()
        assert driver.find_element(By.CSS_SELECTOR, 'input[name="refresh_pages"][value="off"]').is_selected()

        # Every refreshing page follows it: no meta refresh, Check again instead of Stop updating.
        for path in (progress, takes):
            s.go(path)
            assert refresh_meta(driver) == [], path
            assert "automatic updates are off in your account" in s.text()
            assert not driver.find_elements(By.LINK_TEXT, "Stop updating")
            assert len(status_regions(driver)) == 1
            s.click("Check again")
            assert refresh_meta(driver) == [] and driver.find_element(By.XPATH, '//button[normalize-space()="Check again"]')
        s.go(progress)
        s.shot("preference-off")

        # On again: the progress page refreshes itself again.
        s.go("/account")
        driver.find_element(By.CSS_SELECTOR, 'input[name="refresh_pages"][value="on"]').click()
        s.click("Save preferences")
        assert "refresh themselves again" in s.text()
        s.go(progress)
        assert refresh_meta(driver) == ["5"] and driver.find_element(By.LINK_TEXT, "Stop updating")

        # The account's other pages pass axe-core too.
        s.go("/account/webhooks")
        assert "Add an endpoint" in s.text() and BASE + "/account/webhooks" in driver.checked_urls
    finally:
        driver.quit()


@pytest.mark.parametrize("javascript", [False, True], ids=["nojs", "js"])
def test_the_accessibility_check_fails_on_a_violation(tmp_path, javascript):
    """The check the other browser tests rely on is real: a refreshing page without the stop link, and an
    unlabelled field, each fail it."""
    driver = make_driver(javascript, str(tmp_path))
    try:
        with pytest.raises(AccessibilityViolations, match="meta-refresh"):
            driver.get('data:text/html,<!DOCTYPE html><html lang="en"><head><title>t</title>'
                       '<meta http-equiv="refresh" content="60"></head><body><main><h1>t</h1></main></body></html>')
        with pytest.raises(AccessibilityViolations, match="label"):
            driver.get('data:text/html,<!DOCTYPE html><html lang="en"><head><title>t</title></head>'
                       '<body><main><h1>t</h1><input name="x"></main></body></html>')
        # The same page with its label passes.
        driver.get('data:text/html,<!DOCTYPE html><html lang="en"><head><title>t</title></head>'
                   '<body><main><h1>t</h1><label for="x">X</label><input id="x" name="x"></main></body></html>')
        assert len(driver.checked_urls) == 3
    finally:
        driver.quit()
