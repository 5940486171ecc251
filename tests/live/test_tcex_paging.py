"""tcex pages through 250+ cases by following `next` verbatim (relative links over plain http),
counts them with len(), and moves long queries into a GET body; once with HMAC, once with a
token."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from tcex.api.tc.v3.tql.tql_operator import TqlOperator

from cases.models import Case
from cti.security.services import default_owner
from tests.live.conftest import AUTH_KINDS

pytestmark = [pytest.mark.live, pytest.mark.parametrize("auth", AUTH_KINDS)]

BULK = 260


@pytest.fixture
def bulk_cases(standard_types) -> list[int]:
    """Volume comes from the ORM; everything else in these tests goes through tcex."""
    owner, now = default_owner(), timezone.now()
    Case.objects.bulk_create(
        Case(
            name=f"bulk {n:04d}",
            severity="Critical" if n % 10 == 0 else "Low",
            status="Open",
            case_open_time=now,
            owner=owner,
        )
        for n in range(BULK)
    )
    Case.objects.create(
        name="unrelated", severity="Low", status="Open", case_open_time=now, owner=owner
    )
    return list(Case.objects.filter(name__startswith="bulk ").values_list("pk", flat=True))


@pytest.fixture
def sent(make_v3, auth):
    """The v3 client plus every URL its session requested (a plain requests response hook)."""
    v3 = make_v3(auth)
    urls: list[str] = []
    v3.session.hooks["response"].append(lambda r, *args, **kwargs: urls.append(r.request.url))
    return v3, urls


def test_iterates_all_pages_by_next_links(sent, bulk_cases, auth):
    v3, urls = sent
    cases = v3.cases(params={"result_limit": 100, "fields": ["tags"], "sorting": "id desc"})
    cases.filter.name(TqlOperator.STARTS_WITH, "bulk ")

    ids = [case.model.id for case in cases]

    assert len(ids) == BULK == len(set(ids))
    assert ids == sorted(bulk_cases, reverse=True)
    assert len(urls) == 3  # 100 + 100 + 60, one request per page
    pages = [parse_qs(urlsplit(url).query) for url in urls]
    assert [p.get("resultStart", ["0"])[0] for p in pages] == ["0", "100", "200"]
    for page in pages:  # every parameter is carried into the next links
        assert page["tql"] == ['name STARTSWITH "bulk "']
        assert page["resultLimit"] == ["100"]
        assert page["fields"] == ["tags"]
        assert page["sorting"] == ["id desc"]
    assert all(url.startswith(f"{v3.session.base_url}/v3/cases?") for url in urls)


def test_len_counts_every_match(sent, bulk_cases, auth):
    v3, urls = sent
    everything = v3.cases()
    assert len(everything) == BULK + 1 == Case.objects.count()

    bulk = v3.cases()
    bulk.filter.name(TqlOperator.STARTS_WITH, "bulk ")
    assert len(bulk) == BULK

    critical = v3.cases()
    critical.filter.name(TqlOperator.STARTS_WITH, "bulk ")
    critical.filter.severity(TqlOperator.EQ, "Critical")
    assert len(critical) == BULK // 10
    assert sum(1 for _ in critical) == BULK // 10

    query = parse_qs(urlsplit(urls[0]).query)
    assert query["count"] == ["True"] and query["resultLimit"] == ["1"]


def test_long_query_moves_into_get_body(sent, bulk_cases, auth):
    v3, urls = sent
    names = [f"bulk {n:04d}" for n in range(0, BULK, 2)]
    cases = v3.cases(params={"result_limit": 50})
    cases.filter.name(TqlOperator.IN, names)
    assert len(cases) == len(names)

    found = sorted(case.model.name for case in cases)

    assert found == names
    assert urlsplit(urls[0]).query == ""  # len(): params sent as {"data": {...}} in the body
    assert urlsplit(urls[1]).query == ""  # first page: likewise
    assert len(urls) == 2 + 2  # then two next links (50 + 50 + 30)
    assert all("resultStart=" in url for url in urls[2:])
