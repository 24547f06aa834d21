"""``python -m eval.build_drug_lexicon``: the note engine's drug lexicon, from a kept package.

PyPI ``drug-named-entity-recognition`` (MIT, Fast Data Science) holds 107,000 drug names
(generic and brand, some Spanish) with their canonical drug. Importing it costs about 4 s of
CPU and 350 MB of memory (structures, formulas, an n-gram index), too much for every worker,
so this script keeps only what the note engine reads, each name and its canonical drug,
in ``workers/engines/notes/local/data/drugs.json.gz`` (about 370 kB). Run it again after
upgrading the package; tests/notes/test_facts.py checks the file against the package.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
import unicodedata
from pathlib import Path

LEXICON = Path(__file__).resolve().parents[1] / "workers/engines/notes/local/data/drugs.json.gz"
# Names a note engine can find in speech: one or two words of letters (hyphens allowed).
_NAME = re.compile(r"^[a-z][a-z-]{3,}(?: [a-z][a-z-]+)?$")


def plain(text: str) -> str:
    """Lower case without accents ("Losartán" -> "losartan")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return decomposed.encode("ascii", "ignore").decode()


def build() -> dict[str, str]:
    """Every speakable drug name and its canonical drug, lower case, without accents."""
    from drug_named_entity_recognition import drugs_finder  # 4 s, 350 MB: only here

    names: dict[str, str] = {}
    for variant, canonicals in drugs_finder.drug_variant_to_canonical.items():
        name = plain(variant)
        if not _NAME.match(name) or len(canonicals) != 1:
            continue
        data = drugs_finder.drug_canonical_to_data.get(canonicals[0], {})
        names[name] = plain(str(data.get("name", canonicals[0])))
    return names


def main() -> int:
    names = build()
    body = json.dumps(names, sort_keys=True, separators=(",", ":")).encode()
    # mtime=0: the same package gives the same bytes, so a rebuild shows no diff.
    LEXICON.write_bytes(gzip.compress(body, compresslevel=9, mtime=0))
    print(f"wrote {len(names)} names to {LEXICON}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
