"""The usage page in headless Chromium, under nginx's real Content-Security-Policy: the chart is drawn with
the stylesheet's classes (no inline style to block), the browser reports no CSP violation, and each bar's
<title> is there for hover. Screenshot in test-output/browser/."""
import re

from selenium.webdriver.common.by import By

from conftest import PASSWORD, sql, unique_email
from test_browser import Steps, make_driver
from test_usage import MONTH, gen, project, video


def test_usage_chart_renders_under_the_csp(tmp_path):
    # Without JavaScript, keeping the console (CSP violations land there).
    driver = make_driver(javascript=False, downloads=str(tmp_path), console_log=True)
    s = Steps(driver, "usage")
    try:
        email = unique_email("browser-usage")
        s.go("/signup")
        s.fill("email", email)
        s.fill("password", PASSWORD)
        s.click("Sign up")
        s.fill("email", email)  # sign-up never signs in: log in
        s.fill("password", PASSWORD)
        s.click("Log in")
        uid = int(sql(f"SELECT id FROM users WHERE email = '{email}'"))
        # Rows straight into the database (the web cannot make past clicks); a token only to create the video.
        s.go("/account")
        s.fill("name", "usage")
        s.click("Create token")
        token = re.search(r"pr_[A-Za-z0-9_-]{43}", driver.page_source).group(0)
        v = video(token, project(token, "Chart"))
        for day, cost in (("03", "0.40"), ("09", "1.20"), ("17", "2.40"), ("28", "0.80")):
            gen(uid, v, f"2024-02-{day} 12:00:00+00", actual=cost, seconds=60)
        gen(uid, v, "2024-02-17 13:00:00+00", status="failed", estimated="0.80", actual="0.80", possibly=True, code="timeout")
        s.go("/nope")  # the console is really read: a 404 is logged
        assert any("404" in entry["message"] for entry in driver.get_log("browser"))
        s.go("/dashboard")
        s.click("Usage")
        assert driver.current_url.endswith("/usage")
        s.go(f"/usage?from={MONTH[0]}&to={MONTH[1]}")
        s.click("Show")  # the GET form keeps the range
        assert driver.current_url.endswith(f"/usage?from={MONTH[0]}&to={MONTH[1]}"), driver.current_url
        s.shot("chart")
        bars = driver.find_elements(By.CSS_SELECTOR, "svg.usage-chart rect.bar")
        assert len(bars) == 29
        # The stylesheet reached the SVG: the bars are filled with the accent colour, not the default black.
        fill = bars[16].value_of_css_property("fill")
        assert fill not in ("rgb(0, 0, 0)", "black", ""), fill
        assert bars[16].size["height"] > bars[8].size["height"] > bars[2].size["height"] > 0
        possibly = driver.find_elements(By.CSS_SELECTOR, "svg.usage-chart rect.bar-possibly")
        assert len(possibly) == 1 and possibly[0].value_of_css_property("fill") != fill
        titles = [t.get_attribute("textContent") for t in driver.find_elements(By.CSS_SELECTOR, "svg.usage-chart g.day > title")]
        assert titles[16] == "2024-02-17: $3.20, $0.80 possibly billed, 2 items"
        violations = [entry for entry in driver.get_log("browser") if "Content Security Policy" in entry["message"]]
        assert violations == []
    finally:
        driver.quit()
