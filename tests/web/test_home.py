"""The page each role lands on."""

import re

from sqlalchemy import func, select

from matcher.models import Alumnus, Relationship


def test_coordinator_start_page_counts_alumni_and_relationships(as_role, db_session):
    client = as_role("coordinator")
    page = client.get("/").get_data(as_text=True)
    alumni = db_session.scalar(select(func.count()).select_from(Alumnus))
    willing = db_session.scalar(select(func.count()).select_from(Alumnus).where(Alumnus.consent.is_(True)))
    relationships = db_session.scalar(select(func.count()).select_from(Relationship))
    totals = re.sub(r"\s+", " ", page.split('id="totals">')[1].split("</p>")[0])
    assert f"{alumni:,} alumni ({willing:,} willing to be suggested)" in totals
    assert f"{relationships:,} sister-city relationships" in totals
    assert willing < alumni  # the world has someone who withheld consent
