"""The interactive backward walk (``BackwardStepper.to_html``) in a real browser: headless Chromium
driven by Selenium opens the self-contained page, presses the arrow keys and the buttons, and reads
the highlighted node, the chain-rule text and the console log."""
import os
import re
import shutil
import sys
import tempfile

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import autograd_lite as ag

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import backprop_by_hand as course  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser():
    profile = tempfile.mkdtemp(prefix="agw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", f"--user-data-dir={profile}", "--window-size=1600,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def course_stepper(lang=None):
    x = course.named(ag.Tensor(np.array(course.X)), "x")
    y = course.named(ag.Tensor(np.array(course.Y)), "y")
    params = course.make_parameters()
    with ag.retain_grads():
        values = course.forward(x, y, params)
    return ag.BackwardStepper(values["loss"], lang=lang)


def highlighted_node(driver):
    """The title of the graph node drawn in the highlight colour in the visible frame."""
    frame = driver.find_element(By.CSS_SELECTOR, ".frame.current")
    hits = []
    for node in frame.find_elements(By.CSS_SELECTOR, "g.node"):
        shapes = node.find_elements(By.CSS_SELECTOR, "path, polygon")
        if any((s.get_attribute("stroke") or "").lower() == "#e74c3c"
               and s.get_attribute("stroke-width") == "3.5" for s in shapes):
            hits.append(node.find_element(By.TAG_NAME, "title").get_attribute("textContent"))
    return frame.get_attribute("data-node"), hits


def state(driver):
    root = driver.find_element(By.CSS_SELECTOR, ".agw")
    return (int(root.get_attribute("data-step")),
            driver.find_element(By.CSS_SELECTOR, ".counter").text,
            driver.find_element(By.CSS_SELECTOR, ".node-name").text,
            driver.find_element(By.CSS_SELECTOR, ".lines").text)


def test_walk_in_chromium(browser, tmp_path):
    stepper = course_stepper()
    path = tmp_path / "walk.html"
    html = stepper.to_html(str(path))
    # nothing fetched: every script and style is inline (xmlns URIs are names, not fetched)
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//|<link|@import", html)
    steps = stepper.steps
    ops = {op.key: op.title for op in stepper.items.ops}
    browser.get(path.as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    step, counter, node, lines = state(browser)
    assert (step, counter, node) == (0, f"0 / {stepper.total}", "L")
    assert lines == "before backward: dL/dL = 1"
    frames = browser.find_elements(By.CSS_SELECTOR, ".frame")
    assert len(frames) == len(steps) + 1
    first_box = frames[0].rect
    for expected in range(1, 6):  # the arrow key walks forward one node at a time
        body.send_keys(Keys.ARROW_RIGHT)
        step, counter, node, lines = state(browser)
        current = steps[expected - 1]
        assert step == expected and counter == f"{expected} / {stepper.total}"
        assert node == current.op.title
        assert lines.split("\n") == current.lines
        key, hits = highlighted_node(browser)
        assert key == current.op.key and hits == [key] and ops[key] == current.op.title
        assert browser.find_element(By.CSS_SELECTOR, ".frame.current").rect == first_box
    # step 5 is the sigmoid: the line names its derivative and carries the engine's numbers
    assert steps[4].op.title == "Sigmoid"
    assert "dL/dnet_o = dL/do * sigmoid'(net_o)" in lines and "-0.146" in lines
    body.send_keys(Keys.ARROW_LEFT)
    body.send_keys(Keys.ARROW_LEFT)
    assert state(browser)[0] == 3 and highlighted_node(browser)[1] == [steps[2].op.key]
    browser.find_element(By.CSS_SELECTOR, "button.next").click()
    assert state(browser)[0] == 4
    body.send_keys(Keys.END)
    step, counter, node, lines = state(browser)
    assert step == len(steps) and "dL/dW1" in lines
    assert browser.find_element(By.CSS_SELECTOR, "button.next").get_attribute("disabled")
    body.send_keys(Keys.ARROW_RIGHT)  # stays on the last step
    assert state(browser)[0] == len(steps)
    errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []


def test_walk_in_spanish_in_chromium(browser, tmp_path):
    stepper = course_stepper(lang="es")
    path = tmp_path / "paso.html"
    stepper.to_html(str(path))
    browser.get(path.as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    assert browser.find_element(By.CSS_SELECTOR, "button.next").text.startswith("Siguiente")
    assert state(browser)[3] == "antes de backward: dL/dL = 1"
    body.send_keys(Keys.ARROW_RIGHT)
    body.send_keys(Keys.ARROW_RIGHT)
    step, counter, node, lines = state(browser)
    assert (step, node) == (2, "Sum") and "difundido a (3,)" in lines
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
