"""Problems and their places in an exchange document, and the refusal that carries them."""

from __future__ import annotations

from dataclasses import dataclass

Place = tuple[str | int, ...]


def place_text(place: Place) -> str:
    text = ""
    for part in place:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "(document)"


@dataclass(frozen=True)
class Problem:
    place: Place
    message: str

    def __str__(self) -> str:
        return f"{place_text(self.place)}: {self.message}"

    def sort_key(self) -> tuple:
        return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.place), self.message


class ImportRefused(Exception):
    """The document was refused whole. `problems` are every problem found, in order of place."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(set(problems), key=Problem.sort_key)
        super().__init__("\n".join(str(p) for p in self.problems))
