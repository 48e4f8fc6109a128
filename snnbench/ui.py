"""The terminal every command writes to: results on stdout, progress and errors on stderr."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

console = Console()
err = Console(stderr=True)


def progress_bar() -> Progress:
    """The rich progress bar every long command draws on stderr."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def fail(message: str, code: int = 1) -> None:
    """One line on stderr, then exit with code (2: bad input; 1: the work failed)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
