"""The Django admin in a real browser: Playwright drives Debian's Chromium against a live server on
PostgreSQL, with a real Celery worker on Redis doing the activation. An administrator logs in,
activates a rule from the rule manager, watches its progress reach 100% by reloading the page,
then opens a fact the rule inferred and finds the rule named on it."""

import re
import shutil
import time
from pathlib import Path

import pytest

from cti.security.choices import SystemRoleChoices
from cti.security.services import api_user_create
from tests.rules_manager.conftest import Http, test_database_url
from tests.rules_manager.graph import bundle, part_of, sid, small_graph

pytestmark = pytest.mark.live

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-pass-1"
# without these, Chromium keeps trying to reach Google's hosts, which this network refuses
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    path = shutil.which("chromium") or CHROMIUM
    if not Path(path).exists():
        pytest.skip(
            "Debian's Chromium is missing (apt-get install -y chromium); `make test` installs it"
        )
    return path


def _rule_row(page, rule_id: str) -> dict[str, str]:
    row = page.locator(f"#result_list tr:has(input[name=_selected_action][value={rule_id}])")
    return {
        "status": row.locator("td.field-status").inner_text().strip().lower(),
        "percent": row.locator("td.field-percent").inner_text().strip(),
    }


@pytest.mark.django_db(transaction=True)
def test_admin_activates_a_rule_and_shows_its_inference(
    postgres_only, live_server, redis_broker, processes, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    executable = _chromium()
    admin = api_user_create(
        "browser-admin",
        role=SystemRoleChoices.ADMINISTRATOR,
        password=PASSWORD,
        superuser=True,
    )
    response = Http(live_server.url, admin.token).post(
        "/api/v3/intel/bundles", bundle(small_graph())
    )
    assert response.status_code == 200 and not response.json()["data"]["rejected"]
    org1, org3 = sid("identity", 1), sid("identity", 3)
    assert not part_of(org1, org3)
    env = processes.env(DATABASE_URL=test_database_url(), CELERY_BROKER_URL=redis_broker)
    processes.worker(env)
    # no ORM call below while Playwright runs: its sync API keeps an event loop in this thread,
    # and Django would refuse (or, if forced, open a second connection it never closes)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(base_url=live_server.url)
        page.set_default_timeout(15_000)
        try:
            page.goto("/admin/login/?next=/admin/rules/rulestate/")
            page.fill("#id_username", "browser-admin")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            expect(page).to_have_url(re.compile(r"/admin/rules/rulestate/$"))
            assert _rule_row(page, "part_part")["status"] == "inactive"

            page.check("input[name=_selected_action][value=part_part]")
            page.select_option("select[name=action]", "activate")
            page.click("button[name=index]")
            expect(page.locator("ul.messagelist")).to_contain_text(
                "Activation started in the background."
            )

            seen = []
            deadline = time.monotonic() + 60
            while True:
                row = _rule_row(page, "part_part")
                seen.append((row["status"], row["percent"]))
                if row["status"] == "active" and row["percent"] == "100":
                    break
                assert row["status"] in {"activating", "active"}, seen
                assert time.monotonic() < deadline, f"progress never reached 100%: {seen}"
                time.sleep(0.3)
                page.reload()
            assert seen[0][0] in {"activating", "active"}

            # the change page shows the progress too
            page.goto("/admin/rules/rulestate/part_part/change/")
            expect(page.locator(".field-percent .readonly")).to_have_text("100")

            # the inferred relationship, found in the intel admin's list of inferred facts
            page.goto("/admin/intel/relationship/?inferred__exact=1&asserted__exact=0")
            row = (
                page.locator("#result_list tbody tr")
                .filter(has_text="Org 1")
                .filter(has_text="Org 3")
            )
            expect(row).to_have_count(1)
            row.locator("th a").click()
            expect(page).to_have_url(re.compile(r"/admin/intel/relationship/\d+/change/"))
            inferred_by = page.locator(".field-inferred_by .readonly")
            expect(inferred_by).to_contain_text("part_part (Belonging propagation)")
            # and the facts it came from: org 1 part-of org 2, org 2 part-of org 3
            sources = inferred_by.locator("td a")
            expect(sources).to_have_count(2)
            expect(sources.first).to_contain_text("relationship: ")
            sources.first.click()
            expect(page).to_have_url(re.compile(r"/admin/intel/stixobject/\d+/change/"))
        except BaseException:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    assert part_of(org1, org3)
    print(f"rule states seen while reloading: {seen}")
