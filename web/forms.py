"""The app's forms as WTForms classes (Flask-WTF): every field bounded, errors shown beside it.

One section per blueprint. Field names are the ones the pages already posted, so pages
work without JavaScript and scripts that post the forms keep working. A value out of
range is a field error shown beside the field ("Number must be between 0 and 5."),
never clamped; every text field has a length cap.
"""

from __future__ import annotations

import datetime as dt

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, HiddenField, IntegerField, PasswordField, SelectChoice, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from matcher.accounts import MAX_PASSWORD, MIN_PASSWORD
from matcher.models import DECISION_STATUSES, FIRST_JET_YEAR, ROLES, USER_ROLES
from web.security import MAX_ID

__all__ = ["chapter_choices", "LoginForm", "InviteForm", "ActionForm", "ProfileForm", "PlacementForm", "DecideForm",
           "BulkForm", "ImportForm", "UserForm", "NOTE_MAX"]

NOTE_MAX = 2000


def _no_nul(_form, field) -> None:
    if isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError("This text contains a NUL character.")


def _text(label: str, max_len: int, *validators, **kw) -> StringField:
    return StringField(label, [*validators, Length(max=max_len), _no_nul], render_kw={"maxlength": max_len},
                       default="", **kw)


def _number(label: str, low: int, high: int, *validators, **kw) -> IntegerField:
    return IntegerField(label, [*validators, NumberRange(low, high)], render_kw={"min": low, "max": high}, **kw)


# --- auth -------------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    login = _text("Login", 254, DataRequired())
    password = PasswordField("Password", [DataRequired(), Length(max=MAX_PASSWORD)])
    next = HiddenField(validators=[Length(max=2000)])


class InviteForm(FlaskForm):
    password = PasswordField(f"Password ({MIN_PASSWORD} characters or more)",
                             [DataRequired(), Length(MIN_PASSWORD, MAX_PASSWORD)],
                             render_kw={"minlength": MIN_PASSWORD, "autocomplete": "new-password"})
    confirm = PasswordField("Once more", [DataRequired(), EqualTo("password", "The two passwords differ.")],
                            render_kw={"minlength": MIN_PASSWORD, "autocomplete": "new-password"})


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""


# --- alumnus ----------------------------------------------------------------------------------


class ProfileForm(FlaskForm):
    home = _text("Home (US city and state, or ZIP code)", 200)
    interests = TextAreaField("Interests", [Length(max=2000), _no_nul], render_kw={"maxlength": 2000, "rows": 3},
                              default="")
    japanese_level = _number("Japanese (0–5)", 0, 5, InputRequired())
    availability_hours = _number("Hours a month", 0, 168, InputRequired())
    max_matches = _number("Committees at once", 0, 50, InputRequired())
    consent = BooleanField("Suggest me to sister-city committees")
    consent_contact = BooleanField("Share my e-mail with a committee once a coordinator approves an introduction")


def _next_year() -> int:
    return dt.date.today().year + 1


class PlacementForm(FlaskForm):
    place = _text("Town or city, old names too", 200, DataRequired())
    role = SelectField("Role", choices=list(ROLES), default="ALT")
    start_year = _number("From", FIRST_JET_YEAR, 2100, InputRequired())
    end_year = _number("To", FIRST_JET_YEAR, 2100, InputRequired())
    employer = _text("Employer", 200)

    def validate_start_year(self, field) -> None:
        if field.data is not None and field.data > _next_year():
            raise ValidationError(f"JET years run from {FIRST_JET_YEAR} to {_next_year()}.")

    def validate_end_year(self, field) -> None:
        start = self.start_year.data
        if field.data is not None and start is not None and not start <= field.data <= start + 10:
            raise ValidationError("The end year is the start year or up to ten years after it.")


# --- coordinator ------------------------------------------------------------------------------


class DecideForm(FlaskForm):
    status = SelectField(choices=list(DECISION_STATUSES))
    note = _text("Note", NOTE_MAX)
    expected = IntegerField(validators=[Optional(), NumberRange(0, MAX_ID)])


class BulkForm(FlaskForm):
    note = _text("Note for all ticked", NOTE_MAX)


def chapter_choices(chapters) -> list[SelectChoice]:
    """The chapter select's options: none (for roles other than chapter lead), then each chapter."""
    return [SelectChoice("", "—"), *(SelectChoice(c.slug, c.name) for c in chapters)]


class ImportForm(FlaskForm):
    kind = SelectField("The file holds", choices=["alumni", "placements", "relationships", "chapters"])
    file = FileField("CSV file (UTF-8)", [FileRequired("Choose a CSV file.")],
                     render_kw={"accept": ".csv,text/csv"})
    dry_run = BooleanField("Only check, write nothing", default=True)


class UserForm(FlaskForm):
    login = _text("Login (e-mail)", 254, DataRequired())
    role = SelectField("Role", choices=list(USER_ROLES))
    chapter = SelectField("Chapter (leads)", choices=[SelectChoice("", "—")], default="")
    relationship_id = IntegerField("Relationship id (committees)", [Optional(), NumberRange(1, MAX_ID)],
                                   render_kw={"inputmode": "numeric", "size": 6})
    alum = _text("Alum external id (alumni)", 64)
