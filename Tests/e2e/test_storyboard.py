"""Issue 23, part 1, through nginx: a project's videos are shots in an order the user controls (API and plain
forms), and each shot has a chosen take (by default the latest completed one)."""
import re

from conftest import Browser, api
from test_generations import generate, wait_status
from test_pages_valid import assert_valid


def project_with_shots(titles):
    b = Browser()
    b.signup()
    token = b.create_token()
    project = api("POST", "/api/projects", token, json={"name": "Storyboard"}).json()["id"]
    ids = [api("POST", f"/api/projects/{project}/videos", token,
               json={"title": t, "final_prompt": f"{t} at dawn [sim:seconds=1]"}).json()["id"] for t in titles]
    return b, token, project, ids


def order(token, project):
    videos = api("GET", f"/api/projects/{project}/videos", token).json()["data"]
    return [v["title"] for v in sorted(videos, key=lambda v: v["position"])]


def test_shots_are_ordered_by_api_and_forms():
    b, token, project, (a, bb, c, d) = project_with_shots(["a", "b", "c", "d"])
    assert order(token, project) == ["a", "b", "c", "d"]
    r = api("PATCH", f"/api/videos/{d}", token, json={"position": 1})
    assert r.status_code == 200 and r.json()["position"] == 1, r.text
    assert order(token, project) == ["d", "a", "b", "c"]
    for bad in [0, 5, -1, "2", 2.5, None]:
        r = api("PATCH", f"/api/videos/{a}", token, json={"position": bad})
        assert r.status_code == 422 and r.json()["error"]["message"].startswith("position"), (bad, r.text)
    # Someone else's shot is a 404.
    other = Browser()
    other.signup()
    assert api("PATCH", f"/api/videos/{a}", other.create_token(), json={"position": 1}).status_code == 404
    # The project page: the storyboard in order, moved with plain forms.
    page = b.get(f"/dashboard/projects/{project}/storyboard")
    assert_valid(page.text, "the storyboard")
    assert re.search(r'id="storyboard".*?>d<.*?>a<.*?>b<.*?>c<', page.text, re.S)
    r = b.post(f"/dashboard/videos/{c}/move", {"position": "1"})
    assert r.status_code == 200 and "is now shot 1" in r.text and r.url.endswith("/storyboard")
    assert order(token, project) == ["c", "d", "a", "b"]
    r = b.post(f"/dashboard/videos/{c}/move", {"position": "9"})
    assert r.status_code == 422
    # Deleting a shot closes its place; a new one goes last.
    assert api("DELETE", f"/api/videos/{d}", token).status_code == 204
    e = api("POST", f"/api/projects/{project}/videos", token, json={"title": "e"}).json()
    assert e["position"] == 4 and order(token, project) == ["c", "a", "b", "e"]


def test_the_chosen_take_defaults_to_the_latest_and_can_be_chosen(worker):
    b, token, project, (shot,) = project_with_shots(["kite"])
    assert api("GET", f"/api/videos/{shot}", token).json()["chosenGenerationId"] is None
    takes = []
    for _ in range(2):
        assert generate(token, shot).status_code == 200
        takes.append(wait_status(token, shot, "completed")[0]["generationId"])
    assert api("GET", f"/api/videos/{shot}", token).json()["chosenGenerationId"] == takes[-1]
    r = api("PUT", f"/api/videos/{shot}/chosen-take", token, json={"generationId": takes[0]})
    assert r.status_code == 200 and r.json()["chosenGenerationId"] == takes[0], r.text
    for bad in [{"generationId": 999999999}, {"generationId": "x"}, {}]:
        assert api("PUT", f"/api/videos/{shot}/chosen-take", token, json=bad).status_code == 422, bad
    # On the page: the chosen take says so; another is chosen with a plain form.
    # On the pages: the latest take (not the chosen one) offers "Use in the film"; once used, it says so.
    page = b.get(f"/dashboard/videos/{shot}/takes")
    assert "Use in the film" in page.text and "In the film" not in page.text
    r = b.post(f"/dashboard/videos/{shot}/chosen-take", {"generation_id": str(takes[-1])})
    assert r.status_code == 200 and api("GET", f"/api/videos/{shot}", token).json()["chosenGenerationId"] == takes[-1]
    assert "In the film" in b.get(f"/dashboard/videos/{shot}/takes").text
    board = b.get(f"/dashboard/projects/{project}/storyboard").text
    assert "Running time" in board and "no completed take" not in board
