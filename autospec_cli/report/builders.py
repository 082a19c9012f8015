"""Report builders by campaign kind: plug-ins of the entry-point group ``autospec_cli.reports``.

A builder is ``build_report(campaign_dir, out_dir, progress=None) -> dict`` (see
:mod:`autospec_cli.cli.report` for what the returned document holds). This package declares
``verify``, ``gdvb`` and ``study`` in its ``pyproject.toml``; a campaign kind nobody registered
gets the verification report. :data:`REPORTS` is a :class:`autospec_cli.plugins.Registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autospec_cli.errors import PluginError
from autospec_cli.plugins import Registry

GROUP = "autospec_cli.reports"
#: The report of campaigns whose kind has no builder of its own.
DEFAULT = "verify"

ReportBuilder = Callable[..., dict[str, Any]]

#: The report builders (see :mod:`autospec_cli.plugins` for where they come from).
REPORTS: Registry[ReportBuilder] = Registry("report builder", GROUP)


def builder_for(kind: str | None) -> ReportBuilder:
    """The report builder of a campaign kind (the verification report for unknown kinds)."""
    name = kind if kind and kind in REPORTS else DEFAULT
    try:
        return REPORTS.load(name)
    except PluginError as e:
        target = REPORTS.find(name)
        raise PluginError(
            f"reports of '{kind}' campaigns need {target.target if target else name}, which is "
            f"not available in this installation ({e}); update autospec"
        ) from None
