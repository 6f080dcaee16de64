"""Learning paths: which lessons, in which order, teach a goal's target skills.

A path is due reviews first (most overdue first), then one LEARN step per lesson for the
skills the goal still needs, prerequisites first. Everything here is a pure function of
its input (the current time included), so a path can be rebuilt and compared at will:
`step_keys` names a version of a path and `path_diff` says how two versions differ.

Targets are identified by skill: when a goal lists a skill twice, its first entry counts.
The prerequisite graph is expected to be a DAG (as `ml.skill_graph.check_graph` ensures);
a cycle among needed skills raises graphlib.CycleError.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ml.learner_model import MASTERED_AT
from ml.skill_graph import ancestors, descendants, topological_order

LEARN = "LEARN"
REVIEW = "REVIEW"

TARGET_SKILL = "TARGET_SKILL"
PREREQUISITE = "PREREQUISITE"
REVIEW_DUE = "REVIEW_DUE"
REMEDIATION = "REMEDIATION"


@dataclass(frozen=True)
class Target:
    """One target skill of a goal: reached when its mastery is at least target_mastery."""

    skill_id: str
    target_mastery: float


@dataclass(frozen=True)
class LessonOption:
    """A published lesson that may go on a path, with the skills it teaches and their weights."""

    lesson_id: str
    course_order: int
    position: int
    difficulty: int
    estimated_minutes: int
    skills: Mapping[str, float]


@dataclass(frozen=True)
class PathInput:
    """Everything a path depends on; a skill missing from `mastery` counts as 0.0."""

    targets: Sequence[Target]
    mastery: Mapping[str, float]
    graph: Mapping[str, Sequence[str]]
    lessons: Sequence[LessonOption]
    completed_lessons: frozenset[str]
    due_reviews: Mapping[str, datetime]
    names: Mapping[str, str]
    now: datetime


@dataclass(frozen=True)
class PlannedStep:
    """One step: a lesson to LEARN (or REVIEW), the skills it covers and why."""

    kind: str
    lesson_id: str
    skills: tuple[str, ...]
    reason_code: str
    reason: str
    leads_to: tuple[str, ...]
    estimated_minutes: int


@dataclass(frozen=True)
class Plan:
    """The steps in order, the needed skills no lesson teaches, and the total minutes."""

    steps: tuple[PlannedStep, ...]
    uncovered: tuple[str, ...]
    estimated_minutes: int


@dataclass(frozen=True)
class Diff:
    """Indexes of what changed between two versions of a path (see `path_diff`)."""

    added: tuple[int, ...]
    removed: tuple[int, ...]
    moved: tuple[int, ...]


@dataclass(frozen=True)
class Gap:
    """A target below its target mastery and its prerequisites not yet mastered."""

    skill_id: str
    p_mastery: float
    target_mastery: float
    blocked_by: tuple[str, ...]


# --- the skills a goal needs --------------------------------------------------------


def _unique(targets: Iterable[Target]) -> list[Target]:
    """The targets in goal order, the first entry of a skill listed twice winning."""
    seen: dict[str, Target] = {}
    for target in targets:
        seen.setdefault(target.skill_id, target)
    return list(seen.values())


def _p(mastery: Mapping[str, float], skill_id: str) -> float:
    return mastery.get(skill_id, 0.0)


def _below(targets: Iterable[Target], mastery: Mapping[str, float]) -> list[Target]:
    return [t for t in _unique(targets) if _p(mastery, t.skill_id) < t.target_mastery]


def needed_skills(
    targets: Sequence[Target], mastery: Mapping[str, float], graph: Mapping[str, Sequence[str]]
) -> frozenset[str]:
    """The below-target targets plus all their prerequisite ancestors below MASTERED_AT.

    Ancestors are followed through mastered skills too: a mastered middle skill does not
    make an unmastered foundation under it any less necessary.
    """
    below = [t.skill_id for t in _below(targets, mastery)]
    prerequisites = {s for s in ancestors(graph, below) if _p(mastery, s) < MASTERED_AT}
    return frozenset(below) | prerequisites


def lesson_choices(lessons: Iterable[LessonOption]) -> dict[str, LessonOption]:
    """The lesson chosen for each skill some lesson teaches (a weight > 0).

    The highest weight wins (the lesson most about the skill), then the lowest difficulty,
    then (course_order, position, lesson_id) so the choice never depends on input order.
    """
    chosen: dict[str, LessonOption] = {}
    best: dict[str, tuple[float, int, int, int, str]] = {}
    for lesson in lessons:
        for skill_id, weight in lesson.skills.items():
            if not weight > 0:
                continue
            rank = (-weight, lesson.difficulty, lesson.course_order, lesson.position)
            key = (*rank, lesson.lesson_id)
            if skill_id not in best or key < best[skill_id]:
                best[skill_id] = key
                chosen[skill_id] = lesson
    return chosen


def path_order(
    needed: Iterable[str],
    graph: Mapping[str, Sequence[str]],
    chosen: Mapping[str, LessonOption],
) -> list[str]:
    """The needed skills, prerequisites first (also through skills that are not needed).

    Each skill's edges are its needed transitive ancestors, so A -> B -> C with only A and C
    needed still puts A before C. Skills ready together (one batch of
    `topological_order`) go by their lesson's course order, then its difficulty, then its
    place in the course, then id; skills no lesson teaches come after those with a lesson.
    """
    needed_set = set(needed)
    edges = {s: sorted((ancestors(graph, [s]) & needed_set) - {s}) for s in needed_set}

    def key(skill_id: str) -> tuple[int, int, int, int]:
        lesson = chosen.get(skill_id)
        if lesson is None:
            return (1, 0, 0, 0)
        return (0, lesson.course_order, lesson.difficulty, lesson.position)

    return topological_order(edges, key=key)


# --- reasons ------------------------------------------------------------------------


def _name(names: Mapping[str, str], skill_id: str) -> str:
    return names.get(skill_id) or skill_id


def _join(words: Sequence[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return f"{', '.join(words[:-1])} and {words[-1]}"


def _review_sentence(name: str, due: datetime, now: datetime) -> str:
    """Days counted as calendar days in `now`'s zone, so the date shown matches the count."""
    if due.tzinfo is not None and now.tzinfo is not None:
        due = due.astimezone(now.tzinfo)
    days = max(0, (now.date() - due.date()).days)
    when = "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"
    return f"Review of {name} was due {when} ({due.date().isoformat()})."


def _groups(
    skills: Iterable[str], chosen: Mapping[str, LessonOption]
) -> list[tuple[LessonOption, list[str]]]:
    """Skills grouped by their lesson, each group where its first skill is (dicts keep order)."""
    groups: dict[str, tuple[LessonOption, list[str]]] = {}
    for skill_id in skills:
        lesson = chosen.get(skill_id)
        if lesson is not None:
            groups.setdefault(lesson.lesson_id, (lesson, []))[1].append(skill_id)
    return list(groups.values())


# --- the path -----------------------------------------------------------------------


def build_path(inp: PathInput) -> Plan:
    """The goal's path: REVIEW steps for due goal skills, then LEARN steps for needed skills.

    Reviews cover the targets and all their ancestors (needed or not) whose review is due,
    earliest due first; a due skill no lesson teaches has no review step. A lesson may
    appear twice, once per kind. A LEARN step of a completed lesson is a REMEDIATION (the
    lesson did not bring the skill up); otherwise it is a TARGET_SKILL step when it covers
    a below-target target, else a PREREQUISITE step.
    """
    goal = [t.skill_id for t in _unique(inp.targets)]
    below = {t.skill_id: t for t in _below(inp.targets, inp.mastery)}
    chosen = lesson_choices(inp.lessons)

    def leads_to(skills: Sequence[str]) -> tuple[str, ...]:
        reach = set(skills) | descendants(inp.graph, skills)
        return tuple(s for s in goal if s in reach)

    def mastery(skill_id: str) -> str:
        return f"{_p(inp.mastery, skill_id):.2f}"

    steps: list[PlannedStep] = []

    goal_skills = set(goal) | ancestors(inp.graph, goal)
    due = sorted((at, s) for s, at in inp.due_reviews.items() if s in goal_skills)
    due_at = {s: at for at, s in due}
    for lesson, skills in _groups([s for _, s in due], chosen):
        reason = " ".join(_review_sentence(_name(inp.names, s), due_at[s], inp.now) for s in skills)
        steps.append(
            PlannedStep(
                kind=REVIEW,
                lesson_id=lesson.lesson_id,
                skills=tuple(skills),
                reason_code=REVIEW_DUE,
                reason=reason,
                leads_to=leads_to(skills),
                # A review revisits a known lesson: half its time, rounded up, never 0.
                estimated_minutes=max(1, math.ceil(lesson.estimated_minutes / 2)),
            )
        )

    order = path_order(needed_skills(inp.targets, inp.mastery, inp.graph), inp.graph, chosen)
    for lesson, skills in _groups(order, chosen):
        sentences: list[str] = []
        if lesson.lesson_id in inp.completed_lessons:
            code = REMEDIATION
            for s in skills:
                sentences.append(
                    f"{_name(inp.names, s)} is still at {mastery(s)} after completing this"
                    " lesson: revisit it."
                )
        else:
            code = TARGET_SKILL if any(s in below for s in skills) else PREREQUISITE
            for s in skills:
                teaches = f"Teaches {_name(inp.names, s)} (mastery {mastery(s)}"
                if s in below:
                    target = f"{below[s].target_mastery:.2f}"
                    sentences.append(f"{teaches}, target {target}): a target of this goal.")
                else:
                    # Named after the below-target targets it was needed for.
                    served = [_name(inp.names, t) for t in leads_to([s]) if t in below]
                    sentences.append(
                        f"{teaches}, below {MASTERED_AT:.2f}): a prerequisite of {_join(served)}."
                    )
        steps.append(
            PlannedStep(
                kind=LEARN,
                lesson_id=lesson.lesson_id,
                skills=tuple(skills),
                reason_code=code,
                reason=" ".join(sentences),
                leads_to=leads_to(skills),
                estimated_minutes=lesson.estimated_minutes,
            )
        )

    return Plan(
        steps=tuple(steps),
        uncovered=tuple(s for s in order if s not in chosen),
        estimated_minutes=sum(step.estimated_minutes for step in steps),
    )


# --- versions and their differences -------------------------------------------------


def step_keys(steps: Sequence[PlannedStep]) -> tuple[tuple[str, str], ...]:
    """The ordered (kind, lesson_id) of the steps: two paths are the same version iff equal.

    Reasons and numbers are left out, so new mastery alone does not make a new version.
    """
    return tuple((step.kind, step.lesson_id) for step in steps)


def path_diff(old: Sequence[tuple[str, str]], new: Sequence[tuple[str, str]]) -> Diff:
    """What changed from `old` to `new`, items compared by identity (kind, lesson_id).

    added: indexes in `new` of items not in `old`; removed: indexes in `old` of items not
    in `new`; moved: indexes in `new` of common items off a longest common subsequence of
    the common items, so a pure insertion or removal moves nothing and swapping two items
    moves one. Among several longest subsequences, the one keeping the earliest items of
    `new` counts (a swap of [a, b] to [b, a] moves a, index 1). Items are expected to be
    unique within each sequence, as step keys are.
    """
    old_set, new_set = set(old), set(new)
    added = tuple(i for i, item in enumerate(new) if item not in old_set)
    removed = tuple(i for i, item in enumerate(old) if item not in new_set)
    common_old = [item for item in old if item in new_set]
    common_new = [(i, item) for i, item in enumerate(new) if item in old_set]

    # lcs[i][j]: length of a longest common subsequence of common_old[i:], common_new[j:].
    n, m = len(common_old), len(common_new)
    lcs = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if common_old[i] == common_new[j][1]:
                lcs[i][j] = 1 + lcs[i + 1][j + 1]
            else:
                lcs[i][j] = max(lcs[i + 1][j], lcs[i][j + 1])

    # Walk `new` in order and keep an item whenever a longest subsequence can still use it.
    moved: list[int] = []
    i = 0
    for j, (index, item) in enumerate(common_new):
        match = next((k for k in range(i, n) if common_old[k] == item), None)
        if match is not None and 1 + lcs[match + 1][j + 1] == lcs[i][j]:
            i = match + 1
        else:
            moved.append(index)
    return Diff(added=added, removed=removed, moved=tuple(moved))


# --- progress -----------------------------------------------------------------------


def goal_progress(targets: Sequence[Target], mastery: Mapping[str, float]) -> float:
    """The share of targets at or above their target mastery (1.0 for a goal without any)."""
    unique = _unique(targets)
    if not unique:
        return 1.0
    reached = sum(1 for t in unique if _p(mastery, t.skill_id) >= t.target_mastery)
    return reached / len(unique)


def is_reached(targets: Sequence[Target], mastery: Mapping[str, float]) -> bool:
    """Whether every target is at or above its target mastery (True without targets)."""
    return not _below(targets, mastery)


def _distances(graph: Mapping[str, Sequence[str]], start: str) -> dict[str, int]:
    """Breadth-first prerequisite distance of every ancestor of `start` (parents at 1)."""
    distance: dict[str, int] = {}
    queue = deque([start])
    seen = {start}
    while queue:
        node = queue.popleft()
        for prerequisite in graph.get(node, ()):
            if prerequisite not in seen:
                seen.add(prerequisite)
                distance[prerequisite] = distance.get(node, 0) + 1
                queue.append(prerequisite)
    return distance


def gaps(
    targets: Sequence[Target], mastery: Mapping[str, float], graph: Mapping[str, Sequence[str]]
) -> list[Gap]:
    """One Gap per target below its target, in goal order.

    blocked_by: the target's prerequisite ancestors below MASTERED_AT, nearest first (the
    shortest prerequisite distance from the target, ties by id), so the skills the student
    would meet first are named first.
    """
    result: list[Gap] = []
    for target in _below(targets, mastery):
        distance = _distances(graph, target.skill_id)
        blocked = sorted((d, s) for s, d in distance.items() if _p(mastery, s) < MASTERED_AT)
        result.append(
            Gap(
                skill_id=target.skill_id,
                p_mastery=_p(mastery, target.skill_id),
                target_mastery=target.target_mastery,
                blocked_by=tuple(s for _, s in blocked),
            )
        )
    return result
