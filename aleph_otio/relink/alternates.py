"""The ``reference`` and ``replace`` modes: results inside the original clips, one alternate
reference per version and variation, or the chosen one in place of the original."""

from __future__ import annotations

import re

import opentimelineio as otio

from aleph_otio.errors import RelinkError
from aleph_otio.relink.pieces import Piece, letter
from aleph_otio.relink.references import (
    METADATA_KEY,
    REFERENCE_PREFIX,
    UrlStyle,
    describe,
    provenance,
    result_reference,
)

_REF_KEY_RE = re.compile(r"^aleph_v(\d+)")


def _versions_of_one_shot(group: list[Piece]) -> bool:
    """True when the shots of ``group`` are numbered versions of one shot name."""
    results = [p.result for p in group]
    if any(r.version is None for r in results):
        return False
    if len({r.shot.name.casefold() for r in results}) != 1:
        return False
    ids_per_version: dict[int, set[str]] = {}
    for r in results:
        ids_per_version.setdefault(r.version or 0, set()).add(r.shot.id)
    return all(len(ids) == 1 for ids in ids_per_version.values())


def _clip_owners(pieces_by_result: list[list[Piece]]) -> dict[int, list[Piece]]:
    """Pieces per clip (by identity), refusing two different shots on one clip (versions of one
    shot are one shot)."""
    owners: dict[int, list[Piece]] = {}
    for pieces in pieces_by_result:
        for piece in pieces:
            owners.setdefault(id(piece.clip), []).append(piece)
    for group in owners.values():
        shots = {p.result.shot.id for p in group}
        if len(shots) > 1 and not _versions_of_one_shot(group):
            names = ", ".join(sorted({p.result.shot.name for p in group}))
            raise RelinkError(
                f"{describe(group[0].result.shot, group[0].segment)}: clip "
                f"{group[0].clip.name!r} is covered by {len(shots)} shots ({names}) and can hold "
                "only one result per variation; relink with mode 'version'"
            )
    return owners


def _chosen_version(group: list[Piece], active_version: int | None) -> int | None:
    """The version a clip shows: ``active_version`` where the clip has it, else the latest."""
    numbers = {p.result.version for p in group if p.result.version is not None}
    if not numbers:
        return None
    return active_version if active_version in numbers else max(numbers)


def relink_references(
    pieces_by_result: list[list[Piece]],
    url_style: UrlStyle,
    replace: bool,
    active_version: int | None = None,
) -> None:
    for group in _clip_owners(pieces_by_result).values():
        chosen = _chosen_version(group, active_version)
        group.sort(
            key=lambda p: (p.result.version != chosen, p.result.version or 0, p.result.variant)
        )
        clip = group[0].clip
        previous = dict(clip.metadata.get(METADATA_KEY, {}))
        if replace:
            # One file per clip: the chosen version (its lowest variation); the others stay in
            # the ledger, named here.
            piece = group[0]
            original = previous.get("original_media_reference") or otio.adapters.write_to_string(
                clip.media_reference, "otio_json"
            )
            clip.media_reference = result_reference(
                piece.result, segment_index=piece.index, url_style=url_style
            )
            others = [p.result.path for p in group[1:] if p.result.version == chosen]
            earlier = [p.result.path for p in group[1:] if p.result.version != chosen]
            clip.metadata[METADATA_KEY] = provenance(
                piece.result,
                piece.index,
                mode="replace",
                original_media_reference=original,
                **({"other_variants": others} if others else {}),
                **({"other_versions": earlier} if earlier else {}),
            )
            continue
        refs = clip.media_references()
        taken = [int(m.group(1)) for key in refs if (m := _REF_KEY_RE.match(key))]
        free = f"{max(taken, default=0) + 1:03d}"
        versions = dict(previous.get("versions", {}))
        active = ""
        for version in dict.fromkeys(p.result.version for p in group):
            mine = [p for p in group if p.result.version == version]
            number = free if version is None else f"{version:03d}"
            lettered = len(mine) > 1 or mine[0].result.shot.options.number_results > 1
            for piece in mine:
                key = REFERENCE_PREFIX + number + (letter(piece.result.variant) if lettered else "")
                refs[key] = result_reference(
                    piece.result, segment_index=piece.index, url_style=url_style
                )
                versions[key] = provenance(piece.result, piece.index, mode="reference", key=key)
                active = active or key
        clip.set_media_references(refs, active)
        clip.metadata[METADATA_KEY] = {**versions[active], "active": active, "versions": versions}
