"""Who may do what: every access rule of the server, decided here and nowhere else.

Roles: ADMIN may do everything; INSTRUCTOR reads and writes all class and student data
(ingest, courses); a LEARNER reaches only the student linked to the account, and the
tasks it started. Loaders apply these rules where data is loaded, services where data
is written, subscriptions when they start; resolvers and routes never decide.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from learntwin_graphql.auth import Principal, Role
from learntwin_graphql.errors import Forbidden, Unauthenticated

STAFF = (Role.ADMIN, Role.INSTRUCTOR)


def require_authenticated(principal: Principal) -> Principal:
    """Anyone with valid credentials."""
    if not principal.authenticated:
        raise Unauthenticated()
    return principal


def require_role(principal: Principal, *roles: Role) -> Principal:
    """A caller holding one of `roles`."""
    require_authenticated(principal)
    if principal.role not in roles:
        allowed = " or ".join(role.value for role in roles)
        raise Forbidden(f"This needs the {allowed} role.")
    return principal


def require_staff(principal: Principal) -> Principal:
    """ADMIN or INSTRUCTOR: class data, ingest, every student."""
    return require_role(principal, *STAFF)


def require_admin(principal: Principal) -> Principal:
    return require_role(principal, Role.ADMIN)


def is_staff(principal: Principal) -> bool:
    return principal.role in STAFF


def require_student(principal: Principal, student_id: str) -> Principal:
    """Staff, or the LEARNER linked to this student."""
    require_authenticated(principal)
    if is_staff(principal) or principal.student_id == student_id:
        return principal
    raise Forbidden("A learner sees only the student linked to the account.")


def require_task_owner(principal: Principal, task: Mapping[str, Any]) -> Principal:
    """Staff see every task; anyone else only the tasks they started."""
    require_authenticated(principal)
    if is_staff(principal):
        return principal
    if principal.user_id is None or task["owner_user_id"] != principal.user_id:
        raise Forbidden("This task belongs to someone else.")
    return principal


def require_self(principal: Principal, user_id: int) -> Principal:
    """A user's own account (staff read any)."""
    require_authenticated(principal)
    if is_staff(principal) or principal.user_id == user_id:
        return principal
    raise Forbidden("This account belongs to someone else.")


def student_acted_for(principal: Principal, student_id: str | None) -> str | None:
    """The student a request acts for: any (or none) for staff; for a LEARNER the linked
    student, which is also the default when none is named."""
    require_authenticated(principal)
    if is_staff(principal):
        return student_id
    chosen = student_id or principal.student_id
    if chosen is None:
        raise Forbidden("This account is not linked to a student.")
    require_student(principal, chosen)
    return chosen


def can_see_content(
    principal: Principal, published_course: bool, published_lesson: bool = True
) -> bool:
    """Whether the caller sees a course (or a module of it) or a lesson: staff see every
    one that is not deleted, anyone else signed in only the published lessons of published
    courses. Anonymous callers are refused (UNAUTHENTICATED)."""
    require_authenticated(principal)
    return is_staff(principal) or (published_course and published_lesson)


def sees_unpublished_content(principal: Principal) -> bool:
    """Whether lists of courses and lessons include unpublished ones for the caller
    (the rule of `can_see_content`, for lists filtered where they are read)."""
    require_authenticated(principal)
    return is_staff(principal)
