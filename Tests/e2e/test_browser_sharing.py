"""Sharing in Debian's real Chromium, axe-core checking every page (see make_driver): an owner invites a viewer on
the members page, the viewer accepts on the dashboard and walks the project (no edit controls anywhere), then an
editor accepts and edits a video. Screenshots go to test-output/browser/ (sharing-…)."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import PASSWORD, Browser, api
from test_browser import Steps, make_driver


def log_in(s, email):
    s.d.delete_all_cookies()
    s.go("/login")
    s.fill("email", email)
    s.fill("password", PASSWORD)
    s.click("Log in")


def test_members_walk_a_shared_project_in_chromium(tmp_path):
    owner = Browser()
    owner_email = owner.signup()
    token = owner.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Harbour film"}).json()["id"]
    video = api("POST", f"/api/projects/{project}/videos", token,
                json={"title": "Boats at dawn", "brief": "fog", "final_prompt": "Fishing boats leave a foggy harbour"}).json()["id"]
    viewer_email, editor_email = Browser().signup(), Browser().signup()
    api("POST", f"/api/projects/{project}/members", token, json={"email": editor_email, "role": "editor"})

    driver = make_driver(False, str(tmp_path))
    s = Steps(driver, "sharing")
    try:
        log_in(s, owner_email)
        s.go(f"/dashboard/projects/{project}")
        s.click("Members")
        s.fill("email", viewer_email)
        Select(driver.find_element(By.ID, "invite-role")).select_by_value("viewer")
        s.click("Invite")
        assert f"Invitation mailed to {viewer_email} as viewer" in s.text()
        assert viewer_email in s.text() and editor_email in s.text()  # both pending
        s.shot("members-owner")

        log_in(s, viewer_email)
        assert "Harbour film as viewer" in s.text()
        s.shot("dashboard-invitation")
        s.click("Accept")
        assert "Your role: viewer" in s.text() and "New video" not in s.text()
        s.click("Boats at dawn")
        assert "You are a viewer" in s.text() and "Edit" not in [a.text for a in driver.find_elements(By.TAG_NAME, "a")]
        assert not driver.find_elements(By.CSS_SELECTOR, "form[method=post][action$='/roundtables']")
        s.shot("video-viewer")
        s.go(f"/dashboard/projects/{project}/storyboard")
        assert "Generate shots" not in s.text() and "Make the film" not in s.text()
        s.go(f"/dashboard/projects/{project}/members")
        assert "Invite someone" not in s.text() and "Leave the project" in s.text()
        s.go("/dashboard")
        assert "Shared with you" in s.text() and "Harbour film" in s.text()

        log_in(s, editor_email)
        s.click("Accept")
        assert "Your role: editor" in s.text()
        s.go(f"/dashboard/videos/{video}")
        s.click("Edit")
        s.fill("brief", "fog, gulls")
        s.click("Save")
        assert "Saved." in s.text() and "fog, gulls" in s.text()
        s.shot("video-editor")
        assert len(driver.checked_urls) >= 9, driver.checked_urls
    finally:
        driver.quit()
