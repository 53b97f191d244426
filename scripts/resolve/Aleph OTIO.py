"""Aleph OTIO for DaVinci Resolve: send the marked ranges of the current timeline to Runway
Aleph 2.0 and bring the results back as a new timeline (``<name> ALEPH v001``).

Install (see docs/resolve.md): ``pip install aleph-otio`` into the Python Resolve uses, copy
this file into Resolve's ``Fusion/Scripts/Utility`` folder, then run Workspace > Scripts >
Aleph OTIO. Output goes to the Console (Workspace > Console).

Settings (environment of Resolve, or edit the defaults below):
  ALEPH_OTIO_MODE          ask (a dialog), plan, emulator (offline rehearsal) or real
  ALEPH_OTIO_RESOLVE_DIR   where exports, results and the job ledger go (~/aleph-otio/resolve)
  ALEPH_OTIO_MARKER_COLOR  a Resolve marker colour meaning "edit" (e.g. Sand); off by default
  ALEPH_OTIO_PREFIX, ALEPH_OTIO_HANDLES, ALEPH_OTIO_NUMBER_RESULTS, ALEPH_OTIO_GUIDE_TRACK
  ALEPH_OTIO_SITE          a site-packages folder to add when Resolve's Python lacks aleph-otio
  RUNWARE_API_KEY          (or ~/.config/aleph-otio/config.toml, mode 0600) for real runs
"""

import os
import sys

DEFAULT_MODE = "ask"


def _import_aleph():
    """aleph_otio.resolve, adding $ALEPH_OTIO_SITE to the path when Resolve's Python lacks it."""
    try:
        from aleph_otio import resolve as aleph_resolve
    except ImportError:
        extra = os.environ.get("ALEPH_OTIO_SITE")
        if not extra:
            return None
        sys.path.insert(0, extra)
        try:
            from aleph_otio import resolve as aleph_resolve
        except ImportError:
            return None
    return aleph_resolve


def _find_resolve(aleph_resolve):
    """The ``resolve`` object: the global Resolve gives its scripts, else DaVinciResolveScript."""
    found = globals().get("resolve")
    if found:
        return found
    for name in ("bmd", "fusion", "fu"):
        host = globals().get(name)
        try:
            found = host.scriptapp("Resolve") if name == "bmd" else host.GetResolve()
        except Exception:  # noqa: BLE001 - not there in this host; try the next way
            found = None
        if found:
            return found
    return aleph_resolve.connect()


def _ask_with_dialog(resolve_app):
    """A UIManager dialog: rehearse offline, run for real, or cancel. None when unavailable."""
    try:
        fusion = resolve_app.Fusion()
        ui = fusion.UIManager
        dispatcher = globals().get("bmd").UIDispatcher(ui)
    except Exception:  # noqa: BLE001 - no UI (headless, external Python): plan only
        return None

    def ask(lines, has_key):
        choice = {"mode": "cancel"}
        buttons = [ui.Button({"ID": "Emulator", "Text": "Rehearse offline (free)"})]
        if has_key:
            buttons.append(ui.Button({"ID": "Real", "Text": "Send to Runware (paid)"}))
        buttons.append(ui.Button({"ID": "Cancel", "Text": "Cancel"}))
        window = dispatcher.AddWindow(
            {"ID": "AlephOTIO", "WindowTitle": "Aleph OTIO", "Geometry": [200, 200, 640, 360]},
            ui.VGroup(
                [
                    ui.TextEdit({"ID": "Plan", "Text": "\n".join(lines), "ReadOnly": True}),
                    ui.HGroup({"Weight": 0}, buttons),
                ]
            ),
        )

        def pick(mode):
            def handler(event):
                choice["mode"] = mode
                dispatcher.ExitLoop()

            return handler

        window.On.Emulator.Clicked = pick("emulator")
        if has_key:
            window.On.Real.Clicked = pick("real")
        window.On.Cancel.Clicked = pick("cancel")
        window.On.AlephOTIO.Close = pick("cancel")
        window.Show()
        dispatcher.RunLoop()
        window.Hide()
        return choice["mode"]

    return ask


def main():
    aleph_resolve = _import_aleph()
    if aleph_resolve is None:
        print(
            "Aleph OTIO: cannot import aleph_otio in Resolve's Python "
            f"({sys.executable}, Python {sys.version.split()[0]}).\n"
            "Install it into that Python:  python3 -m pip install aleph-otio\n"
            "or set ALEPH_OTIO_SITE to the site-packages folder where it is installed."
        )
        return None
    from aleph_otio.errors import AlephOtioError

    try:
        resolve_app = _find_resolve(aleph_resolve)
        mode = os.environ.get(aleph_resolve.MODE_ENV) or DEFAULT_MODE
        ask = _ask_with_dialog(resolve_app) if mode == "ask" else None
        return aleph_resolve.script_main(resolve_app, mode=mode, ask=ask)
    except AlephOtioError as exc:
        print(f"Aleph OTIO: {exc}")
    except KeyboardInterrupt:
        print("Aleph OTIO: interrupted; run again to resume from the job ledger")
    return None


main()
