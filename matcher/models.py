"""SQLAlchemy 2.0 models: places, relationships, people and the decisions about them.

Constraints live in the schema (foreign keys, unique keys, check constraints on
years and enumerations) so that a bad row is refused by the database itself, not
only by the importer. Migrations are in ``matcher/migrations``; `jetmatch init`
upgrades to head.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    func,
    select,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from matcher import chain, names

__all__ = [
    "Base",
    "Prefecture",
    "Municipality",
    "MunicipalityAlias",
    "USState",
    "USPlace",
    "USZip",
    "GeocodeCache",
    "Relationship",
    "Chapter",
    "Alumnus",
    "Placement",
    "ScoreRun",
    "Suggestion",
    "MatchRequest",
    "Decision",
    "User",
    "LoginFailure",
    "ScoringModel",
    "PartnershipSuggestion",
    "Seeker",
    "Job",
    "OutboxMessage",
    "ChangeStamp",
    "CHANGE_STAMP",
    "STAMPED_TABLES",
    "REGIONS",
    "ROLES",
    "RELATIONSHIP_STATUSES",
    "DECISION_STATUSES",
    "RECORDED_STATUSES",
    "OPEN_STATUSES",
    "USER_ROLES",
    "JOB_STATUSES",
    "MUNICIPALITY_KINDS",
    "FIRST_JET_YEAR",
    "LAST_YEAR",
]

REGIONS = ("Hokkaido", "Tohoku", "Kanto", "Chubu", "Kansai", "Chugoku", "Shikoku", "Kyushu-Okinawa")
MUNICIPALITY_KINDS = ("city", "ward", "town", "village")
ROLES = ("ALT", "CIR", "SEA")
RELATIONSHIP_STATUSES = ("active", "dormant", "unknown")
DECISION_STATUSES = ("approved", "rejected", "on_hold")  # what a coordinator may decide
# ... and what the trail records: "withdrawn" closes a request when the alum withdraws consent.
RECORDED_STATUSES = DECISION_STATUSES + ("withdrawn",)
OPEN_STATUSES = ("pending", "on_hold")
USER_ROLES = ("coordinator", "chapter_lead", "committee", "alumnus")
JOB_STATUSES = ("queued", "running", "done", "failed")
FIRST_JET_YEAR = 1987
LAST_YEAR = 2100


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    # Named constraints so that migrations can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --- Japan -----------------------------------------------------------------------------


class Prefecture(Base):
    """One of the 47 prefectures, keyed by its two-digit JIS code ("44" = Oita)."""

    __tablename__ = "prefectures"
    __table_args__ = (CheckConstraint(_in("region", REGIONS), name="region"),)

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    name_ja: Mapped[str] = mapped_column(String(10))
    region: Mapped[str] = mapped_column(String(20))
    neighbours: Mapped[str] = mapped_column(String(60), default="")  # "43;45;40" JIS codes
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)

    municipalities: Mapped[list[Municipality]] = relationship(back_populates="prefecture")

    @property
    def neighbour_codes(self) -> list[str]:
        return [c for c in self.neighbours.split(";") if c]


class Municipality(Base):
    """A current city, town, village or Tokyo special ward, keyed by its 5-digit JIS code."""

    __tablename__ = "municipalities"
    __table_args__ = (CheckConstraint(_in("kind", MUNICIPALITY_KINDS), name="kind"),)

    code: Mapped[str] = mapped_column(String(5), primary_key=True)
    prefecture_code: Mapped[str] = mapped_column(ForeignKey("prefectures.code"), index=True)
    name: Mapped[str] = mapped_column(String(60), index=True)  # ASCII Hepburn: "Oita"
    name_romaji: Mapped[str] = mapped_column(String(60))  # with macrons: "Ōita"
    name_ja: Mapped[str] = mapped_column(String(30))  # "大分市"
    name_kana: Mapped[str] = mapped_column(String(60), default="")
    kind: Mapped[str] = mapped_column(String(10))
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    coord_source: Mapped[str] = mapped_column(String(40), default="")
    population: Mapped[int | None] = mapped_column(Integer)

    prefecture: Mapped[Prefecture] = relationship(back_populates="municipalities")
    aliases: Mapped[list[MunicipalityAlias]] = relationship(back_populates="municipality")


class MunicipalityAlias(Base):
    """An old or variant name of a current municipality (a pre-merger town, a spelling)."""

    __tablename__ = "municipality_aliases"
    __table_args__ = (
        UniqueConstraint("municipality_code", "name", "merged_on", name="alias"),
        CheckConstraint(_in("reason", ("merger", "spelling")), name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    name_ja: Mapped[str | None] = mapped_column(String(30))
    kind: Mapped[str | None] = mapped_column(String(10))
    district: Mapped[str | None] = mapped_column(String(60))
    merged_on: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(10), default="merger")
    source: Mapped[str] = mapped_column(Text, default="")
    kana: Mapped[str | None] = mapped_column(String(40))  # official reading (e-Stat), hiragana with suffix
    district_ja: Mapped[str | None] = mapped_column(String(30))  # 郡 (支庁 in Hokkaido) at the merger
    old_code: Mapped[str | None] = mapped_column(String(5), index=True)  # the old municipality's JIS code

    municipality: Mapped[Municipality] = relationship(back_populates="aliases")


# --- United States -----------------------------------------------------------------------


class USState(Base):
    """A US state, DC or territory, keyed by its postal abbreviation."""

    __tablename__ = "us_states"

    abbr: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    fips: Mapped[str] = mapped_column(String(2), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)


class USPlace(Base):
    """A US city, town or county with coordinates."""

    __tablename__ = "us_places"
    __table_args__ = (
        UniqueConstraint("state_abbr", "kind", "name", name="place"),
        CheckConstraint(_in("kind", ("city", "county")), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), index=True)
    state_abbr: Mapped[str] = mapped_column(ForeignKey("us_states.abbr"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="city")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    population: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(40), default="")

    state: Mapped[USState] = relationship()

    @property
    def label(self) -> str:
        return f"{self.name}, {self.state_abbr}"


class USZip(Base):
    """A five-digit ZIP code and the place it belongs to."""

    __tablename__ = "us_zips"

    zip: Mapped[str] = mapped_column(String(5), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("us_places.id"), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)

    place: Mapped[USPlace] = relationship()


class GeocodeCache(Base):
    """An online geocoder's answer, kept so that a query is asked of it once."""

    __tablename__ = "geocode_cache"

    query: Mapped[str] = mapped_column(String(200), primary_key=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    state_abbr: Mapped[str | None] = mapped_column(String(2))
    display_name: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


# --- Relationships and chapters ------------------------------------------------------------


class Relationship(Base):
    """One sister tie: a US place or state and a JP municipality or prefecture.

    ``pair_key`` ("place:12|muni:44201", "state:MD|pref:14") identifies the pair, so a
    re-import updates rather than duplicates it.
    """

    __tablename__ = "relationships"
    __table_args__ = (
        CheckConstraint(_in("status", RELATIONSHIP_STATUSES), name="status"),
        CheckConstraint(_in("us_kind", ("city", "county", "state")), name="us_kind"),
        CheckConstraint(_in("jp_kind", ("municipality", "prefecture")), name="jp_kind"),
        CheckConstraint("volunteers_wanted >= 0", name="volunteers_wanted"),
        CheckConstraint("signed_year IS NULL OR signed_year BETWEEN 1900 AND 2100", name="signed_year"),
        CheckConstraint("us_kind = 'state' OR us_place_id IS NOT NULL", name="us_place"),
        CheckConstraint("jp_kind = 'prefecture' OR jp_municipality_code IS NOT NULL", name="jp_municipality"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pair_key: Mapped[str] = mapped_column(String(40), unique=True)
    us_kind: Mapped[str] = mapped_column(String(10))
    us_place_id: Mapped[int | None] = mapped_column(ForeignKey("us_places.id"), index=True)
    us_state_abbr: Mapped[str] = mapped_column(ForeignKey("us_states.abbr"), index=True)
    jp_kind: Mapped[str] = mapped_column(String(15))
    jp_municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"), index=True)
    jp_prefecture_code: Mapped[str] = mapped_column(ForeignKey("prefectures.code"), index=True)
    jp_name_at_signing: Mapped[str | None] = mapped_column(String(80))
    signed: Mapped[str | None] = mapped_column(String(10))  # "1992", "1992-04" or "1992-04-21"
    signed_year: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="unknown")
    dormant_since: Mapped[int | None] = mapped_column(Integer)
    themes: Mapped[str] = mapped_column(Text, default="")  # "education;youth exchange"
    committee_name: Mapped[str | None] = mapped_column(String(120))
    committee_email: Mapped[str | None] = mapped_column(String(254))
    volunteers_wanted: Mapped[int] = mapped_column(Integer, default=3)
    source: Mapped[str] = mapped_column(Text, default="")

    us_place: Mapped[USPlace | None] = relationship()
    us_state: Mapped[USState] = relationship()
    jp_municipality: Mapped[Municipality | None] = relationship()
    jp_prefecture: Mapped[Prefecture] = relationship()

    @property
    def theme_list(self) -> list[str]:
        return [t.strip() for t in self.themes.split(";") if t.strip()]

    @property
    def us_label(self) -> str:
        if self.us_place is not None:
            return self.us_place.label
        return self.us_state.name

    @property
    def jp_label(self) -> str:
        if self.jp_municipality is not None:
            return f"{self.jp_municipality.name_romaji}, {self.jp_prefecture.name}"
        return f"{self.jp_prefecture.name} Prefecture"

    @property
    def label(self) -> str:
        return f"{self.us_label} ↔ {self.jp_label}"


class Chapter(Base):
    """A JETAA USA chapter: the states it covers and its hub city."""

    __tablename__ = "chapters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    states: Mapped[str] = mapped_column(String(200), default="")  # "DC;MD;VA"
    hub: Mapped[str] = mapped_column(String(120), default="")
    hub_place_id: Mapped[int | None] = mapped_column(ForeignKey("us_places.id"))
    source: Mapped[str] = mapped_column(Text, default="")
    coverage_basis: Mapped[str] = mapped_column(Text, default="")

    hub_place: Mapped[USPlace | None] = relationship()

    @property
    def state_list(self) -> list[str]:
        return [s for s in self.states.split(";") if s]


# --- People ------------------------------------------------------------------------------


class Alumnus(Base):
    """A JET alum: contact details stay private until a coordinator approves a match."""

    __tablename__ = "alumni"
    __table_args__ = (
        CheckConstraint("japanese_level BETWEEN 0 AND 5", name="japanese_level"),
        CheckConstraint("availability_hours >= 0 AND availability_hours <= 168", name="availability_hours"),
        CheckConstraint("max_matches >= 0 AND max_matches <= 50", name="max_matches"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    # Apart, so that committees see the given name and an initial only (matcher.names).
    given_name: Mapped[str] = mapped_column(String(120), default="")
    family_name: Mapped[str] = mapped_column(String(120), default="")
    email: Mapped[str] = mapped_column(String(254))
    home: Mapped[str] = mapped_column(String(200), default="")  # as written
    home_place_id: Mapped[int | None] = mapped_column(ForeignKey("us_places.id"), index=True)
    home_state_abbr: Mapped[str | None] = mapped_column(ForeignKey("us_states.abbr"))
    home_lat: Mapped[float | None] = mapped_column(Float)
    home_lon: Mapped[float | None] = mapped_column(Float)
    chapter_id: Mapped[int | None] = mapped_column(ForeignKey("chapters.id"), index=True)
    japanese_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 none .. 5 JLPT N1/native
    interests: Mapped[str] = mapped_column(Text, default="")
    availability_hours: Mapped[int] = mapped_column(Integer, default=0)  # per month
    max_matches: Mapped[int] = mapped_column(Integer, default=1)
    consent: Mapped[bool] = mapped_column(Boolean, default=False)  # to be suggested at all
    consent_contact: Mapped[bool] = mapped_column(Boolean, default=False)  # contact shared on approval
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)

    home_place: Mapped[USPlace | None] = relationship()
    chapter: Mapped[Chapter | None] = relationship()
    placements: Mapped[list[Placement]] = relationship(
        back_populates="alumnus", cascade="all, delete-orphan", order_by="Placement.start_year"
    )

    @property
    def display_name(self) -> str:
        """Given name and family initial: all a committee or chapter lead sees of the name."""
        return names.display_name(self.given_name, self.family_name)

    @property
    def name(self) -> str:
        """The whole name: for the alum's own pages and for contacts after approval."""
        return names.full_name(self.given_name, self.family_name)

    @name.setter
    def name(self, value: str) -> None:
        # Alumnus(name="Dana Whitfield") reads the name by the importer's rules.
        self.given_name, self.family_name, _ = names.parse_name(value)


class Placement(Base):
    """Where an alum lived and worked on JET: a municipality, or a prefecture for a prefectural post."""

    __tablename__ = "placements"
    __table_args__ = (
        UniqueConstraint("alumnus_id", "place", "role", "start_year", name="placement"),
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(f"start_year BETWEEN {FIRST_JET_YEAR} AND {LAST_YEAR}", name="start_year"),
        CheckConstraint("end_year >= start_year AND end_year <= start_year + 10", name="end_year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), index=True)
    place: Mapped[str] = mapped_column(String(200))  # as written
    municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"), index=True)
    prefecture_code: Mapped[str] = mapped_column(ForeignKey("prefectures.code"), index=True)
    alias_id: Mapped[int | None] = mapped_column(ForeignKey("municipality_aliases.id"))
    role: Mapped[str] = mapped_column(String(3))
    start_year: Mapped[int] = mapped_column(Integer)
    end_year: Mapped[int] = mapped_column(Integer)
    employer: Mapped[str] = mapped_column(String(200), default="")

    alumnus: Mapped[Alumnus] = relationship(back_populates="placements")
    municipality: Mapped[Municipality | None] = relationship()
    prefecture: Mapped[Prefecture] = relationship()
    alias: Mapped[MunicipalityAlias | None] = relationship()


# --- Scoring and decisions -----------------------------------------------------------------


class ScoringModel(Base):
    """A set of comparison weights, default or learned; exactly one is active."""

    __tablename__ = "scoring_models"

    version: Mapped[str] = mapped_column(String(40), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class PartnershipSuggestion(Base):
    """A likely new partnership, ranked when the partnership model was trained (so pages read
    it instead of ranking every pair). Champions are alumni ids, filtered by consent on read."""

    __tablename__ = "partnership_suggestions"
    __table_args__ = (Index("ix_partnership_suggestions_version_level_rank", "model_version", "level", "rank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version: Mapped[str] = mapped_column(ForeignKey("scoring_models.version", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(10))  # a key of partnerships.LEVELS
    rank: Mapped[int] = mapped_column(Integer)
    us_key: Mapped[str] = mapped_column(String(40))  # "place:12" or "state:MD"
    jp_key: Mapped[str] = mapped_column(String(20))  # "muni:44201" or "pref:44"
    us_label: Mapped[str] = mapped_column(String(200))
    jp_label: Mapped[str] = mapped_column(String(200))
    score: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    champion_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class ScoreRun(Base):
    """One scoring run: the model it used and when. Every stored suggestion belongs to one run."""

    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version: Mapped[str] = mapped_column(String(40), default="default")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


# Tables whose every insert, update and delete bumps ChangeStamp "data" (database triggers,
# migration 0009_change_stamps): what a page builds from them may be kept while it is unchanged.
STAMPED_TABLES = ("alumni", "placements", "relationships", "prefectures", "municipalities", "municipality_aliases",
                  "us_states", "us_places", "chapters", "scoring_models")


class ChangeStamp(Base):
    """A version the database raises, in the same transaction, on any change to STAMPED_TABLES.

    The stamp is the sum of ``version`` over the rows: ``data`` (SQLite's only row) and, on
    PostgreSQL, one ``pid:<n>`` row per server process that has written (so writers never wait
    on each other for it; migration 0010_stamp_per_writer). Read it first, then the data: what
    was built from that read is good for as long as the sum reads the same.
    """

    __tablename__ = "change_stamps"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


# The stamp a reader takes: the sum of every writer's row (migration 0010_stamp_per_writer); any
# committed change raises it. A numeric on PostgreSQL: compare it, or take int() of it.
CHANGE_STAMP = select(func.sum(ChangeStamp.version))


class Suggestion(Base):
    """A scored pairing: alum × relationship (volunteer) or chapter × relationship (partner).

    A volunteer row is kept small: its comparison levels as one integer (``levels``, see
    :mod:`matcher.scoring.store`), from which the reasons are written when the row is read;
    a partner row (a few hundred in all) keeps its reasons in ``contributions``, since they
    count a chapter's members. The model and time are the run's.
    """

    __tablename__ = "suggestions"
    __table_args__ = (
        CheckConstraint(_in("kind", ("volunteer", "partner")), name="kind"),
        CheckConstraint(
            "(kind = 'volunteer' AND alumnus_id IS NOT NULL) OR (kind = 'partner' AND chapter_id IS NOT NULL)",
            name="subject",
        ),
        Index("ix_suggestions_relationship_score", "relationship_id", "score"),
        # partner rows only: a full index would hold a NULL for each of the ~350,000 volunteer rows
        Index("ix_suggestions_chapter_id", "chapter_id", sqlite_where=text("chapter_id IS NOT NULL"),
              postgresql_where=text("chapter_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: the rows are derived and replaced whole by every run, and PostgreSQL
    # checks a foreign key row by row (3 keys tripled the time of a 350,000-row COPY).
    # Readers join to alumni and relationships; deleting an alum deletes their rows.
    run_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    alumnus_id: Mapped[int | None] = mapped_column(Integer, index=True)
    chapter_id: Mapped[int | None] = mapped_column(Integer)
    relationship_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    levels: Mapped[int | None] = mapped_column(Integer)  # volunteer: pair code + 256 * alumnus combo
    contributions: Mapped[list[Any] | None] = mapped_column(JSON)  # partner: [{factor, level, weight, sentence}]

    run: Mapped[ScoreRun] = relationship(primaryjoin="foreign(Suggestion.run_id) == ScoreRun.id")
    alumnus: Mapped[Alumnus | None] = relationship(primaryjoin="foreign(Suggestion.alumnus_id) == Alumnus.id")
    chapter: Mapped[Chapter | None] = relationship(primaryjoin="foreign(Suggestion.chapter_id) == Chapter.id")
    relationship_: Mapped[Relationship] = relationship(
        primaryjoin="foreign(Suggestion.relationship_id) == Relationship.id")

    @property
    def model_version(self) -> str:
        return self.run.model_version

    @property
    def created_at(self) -> dt.datetime:
        return self.run.created_at


_OPEN_INTRODUCTION = text("kind = 'introduction' AND status IN ('pending', 'on_hold')")
_OPEN_PARTNERSHIP = text("kind = 'partnership' AND status IN ('pending', 'on_hold')")


class MatchRequest(Base):
    """A request for a coordinator: an introduction (alum × relationship) or a partnership proposal.

    Holds a snapshot of the score and reasons, so that re-scoring never changes what
    a coordinator decided about. ``decision_count`` is bumped with a compare-and-set on
    every decision, so two coordinators cannot both decide the same pending request.
    """

    __tablename__ = "match_requests"
    __table_args__ = (
        CheckConstraint(_in("kind", ("introduction", "partnership", "new_partnership")), name="kind"),
        CheckConstraint(_in("status", ("pending",) + RECORDED_STATUSES), name="status"),
        # One open request per (relationship, alum) and per (chapter, relationship): a second
        # click, even a concurrent one, gets the first request back (matcher.decisions).
        Index("uq_match_requests_open_introduction", "relationship_id", "alumnus_id", unique=True,
              sqlite_where=_OPEN_INTRODUCTION, postgresql_where=_OPEN_INTRODUCTION),
        Index("uq_match_requests_open_partnership", "chapter_id", "relationship_id", unique=True,
              sqlite_where=_OPEN_PARTNERSHIP, postgresql_where=_OPEN_PARTNERSHIP),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="introduction")
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="SET NULL"), index=True)
    chapter_id: Mapped[int | None] = mapped_column(ForeignKey("chapters.id"))
    relationship_id: Mapped[int | None] = mapped_column(ForeignKey("relationships.id"), index=True)
    # For a proposed new partnership: the US side (place, or a state alone) and the JP side
    # (municipality, or a prefecture alone).
    us_place_id: Mapped[int | None] = mapped_column(ForeignKey("us_places.id"))
    us_state_abbr: Mapped[str | None] = mapped_column(ForeignKey("us_states.abbr"))
    jp_municipality_code: Mapped[str | None] = mapped_column(ForeignKey("municipalities.code"))
    jp_prefecture_code: Mapped[str | None] = mapped_column(ForeignKey("prefectures.code"))
    note: Mapped[str] = mapped_column(Text, default="")  # the requester's words
    score: Mapped[float | None] = mapped_column(Float)
    contributions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    decision_count: Mapped[int] = mapped_column(Integer, default=0)

    alumnus: Mapped[Alumnus | None] = relationship()
    chapter: Mapped[Chapter | None] = relationship()
    relationship_: Mapped[Relationship | None] = relationship()
    decisions: Mapped[list[Decision]] = relationship(back_populates="request", order_by="Decision.id")


class Decision(Base):
    """A coordinator's decision on a request. Append-only: triggers refuse UPDATE, DELETE, REPLACE
    and TRUNCATE. Each row's ``chain_hash`` covers its contents and the row before (matcher.chain)."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_in("status", RECORDED_STATUSES), name="status"),
        UniqueConstraint("request_id", "sequence", name="request_sequence"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("match_requests.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per request: a second writer collides
    status: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str] = mapped_column(String(254))  # the coordinator's login, kept after deletion
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    note: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # level indicators, for learning
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    chain_hash: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[MatchRequest] = relationship(back_populates="decisions")


@event.listens_for(Decision, "before_insert")
def _chain_decision(_mapper, connection, target: Decision) -> None:
    """Link every new decision to the one before it, whoever inserts it."""
    moment = target.decided_at or _now()
    # UTC on the way in: SQLite keeps the wall-clock time only, and the hash must survive it.
    target.decided_at = (moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None
                         else moment.astimezone(dt.timezone.utc))
    target.features = target.features if target.features is not None else {}
    target.note = target.note if target.note is not None else ""
    target.prev_hash = chain.tail(connection)
    target.chain_hash = chain.digest(target.prev_hash, chain.fields_of(target))
    chain.remember(connection, target.chain_hash)


@event.listens_for(Decision, "after_insert")
def _chained(_mapper, connection, _target: Decision) -> None:
    chain.forget(connection)


class User(Base):
    """A login: a coordinator, a chapter lead, a committee member or an alum."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="role"),
        CheckConstraint("role <> 'chapter_lead' OR chapter_id IS NOT NULL", name="chapter_lead"),
        CheckConstraint("role <> 'committee' OR relationship_id IS NOT NULL", name="committee"),
        CheckConstraint("role <> 'alumnus' OR alumnus_id IS NOT NULL", name="alumnus"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    chapter_id: Mapped[int | None] = mapped_column(ForeignKey("chapters.id"))
    relationship_id: Mapped[int | None] = mapped_column(ForeignKey("relationships.id"))
    alumnus_id: Mapped[int | None] = mapped_column(ForeignKey("alumni.id", ondelete="CASCADE"), unique=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    invite_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    # Bumped by sign-out, a password change and disabling: every session cookie that
    # carries an older number stops working, wherever it was copied to.
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    invite_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_created_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    api_token_last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    chapter: Mapped[Chapter | None] = relationship()
    relationship_: Mapped[Relationship | None] = relationship()
    alumnus: Mapped[Alumnus | None] = relationship()


class LoginFailure(Base):
    """One wrong password: the login tried, the address it came from and when.

    Sign-in throttling counts these rows, so every worker process sees the same counts.
    """

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_login_at", "login", "at"), Index("ix_login_failures_ip_at", "ip", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)


class Seeker(Base):
    """A Japanese local government that has said it is looking for an overseas partner."""

    __tablename__ = "seekers"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), unique=True)
    desired_countries: Mapped[str] = mapped_column(Text, default="")
    desired_partner: Mapped[str] = mapped_column(Text, default="")
    as_of: Mapped[str] = mapped_column(String(10), default="")
    source: Mapped[str] = mapped_column(Text, default="")

    municipality: Mapped[Municipality] = relationship()



class Job(Base):
    """A background job (see :mod:`matcher.jobs`): what it does, where it stands, how it ended.

    The queue carries only the job's id; this row is what a coordinator sees on /jobs.
    """

    __tablename__ = "jobs"
    __table_args__ = (CheckConstraint(_in("status", JOB_STATUSES), name="status"),
                      Index("ix_jobs_status_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    requested_by: Mapped[str | None] = mapped_column(String(254))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(120))  # host:pid of the worker running it
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class OutboxMessage(Base):
    """An e-mail waiting to be sent, written in the same transaction as the decision it tells of.

    ``jetmatch mail send`` (or the background job) delivers it with a timeout and retries.
    """

    __tablename__ = "outbox"
    __table_args__ = (CheckConstraint(_in("status", ("pending", "sent", "failed")), name="status"),
                      Index("ix_outbox_status_next", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("match_requests.id"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
