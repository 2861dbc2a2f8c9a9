"""The account's keys in Debian's real Chromium, axe-core checking every page (see make_driver): a read-only
token made with the scope select, the password changed, the signed-in browsers listed, "Forgot your password?"
asking for a link that arrives by mail (the test SMTP relay), that link opened and used, and the deletion page. Screenshots go to test-output/browser/ (account-…)."""
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import BASE, PASSWORD, sql
from test_browser import Steps, make_driver
from test_mail import reset_link, wait_for_mails

NEW_PASSWORD = "amber-orchard-ferry-42"


def test_account_keys_in_chromium(tmp_path, worker):
    driver = make_driver(False, str(tmp_path))
    s = Steps(driver, "account")
    try:
        email = s.sign_up("account")
        s.go("/account")
        s.fill("name", "Dashboards")
        Select(driver.find_element(By.NAME, "scope")).select_by_value("read")
        s.click("Create token")
        assert "Your new API token" in s.text() and "read only" in s.text()
        assert "this browser" in driver.find_element(By.ID, "sessions").find_element(By.XPATH, "following::table").text
        s.shot("tokens-and-sessions")

        s.fill("current_password", PASSWORD)
        s.fill("new_password", NEW_PASSWORD)
        s.click("Change password")
        assert "Password changed" in s.text()

        s.click("Delete my account")
        assert "cannot be undone" in s.text()
        s.shot("delete")
        s.click("Keep my account")
        s.click("Log out")

        s.click("Forgot your password?")
        assert "We mail a link" in s.text()
        s.shot("forgot")
        sql("DELETE FROM address_attempts WHERE action = 'password_reset'")  # 127.0.0.1's hourly limit
        s.fill("email", email)
        s.click("Mail me a link")
        assert f"If an account uses {email}, a link to choose a new password is on its way" in s.text()
        [(_, message)] = wait_for_mails(email)
        link, _ = reset_link(message)
        assert link.startswith(BASE + "/password-reset?token=")
        driver.get(link)
        assert email in s.text()
        s.shot("reset")
        s.fill("password", PASSWORD)
        s.click("Set the password")
        assert "Your password is set" in s.text()
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Log in")
        assert driver.current_url == BASE + "/dashboard"
        assert len(driver.checked_urls) >= 8, driver.checked_urls
    finally:
        driver.quit()
