"""What paths, recommendations and dashboards are computed from: the skill graph, a
student's levels (at the prior where there is no evidence), the published lessons that
teach skills, and the student's stored activity. Reads are batched over students where
a page of students may ask for them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from db.engine import Target, fetch, grouped

Row = dict[str, Any]


async def skill_graph(target: Target) -> dict[str, list[str]]:
    """Every skill's prerequisites (skills without any are left out)."""
    rows = await fetch(
        target, "SELECT skill_id, prerequisite_id FROM skill_prerequisites ORDER BY 1, 2"
    )
    return grouped(rows, "skill_id", "prerequisite_id")


async def levels_with_priors(
    target: Target, student_id: str, skill_ids: Sequence[str]
) -> dict[str, Row]:
    """Per skill (known ones only): its name, and the student's level, or the prior with
    no evidence (`opportunities` 0, `card` null)."""
    rows = await fetch(
        target,
        """
        SELECT k.id AS skill_id, k.name, k.prior, k.learn, k.guess, k.slip, k.forget,
               coalesce(l.p_mastery, k.prior) AS p_mastery,
               coalesce(l.opportunities, 0) AS opportunities, coalesce(l.correct, 0) AS correct,
               coalesce(l.recent, '[]') AS recent, l.card, l.last_practiced_at
        FROM skills AS k
        LEFT JOIN skill_levels AS l ON l.skill_id = k.id AND l.student_id = $1
        WHERE k.id = ANY($2::text[])
        """,
        student_id,
        list(skill_ids),
    )
    return {row["skill_id"]: dict(row) for row in rows}


async def mastery_of_pairs(
    target: Target, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Row]:
    """By (skill, student): pMastery, or the skill's prior without evidence; unknown
    skills are absent."""
    rows = await fetch(
        target,
        """
        SELECT p.skill, p.student, coalesce(l.p_mastery, k.prior) AS p_mastery
        FROM unnest($1::text[], $2::text[]) AS p(skill, student)
        JOIN skills AS k ON k.id = p.skill
        LEFT JOIN skill_levels AS l ON l.skill_id = p.skill AND l.student_id = p.student
        """,
        [skill for skill, _ in pairs],
        [student for _, student in pairs],
    )
    return {(row["skill"], row["student"]): dict(row) for row in rows}


async def progress_of_pairs(
    target: Target, pairs: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Row]:
    """By (lesson, student): the stored progress status and newest activity; untouched
    lessons are absent."""
    rows = await fetch(
        target,
        """
        SELECT p.lesson_id, p.student_id, p.status, p.last_activity_at FROM lesson_progress AS p
        WHERE (p.student_id, p.lesson_id) IN (SELECT s, l FROM unnest($1::text[], $2::text[]) AS u(l, s))
        """,
        [lesson for lesson, _ in pairs],
        [student for _, student in pairs],
    )
    return {(row["lesson_id"], row["student_id"]): dict(row) for row in rows}


async def teaching_lessons(target: Target, student_id: str, skill_ids: Sequence[str]) -> list[Row]:
    """The published lessons of published courses that teach any of the skills, one row
    per (lesson, skill), with the lesson's place in its course (`course_position`: module
    position then lesson position) and whether the student is enrolled in its course."""
    rows = await fetch(
        target,
        """
        SELECT l.id AS lesson_id, l.title, l.course_id, l.difficulty, l.estimated_minutes,
               l.content_type, k.skill_id, k.weight,
               (m.position, l.position) AS place,
               EXISTS (SELECT 1 FROM enrollments AS e WHERE e.student_id = $1
                       AND e.course_id = l.course_id AND e.status <> 'DROPPED') AS enrolled
        FROM lesson_skills AS k
        JOIN lessons AS l ON l.id = k.lesson_id
        JOIN modules AS m ON m.id = l.module_id
        JOIN courses AS c ON c.id = l.course_id
        WHERE k.skill_id = ANY($2::text[]) AND l.published AND c.published
          AND l.deleted_at IS NULL
        ORDER BY l.course_id, m.position, l.position, l.id, k.skill_id
        """,
        student_id,
        list(skill_ids),
    )
    return [dict(row) for row in rows]


async def due_reviews(
    target: Target, student_ids: Sequence[str], by: datetime, limit: int | None
) -> dict[str, list[Row]]:
    """Per student: levels whose FSRS review is due by `by`, most overdue first, with the
    skill's tracing parameters (rows as db.learner_model reads them) and `due`."""
    rows = await fetch(
        target,
        """
        SELECT r.* FROM unnest($1::text[]) AS o(id)
        CROSS JOIN LATERAL (
            SELECT l.student_id, l.skill_id, l.p_mastery, l.opportunities, l.correct, l.recent,
                   l.last_practiced_at, l.card, l.updated_at, k.name, k.prior, k.learn, k.guess,
                   k.slip, k.forget, (l.card->>'due')::timestamptz AS due
            FROM skill_levels AS l JOIN skills AS k ON k.id = l.skill_id
            WHERE l.student_id = o.id AND l.card->>'last_review' IS NOT NULL
              AND (l.card->>'due')::timestamptz <= $2
            ORDER BY (l.card->>'due')::timestamptz, l.skill_id
            LIMIT $3
        ) AS r
        """,
        list(student_ids),
        by,
        limit,
    )
    return grouped(rows, "student_id")


async def level_summaries(target: Target, student_ids: Sequence[str]) -> dict[str, list[Row]]:
    """Per student: every level with evidence (skill_id, name, p_mastery, opportunities,
    recent)."""
    rows = await fetch(
        target,
        """
        SELECT l.student_id, l.skill_id, k.name, l.p_mastery, l.opportunities, l.recent,
               l.last_practiced_at
        FROM skill_levels AS l JOIN skills AS k ON k.id = l.skill_id
        WHERE l.student_id = ANY($1::text[]) AND l.opportunities > 0
        ORDER BY l.student_id, l.skill_id
        """,
        list(student_ids),
    )
    return grouped(rows, "student_id")


async def lesson_efforts(target: Target, student_ids: Sequence[str]) -> dict[str, list[Row]]:
    """Per student: the progress on every lesson touched, with the lesson's estimate,
    difficulty, content type and skills."""
    rows = await fetch(
        target,
        """
        SELECT p.student_id, p.lesson_id, p.status, p.completion, p.active_seconds, p.pauses,
               p.rewinds, p.first_activity_at, p.last_activity_at, p.completed_at,
               l.estimated_minutes, l.difficulty,
               coalesce((SELECT array_agg(s.skill_id ORDER BY s.skill_id)
                         FROM lesson_skills AS s WHERE s.lesson_id = p.lesson_id), '{}')
                   AS skill_ids
        FROM lesson_progress AS p JOIN lessons AS l ON l.id = p.lesson_id
        WHERE p.student_id = ANY($1::text[])
        ORDER BY p.student_id, p.last_activity_at DESC NULLS LAST, p.lesson_id
        """,
        list(student_ids),
    )
    return grouped(rows, "student_id")


async def activity_events(
    target: Target, student_ids: Sequence[str], since: datetime, until: datetime
) -> dict[str, list[Row]]:
    """Per student, oldest first: every lesson activity, quiz submission and tutor turn
    (a message the learner sent) in [since, until): kind LESSON, QUIZ or TUTOR, `at`,
    active seconds, content type, score."""
    rows = await fetch(
        target,
        """
        SELECT a.student_id, 'LESSON' AS kind, a.occurred_at AS at,
               coalesce((a.activity->>'active_seconds')::int, 0) AS active_seconds,
               l.content_type, NULL::float8 AS score
        FROM lesson_activities AS a JOIN lessons AS l ON l.id = a.lesson_id
        WHERE a.student_id = ANY($1::text[]) AND a.occurred_at >= $2 AND a.occurred_at < $3
        UNION ALL
        SELECT q.student_id, 'QUIZ', q.submitted_at, 0, NULL, q.score
        FROM quiz_attempts AS q
        WHERE q.student_id = ANY($1::text[]) AND q.submitted_at >= $2 AND q.submitted_at < $3
        UNION ALL
        SELECT m.student_id, 'TUTOR', m.created_at, 0, NULL, NULL
        FROM chat_messages AS m
        WHERE m.student_id = ANY($1::text[]) AND m.role = 'USER'
          AND m.created_at >= $2 AND m.created_at < $3
        ORDER BY 1, 3
        """,
        list(student_ids),
        since,
        until,
    )
    return grouped(rows, "student_id")


async def metric_flags(
    target: Target, student_ids: Sequence[str], since: datetime, until: datetime
) -> dict[str, Row]:
    """Per student: class metric records in [since, until) and how many were marked
    pause and stuck."""
    rows = await fetch(
        target,
        """
        SELECT student_id, count(*) AS records, count(*) FILTER (WHERE pause) AS pauses,
               count(*) FILTER (WHERE stuck) AS stuck
        FROM metrics WHERE student_id = ANY($1::text[]) AND ts >= $2 AND ts < $3
        GROUP BY 1
        """,
        list(student_ids),
        since,
        until,
    )
    return {row["student_id"]: dict(row) for row in rows}


async def graded_answers(
    target: Target, student_ids: Sequence[str], until: datetime, limit: int
) -> dict[str, list[bool]]:
    """Per student: the outcomes of the last `limit` graded quiz answers before `until`,
    oldest first."""
    rows = await fetch(
        target,
        """
        SELECT o.id AS student_id, coalesce(array_agg(e.correct ORDER BY e.id)
                                            FILTER (WHERE e.id IS NOT NULL), '{}') AS answers
        FROM unnest($1::text[]) AS o(id)
        LEFT JOIN LATERAL (
            SELECT id, correct FROM mastery_events
            WHERE student_id = o.id AND source = 'QUIZ_ANSWER' AND correct IS NOT NULL
              AND at < $2
            ORDER BY id DESC LIMIT $3
        ) AS e ON true
        GROUP BY 1
        """,
        list(student_ids),
        until,
        limit,
    )
    return {row["student_id"]: list(row["answers"]) for row in rows}


async def open_enrollments(target: Target, student_id: str) -> list[Row]:
    """The student's ACTIVE enrolments, oldest first, with their course's title and
    published lesson ids in course order."""
    rows = await fetch(
        target,
        """
        SELECT e.id, e.course_id, c.title AS course_title,
               coalesce((SELECT array_agg(l.id ORDER BY m.position, l.position, l.id)
                         FROM lessons AS l JOIN modules AS m ON m.id = l.module_id
                         WHERE l.course_id = e.course_id AND l.published
                           AND l.deleted_at IS NULL), '{}') AS lesson_ids
        FROM enrollments AS e JOIN courses AS c ON c.id = e.course_id
        WHERE e.student_id = $1 AND e.status = 'ACTIVE' AND c.published
        ORDER BY e.enrolled_at, e.id
        """,
        student_id,
    )
    return [dict(row) for row in rows]


async def active_days(
    target: Target, zones: dict[str, str], since: datetime, until: datetime
) -> dict[str, list[Any]]:
    """Per student: the distinct local dates (in the student's zone, an IANA name) with a
    lesson activity, quiz submission or tutor turn in [since, until), oldest first."""
    students = sorted(zones)
    rows = await fetch(
        target,
        """
        SELECT o.id AS student_id, d.day FROM unnest($1::text[], $2::text[]) AS o(id, zone)
        CROSS JOIN LATERAL (
            SELECT DISTINCT (t.at AT TIME ZONE o.zone)::date AS day FROM (
                SELECT occurred_at AS at FROM lesson_activities
                WHERE student_id = o.id AND occurred_at >= $3 AND occurred_at < $4
                UNION ALL
                SELECT submitted_at FROM quiz_attempts
                WHERE student_id = o.id AND submitted_at >= $3 AND submitted_at < $4
                UNION ALL
                SELECT created_at FROM chat_messages
                WHERE student_id = o.id AND role = 'USER' AND created_at >= $3
                  AND created_at < $4
            ) AS t
        ) AS d
        ORDER BY 1, 2
        """,
        students,
        [zones[s] for s in students],
        since,
        until,
    )
    return grouped(rows, "student_id", "day")
