"""The `learntwin` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from learntwin_graphql.config import (
    DEV_API_KEY,
    Settings,
    SettingsError,
    load_settings,
)

console = Console(stderr=True)
_ROLES = click.Choice(["ADMIN", "INSTRUCTOR", "LEARNER"], case_sensitive=False)
# `serve` hands its flags to the app factory through the environment, so that
# `--reload` (which re-imports the app in a child process) keeps them.
_WORKER_ENV = "LEARNTWIN_SERVE_WORKER"
_DEMO_ENV = "LEARNTWIN_SERVE_DEMO"


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


def _run(main: Callable[[Settings], Awaitable[Any]]) -> Any:
    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return asyncio.run(main(settings))


@click.group()
def main() -> None:
    """LearnTwin GraphQL: one GraphQL API for learning analytics."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-worker", is_flag=True, help="Do not run a background worker in this process.")
@click.option("--demo", is_flag=True, help="Load a demo data set into an empty database.")
@click.option("--reload", is_flag=True, help="Restart when the code changes (development).")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="API processes sharing the port (one per core serves the most requests).",
)
@click.option(
    "--access-log/--no-access-log", default=True, show_default=True, help="Log every request."
)
def serve(
    host: str,
    port: int,
    no_worker: bool,
    demo: bool,
    reload: bool,
    processes: int,
    access_log: bool,
) -> None:
    """Serve GraphQL at /graphql (embedded Postgres and Redis when none is configured)."""
    import uvicorn

    settings = _settings()  # fail fast, with one line, on a bad configuration
    if processes > 1 and reload:
        raise click.BadParameter("--reload runs one process", param_hint="--processes")
    if settings.admin_api_key == DEV_API_KEY:
        console.print(f"Development admin key: [bold]{DEV_API_KEY}[/] (set API_KEY to change it)")
    where = "" if settings.production else " (GraphiQL)"
    console.print(f"GraphQL at http://{host}:{port}/graphql{where}")
    os.environ[_WORKER_ENV] = "0" if no_worker else "1"
    os.environ[_DEMO_ENV] = "1" if demo else "0"
    uvicorn.run(
        "learntwin_graphql.cli:serve_app",
        factory=True,
        host=host,
        port=port,
        reload=reload,
        reload_dirs=[str(Path(__file__).resolve().parent.parent)] if reload else None,
        workers=processes if processes > 1 else None,
        proxy_headers=True,
        # A WebSocket message is bounded like a request body.
        ws_max_size=settings.max_body_bytes,
        access_log=access_log,
        log_level="info",
    )


def serve_app() -> Any:
    """The app `serve` runs (an ASGI factory for uvicorn)."""
    from learntwin_graphql.app import create_app

    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    return create_app(
        _settings(),
        worker=os.environ.get(_WORKER_ENV, "1") == "1",
        demo=os.environ.get(_DEMO_ENV, "0") == "1",
    )


@main.command()
def worker() -> None:
    """Run a background worker (arq) until interrupted; Redis outages only pause it."""
    from db.migrate import require_current
    from learntwin_graphql.runtime import Runtime

    async def run(settings: Settings) -> None:
        runtime = await Runtime.start(settings)
        try:
            await require_current(runtime.engine)
            # SIGINT/SIGTERM end it (as a cancellation); a Redis outage does not.
            with contextlib.suppress(asyncio.CancelledError):
                await runtime.start_worker(handle_signals=True)
        finally:
            await runtime.close()

    _run(run)


@main.command()
def migrate() -> None:
    """Apply the database migrations."""
    from db.migrate import current_revision
    from db.migrate import migrate as apply_migrations
    from learntwin_graphql.runtime import database_only

    async def run(settings: Settings) -> None:
        async with database_only(settings) as engine:
            with console.status("Migrating…"):
                await apply_migrations(engine)
            console.print(f"database at revision {await current_revision(engine)}")

    _run(run)


@main.command()
@click.option("--rows", default=1_000, show_default=True, help="Synthetic students to train on.")
@click.option("--seed", default=42, show_default=True)
def train(rows: int, seed: int) -> None:
    """Train a score model, make it the active version and tell every process."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from db import score_models
    from learntwin_graphql.runtime import Runtime
    from ml.scoring import train as train_model
    from workers.events import publish
    from workers.keys import MODEL_CHANNEL

    async def run(settings: Settings) -> None:
        runtime = await Runtime.start(settings)
        try:
            with Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
            ) as progress:
                step = progress.add_task("training", total=None)
                model = await asyncio.to_thread(
                    train_model, rows, seed, lambda text: progress.update(step, description=text)
                )
                progress.update(step, description="storing")
                async with runtime.engine.begin() as conn:
                    await score_models.store_and_activate(conn, score_models.model_row(model))
                await publish(runtime.redis, [MODEL_CHANNEL])
        finally:
            await runtime.close()
        click.echo(
            f"active model {model.version}: {model.algorithm}, R² {model.r2:.3f}, "
            f"MAE {model.mae:.2f} on {model.training_rows} rows"
        )

    _run(run)


@main.command("create-api-key")
@click.option("--name", required=True)
@click.option("--role", required=True, type=_ROLES)
def create_api_key(name: str, role: str) -> None:
    """Create an API key and print its secret (shown once)."""
    from db import identity
    from learntwin_graphql import auth
    from learntwin_graphql.runtime import Runtime

    async def run(settings: Settings) -> None:
        runtime = await Runtime.start(settings)
        try:
            key = auth.new_api_key()
            await identity.create_api_key(
                runtime.engine,
                name=name.strip(),
                role=role.upper(),
                key_hash=auth.hash_api_key(key),
                prefix=key[:10],
                created_by=None,
            )
        finally:
            await runtime.close()
        click.echo(key)

    _run(run)


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--role", required=True, type=_ROLES)
@click.option("--student-id", default=None, help="The student a LEARNER account sees.")
@click.password_option(envvar="LEARNTWIN_PASSWORD", help="Prompted for when not given.")
def create_user(email: str, role: str, student_id: str | None, password: str) -> None:
    """Create a user who can `login`."""
    from db import identity
    from learntwin_graphql import auth
    from learntwin_graphql.runtime import Runtime

    if len(password) < 10:
        raise click.BadParameter("must be at least 10 characters", param_hint="--password")
    if role.upper() == "LEARNER" and not student_id:
        raise click.BadParameter("a LEARNER needs --student-id", param_hint="--student-id")

    async def run(settings: Settings) -> None:
        runtime = await Runtime.start(settings)
        try:
            row = await identity.create_user(
                runtime.engine,
                email=email.strip(),
                password_hash=await auth.hash_password(password),
                role=role.upper(),
                student_id=student_id,
            )
        except (identity.EmailTaken, identity.StudentTaken) as exc:
            raise click.ClickException(f"already taken: {exc}") from None
        finally:
            await runtime.close()
        click.echo(f"user {row['id']} {row['email']} ({row['role']})")

    _run(run)


@main.command("export-schema")
@click.option("--output", "-o", default="schema.graphql", show_default=True, type=click.Path())
def export_schema(output: str) -> None:
    """Write the GraphQL schema (SDL) to a file, or to stdout with `-o -`."""
    from learntwin_graphql.schema import schema

    sdl = schema.as_str() + "\n"
    if output == "-":
        click.echo(sdl, nl=False)
    else:
        Path(output).write_text(sdl)
        console.print(f"wrote {output}")


if __name__ == "__main__":
    main()
