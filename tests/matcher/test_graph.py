"""The place graph explains a tie through a merger, in words."""

from sqlalchemy import select

from matcher.graph import build_graph, explanation_path, placement_ties
from matcher.models import Alumnus, MunicipalityAlias, Placement, Relationship, USPlace


def test_ishidoriya_alum_is_tied_to_hot_springs_through_hanamaki(session):
    ishidoriya = session.scalars(select(MunicipalityAlias).where(MunicipalityAlias.name == "Ishidoriya")).one()
    alum = Alumnus(external_id="G-ISHIDORIYA", name="Test Ishidoriya", email="g@example.org", japanese_level=2,
                   availability_hours=4, max_matches=1, consent=True, home="Denver, CO", home_lat=39.74,
                   home_lon=-104.99, home_state_abbr="CO")
    session.add(alum)
    session.flush()
    session.add(Placement(alumnus_id=alum.id, place="Ishidoriya, Iwate", municipality_code="03205",
                          prefecture_code="03", alias_id=ishidoriya.id, role="ALT", start_year=2003, end_year=2005))
    session.flush()
    rel = session.scalars(select(Relationship).join(USPlace, Relationship.us_place_id == USPlace.id)
                          .where(USPlace.name == "Hot Springs", USPlace.state_abbr == "AR")).one()
    G = build_graph(session, alumnus_ids=[alum.id])
    assert ("alum", alum.id) in placement_ties(G, ("rel", rel.id))
    steps = explanation_path(G, ("alum", alum.id), ("rel", rel.id))
    assert steps == ["placed in Ishidoriya (2003–2005)", f"merged into Hanamaki ({ishidoriya.merged_on.year})",
                     "sister city of Hot Springs, AR"]
