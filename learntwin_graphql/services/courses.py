"""The course catalogue: courses, modules and lessons written by staff, each value checked
by `services.course_checks` (BAD_USER_INPUT naming the input field; the write inputs are
its dataclasses, re-exported here) and each change of a course's content bumping its
content version in the same transaction; the course list as a caller may see it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from db import course_writes
from db import courses as courses_db
from learntwin_graphql import permissions
from learntwin_graphql.auth import Principal
from learntwin_graphql.errors import BadUserInput, NotFound
from learntwin_graphql.runtime import Runtime
from learntwin_graphql.services import goals
from learntwin_graphql.services.course_checks import (
    DESCRIPTION_MAX,
    NULLABLE,
    TITLE_MAX,
    CompletionWrite,
    CourseWrite,
    LessonWrite,
    ModuleWrite,
    PrerequisiteWrite,
    SkillWeight,
    check_all_exist,
    check_cycles,
    check_distinct,
    check_lesson_links,
    check_position,
    check_prerequisites,
    check_required,
    check_skills,
    check_skills_exist,
    check_text,
    check_title,
    course_columns,
    lesson_columns,
)

__all__ = [
    "CompletionWrite",
    "CourseWrite",
    "LessonWrite",
    "ModuleWrite",
    "PrerequisiteWrite",
    "SkillWeight",
    "create_course",
    "create_lesson",
    "create_module",
    "delete_lesson",
    "page",
    "update_course",
    "update_lesson",
]


# --- courses -------------------------------------------------------------------------------


async def create_course(runtime: Runtime, principal: Principal, course: CourseWrite) -> str:
    """A new, unpublished course (staff); its prerequisite courses must exist."""
    permissions.require_staff(principal)
    field = "input.prerequisiteCourseIds"
    columns = course_columns(vars(course))
    prerequisites = check_distinct(course.prerequisite_course_ids, field, "Course")
    course_id = course_writes.new_id("course")
    async with runtime.engine.begin() as conn:
        await check_all_exist(conn, "courses", prerequisites, field, "course")
        await course_writes.insert_course(conn, {"id": course_id, **columns})
        await course_writes.set_prerequisites(conn, "course", course_id, prerequisites)
    await goals.content_changed(runtime)
    return course_id


async def update_course(
    runtime: Runtime, principal: Principal, course_id: str, changes: Mapping[str, Any]
) -> str:
    """Change the given fields of a course (staff), bumping its content version; a
    prerequisite that is the course itself, unknown or closing a cycle is refused."""
    permissions.require_staff(principal)
    if not changes:  # nothing to change: no new content version either
        if not await courses_db.courses_by_id(runtime.reads, [course_id]):
            raise NotFound(f"No course {course_id!r}.", field="input.id")
        return course_id
    field = "input.prerequisiteCourseIds"
    columns = course_columns(changes)
    prerequisites = None
    if "prerequisite_course_ids" in changes:
        prerequisites = check_distinct(
            check_required(changes, "prerequisite_course_ids"), field, "Course"
        )
    async with runtime.engine.begin() as conn:
        if prerequisites is not None:
            await course_writes.lock_graph(conn, "course")
        if await course_writes.touch_course(conn, course_id) is None:
            raise NotFound(f"No course {course_id!r}.", field="input.id")
        if prerequisites is not None:
            for index, value in enumerate(prerequisites):
                if value == course_id:
                    raise BadUserInput(
                        "A course cannot be its own prerequisite.", field=f"{field}.{index}"
                    )
            await check_all_exist(conn, "courses", prerequisites, field, "course")
            await check_cycles(conn, "course", course_id, prerequisites, field)
            await course_writes.set_prerequisites(conn, "course", course_id, prerequisites)
        await course_writes.update_course(conn, course_id, columns)
    await goals.content_changed(runtime)
    return course_id


async def page(
    runtime: Runtime,
    principal: Principal,
    published: bool | None,
    search: str | None,
    after: tuple[str, str] | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Up to `limit` courses after `after` in title order; anyone but staff sees the
    published ones only (asking for unpublished ones gives none)."""
    drafts = permissions.sees_unpublished_content(principal)
    if search is not None and len(search) > TITLE_MAX:
        raise BadUserInput(f"`search` must be at most {TITLE_MAX} characters.", field="search")
    if not drafts:
        if published is False:
            return []
        published = True
    return await courses_db.course_page(runtime.reads, published, search or None, after, limit)


# --- modules -------------------------------------------------------------------------------


async def create_module(runtime: Runtime, principal: Principal, module: ModuleWrite) -> str:
    """A new module of a course (staff) at `position` (default: the end), the later
    modules moved down; its prerequisites must be earlier modules of the same course."""
    permissions.require_staff(principal)
    field = "input.prerequisiteModuleIds"
    title = check_title(module.title, "input.title")
    description = check_text(module.description, DESCRIPTION_MAX, "input.description")
    position = check_position(module.position, "input.position")
    prerequisites = check_distinct(module.prerequisite_module_ids, field, "Module")
    module_id = course_writes.new_id("module")
    async with runtime.engine.begin() as conn:
        if await course_writes.touch_course(conn, module.course_id) is None:
            raise BadUserInput(f"No course {module.course_id!r}.", field="input.courseId")
        found = await course_writes.modules_in(conn, prerequisites) if prerequisites else {}
        for index, value in enumerate(prerequisites):
            row, where = found.get(value), f"{field}.{index}"
            if row is None:
                raise BadUserInput(f"No module {value!r}.", field=where)
            if row["course_id"] != module.course_id:
                raise BadUserInput(f"Module {value!r} belongs to another course.", field=where)
            if position is not None and row["position"] >= position:
                raise BadUserInput(
                    f"Module {value!r} comes at or after position {position}: a prerequisite"
                    " must be an earlier module.",
                    field=where,
                )
        await course_writes.insert_module(
            conn,
            {
                "id": module_id,
                "course_id": module.course_id,
                "title": title,
                "description": description,
                "position": position,
            },
        )
        await course_writes.set_prerequisites(conn, "module", module_id, prerequisites)
    await goals.content_changed(runtime)
    return module_id


# --- lessons -------------------------------------------------------------------------------


async def create_lesson(runtime: Runtime, principal: Principal, lesson: LessonWrite) -> str:
    """A new, published lesson of a module (staff) at `position` (default: the end)."""
    permissions.require_staff(principal)
    position = check_position(lesson.position, "input.position")
    columns = lesson_columns(vars(lesson))
    skills = check_skills(lesson.skills, "input.skills")
    prerequisites = check_prerequisites(lesson.prerequisites, "input.prerequisites")
    lesson_id = course_writes.new_id("lesson")
    async with runtime.engine.begin() as conn:
        module = (await course_writes.modules_in(conn, [lesson.module_id])).get(lesson.module_id)
        if module is None:
            raise BadUserInput(f"No module {lesson.module_id!r}.", field="input.moduleId")
        await course_writes.touch_course(conn, module["course_id"])
        await check_skills_exist(conn, skills)
        await check_lesson_links(conn, lesson_id, prerequisites, lesson.quiz_id)
        row = {"id": lesson_id, "module_id": module["id"], "course_id": module["course_id"]}
        await course_writes.insert_lesson(conn, {**row, "published": True, **columns}, position)
        await course_writes.set_lesson_skills(conn, lesson_id, skills)
        await course_writes.set_lesson_prerequisites(conn, lesson_id, prerequisites)
    await goals.content_changed(runtime)
    return lesson_id


async def update_lesson(
    runtime: Runtime, principal: Principal, lesson_id: str, changes: Mapping[str, Any]
) -> str:
    """Change the given fields of a lesson (staff), bumping its course's content version;
    skills, prerequisites and completion are replaced as a whole."""
    permissions.require_staff(principal)
    if not changes:  # nothing to change: no new content version either
        if not await courses_db.lessons_by_id(runtime.reads, [lesson_id]):
            raise NotFound(f"No lesson {lesson_id!r}.", field="input.id")
        return lesson_id
    for name in changes:
        if name not in NULLABLE:
            check_required(changes, name)
    position = check_position(changes.get("position"), "input.position")
    columns = lesson_columns(changes)
    skills = check_skills(changes["skills"], "input.skills") if "skills" in changes else None
    prerequisites = None
    if "prerequisites" in changes:
        prerequisites = check_prerequisites(changes["prerequisites"], "input.prerequisites")
    async with runtime.engine.begin() as conn:
        if prerequisites is not None:
            await course_writes.lock_graph(conn, "lesson")
        course_id = await course_writes.course_of_lesson(conn, lesson_id)
        if course_id is not None:
            await course_writes.touch_course(conn, course_id)
        # Read under the course's lock: a lesson deleted meanwhile is not found.
        lesson = (await course_writes.live_lessons_in(conn, [lesson_id])).get(lesson_id)
        if lesson is None:
            raise NotFound(f"No lesson {lesson_id!r}.", field="input.id")
        if skills is not None:
            await check_skills_exist(conn, skills)
            await course_writes.set_lesson_skills(conn, lesson_id, skills)
        await check_lesson_links(conn, lesson_id, prerequisites, columns.get("quiz_id"))
        if prerequisites is not None:
            field = "input.prerequisites"
            ids = [p["lesson_id"] for p in prerequisites]
            await check_cycles(conn, "lesson", lesson_id, ids, field)
            await course_writes.set_lesson_prerequisites(conn, lesson_id, prerequisites)
        if position is not None:
            await course_writes.move_lesson(conn, lesson, position)
        await course_writes.update_lesson(conn, lesson_id, columns)
    await goals.content_changed(runtime)
    return lesson_id


class _Unchanged(Exception):
    """Ends a transaction that turned out to change nothing (rolled back)."""


async def delete_lesson(runtime: Runtime, principal: Principal, lesson_id: str) -> str:
    """Soft-delete a lesson (staff): it disappears from every read; progress and evidence
    keep pointing at it. A lesson deleted already stays so (nothing changes: a retried
    delete succeeds); NOT_FOUND when there never was one."""
    permissions.require_staff(principal)
    try:
        async with runtime.engine.begin() as conn:
            course_id = await course_writes.course_of_lesson(conn, lesson_id)
            if course_id is None:
                raise NotFound(f"No lesson {lesson_id!r}.", field="id")
            await course_writes.touch_course(conn, course_id)
            if not await course_writes.delete_lesson(conn, lesson_id):
                raise _Unchanged
    except _Unchanged:
        pass
    await goals.content_changed(runtime)
    return lesson_id
