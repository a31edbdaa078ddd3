"""The bibliography reads author-year, like the citations in the text, and keeps titles' capitals.

pybtex's default ``alpha`` style labels entries ``[BLeonardC13]`` and sets titles in sentence case
("Monte carlo gradient estimation ..."). This style labels each entry as it is cited ("Williams,
1992"; "Mohamed et al., 2020"), sorts by author and year, and prints titles as the .bib file spells
them. Selected by ``bibtex_default_style: author_year_book`` in _config.yml.
"""

from collections import Counter
from typing import Any

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle
from pybtex.style.template import field, sentence

STYLE_NAME = "author_year_book"


def _surnames(entry: Any) -> str:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = ["".join(person.last_names) for person in people]
    if not names:
        return entry.key
    if len(names) == 1:
        return names[0]
    if len(names) == 2:
        return f"{names[0]} and {names[1]}"
    return f"{names[0]} et al."


class AuthorYearLabels(BaseLabelStyle):
    """Labels "Surname, Year", with a, b, ... added when two entries would share a label."""

    def format_labels(self, sorted_entries: Any) -> Any:
        labels = [f"{_surnames(e)}, {e.fields.get('year', 'n.d.')}" for e in sorted_entries]
        repeated = {label for label, n in Counter(labels).items() if n > 1}
        seen: Counter = Counter()
        for label in labels:
            if label in repeated:
                seen[label] += 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = SortingStyle

    def format_title(self, e: Any, which_field: str, as_sentence: bool = True) -> Any:
        # The .bib file already capitalises titles correctly (with braces for proper nouns).
        title = field(which_field)
        return sentence[title] if as_sentence else title


def setup(app: Any) -> dict:
    register_plugin("pybtex.style.formatting", STYLE_NAME, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
