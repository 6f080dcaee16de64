"""Every Redis key prefix and pub/sub channel name the project uses, in one place.

One Redis database is shared by the API processes and the workers, and may be shared
with other applications too: every name here starts with `learntwin:`, so nothing of
ours collides with anyone else's and an operator can see what is ours. Keys that arq
writes (`arq:job:…`, `arq:in-progress:…`, `arq:result:…`) are named by arq itself, in
`arq.constants`.

Nothing here does I/O: the modules that read and write these keys import the names.
"""

from __future__ import annotations

# --- jobs ------------------------------------------------------------------------------

# arq's queue (a sorted set of job ids by the time they are due).
QUEUE_NAME = "learntwin:queue"

# --- change notifications (pub/sub) ------------------------------------------------------

# Every channel is published as EVENT_PREFIX + a channel name below, so one pattern
# subscription (EVENT_PREFIX + "*") per API process hears them all.
EVENT_PREFIX = "learntwin:event:"

MODEL_CHANNEL = "model"  # a new score model is active


def class_channel(class_id: str) -> str:
    """A class's metrics changed (ingest committed)."""
    return f"class:{class_id}"


def task_channel(task_id: str) -> str:
    """A task's status or result changed."""
    return f"task:{task_id}"


def profile_channel(student_id: str) -> str:
    """A student has a new learner profile."""
    return f"profile:{student_id}"


def skill_channel(student_id: str) -> str:
    """A student's skill levels changed (evidence committed)."""
    return f"skill:{student_id}"


def goal_channel(goal_id: str) -> str:
    """A goal changed or has a new path version."""
    return f"goal:{goal_id}"


def recommendation_channel(student_id: str) -> str:
    """A student's recommendations changed (made, answered, expired or superseded)."""
    return f"recommendation:{student_id}"


# --- learning-path recomputes -------------------------------------------------------------

# Students whose paths and recommendations are out of date (a hash: student id -> what
# changed), taken by the coalesced job of each student; the sweeper queues the job again
# for any student still listed, so a change that lands while a job finishes is not lost.
PLANS_DIRTY = "learntwin:plans-dirty"


# When the sweeper last looked for reviews falling due (an ISO time): each sweep marks
# the students whose reviews fell due since, so a path gains its REVIEW steps on time.
REVIEWS_SWEPT_AT = "learntwin:reviews-swept-at"


def plans_job_id(student_id: str) -> str:
    """One job per student at a time: arq keeps a single job under this id."""
    return f"learntwin:plans:{student_id}"


# --- tutor replies ---------------------------------------------------------------------


def tutor_stream(message_id: str) -> str:
    """The numbered events of one streamed reply (a Redis Stream; entry ids 0-<seq>)."""
    return f"learntwin:tutor:{message_id}"


def tutor_cancel(message_id: str) -> str:
    """Set when the learner cancels the reply: the worker streaming it stops."""
    return f"learntwin:tutor-cancel:{message_id}"


# --- worker heartbeats --------------------------------------------------------------------

# One key per live worker (WORKER_PREFIX + its name, with a short TTL) and a set of the
# names, so counting live workers reads only these and never scans the keyspace.
WORKER_PREFIX = "learntwin:worker:"
WORKER_REGISTRY = "learntwin:workers"

# --- attempt limits -----------------------------------------------------------------------

THROTTLE_PREFIX = "learntwin:throttle:"  # + the limit's own key (e.g. "login:email:…")

# --- the prediction cache -----------------------------------------------------------------

PREDICTION_PREFIX = "learntwin:prediction:"
# Hits and misses (a hash), and the cached keys by expiry time (a sorted set): together
# they answer cache statistics and clear the cache without scanning the keyspace.
PREDICTION_STATS = "learntwin:prediction-stats"
PREDICTION_INDEX = "learntwin:prediction-index"


def prediction_prefix(version: str) -> str:
    """The prefix of one model version's cached predictions: a new version never reads
    an older version's answers."""
    return f"{PREDICTION_PREFIX}{version}:"
