"""Drives the trace viewer (/_vpcgate/ui) with the keyboard alone in Debian's headless Chromium
through Selenium and Debian's chromedriver: Tab to the first entry of the list, Enter opens it,
Tab reaches the state buttons, Enter picks one. Prints what it saw as JSON.

usage: ui_keyboard.py <endpoint>"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ep = sys.argv[1]
opts = webdriver.ChromeOptions()
opts.binary_location = os.environ.get("VPCGATE_CHROMIUM_BINARY", "/usr/bin/chromium")
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"):
    opts.add_argument(a)
driver = webdriver.Chrome(
    service=Service(os.environ.get("VPCGATE_CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts
)
out = {}
try:
    driver.get(ep + "/_vpcgate/ui")
    wait = WebDriverWait(driver, 20)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#entries a"))
    body = driver.find_element(By.TAG_NAME, "body")
    # Tab from the top of the page to the first entry.
    tabs = 0
    active = None
    while tabs < 10:
        driver.switch_to.active_element.send_keys(Keys.TAB) if tabs else body.send_keys(Keys.TAB)
        tabs += 1
        active = driver.switch_to.active_element
        if active.get_attribute("data-id"):
            break
    out["tabsToFirstEntry"] = tabs
    out["focusedEntry"] = active.get_attribute("data-id")
    out["focusedTitle"] = active.find_element(By.CLASS_NAME, "entry-title").text
    active.send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#states button"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#trace svg"))
    # The page's own poll may draw the entry first; Enter's handler moves the focus when its
    # fetches are back.
    try:
        wait.until(lambda d: d.switch_to.active_element.get_attribute("id") == "detail")
    except Exception:
        pass
    out["hash"] = driver.execute_script("return location.hash")
    out["detailTitle"] = driver.find_element(By.ID, "detail-title").text
    out["focusAfterEnter"] = driver.switch_to.active_element.get_attribute("id")
    # Tab on to the state buttons; Enter picks the one focused.
    picked = []
    for _ in range(8):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        a = driver.switch_to.active_element
        if a.get_attribute("role") == "tab":
            picked.append(a.text)
            if a.get_attribute("aria-selected") != "true":
                a.send_keys(Keys.ENTER)
                break
    out["stateButtonsReached"] = picked
    deadline = time.time() + 10
    while time.time() < deadline:
        # Read in one script: the page's poll may redraw the buttons between a lookup and a read
        # (a stale element), so the texts are taken where the elements are found.
        selected = driver.execute_script(
            "return [...document.querySelectorAll(\"#states button[aria-selected='true']\")]"
            ".map(b => b.innerText.trim())"
        )
        if selected and picked and selected[0] == picked[-1]:
            break
        time.sleep(0.05)
    out["selectedState"] = selected
    out["hashAfterState"] = driver.execute_script("return location.hash")
    out["traceTitle"] = driver.execute_script(
        "const t = document.querySelector('#trace svg title'); return t ? t.textContent : null"
    )
    # Readable at 1280 x 800: nothing wider than the window.
    out["scrollWidth"] = driver.execute_script("return document.documentElement.scrollWidth")
    out["innerWidth"] = driver.execute_script("return window.innerWidth")
finally:
    driver.quit()
json.dump(out, sys.stdout)
