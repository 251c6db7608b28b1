"""Where in a rule document a pySigma parse error points: a YAML key path.

pySigma's errors name the file but not the key. On the error path only, each detection item
is parsed again on its own to find the one that fails; other errors map by their class to the
top-level key they concern. The path is turned into a line by `documents.line_of`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sigma import exceptions as sx
from sigma.rule import SigmaDetection, SigmaDetectionItem

from detect.sigma.regex import sigma_policy

YamlPath = tuple[str, ...]
SCALARS = (str, int, float, bool, type(None))


def error_path(error: sx.SigmaError, data: Any) -> YamlPath:
    """The key path of `data` (a rule document) that `error` is about; () if unknown."""
    for kind in type(error).__mro__:
        if kind in TOP_LEVEL:
            return TOP_LEVEL[kind]
    found = failing_detection(data)
    if found is None and isinstance(error, sx.SigmaModifiedError):  # also raised by windash
        return ("modified",)
    return found or ()


def failing_detection(data: Any) -> YamlPath | None:
    """The path of the first detection item pySigma cannot parse on its own, if any."""
    detection = data.get("detection") if isinstance(data, dict) else None
    if not isinstance(detection, dict):
        return ("detection",) if data and "detection" in data else None
    policy = sigma_policy()
    for name, definition in detection.items():
        if name == "condition":
            continue
        for key, value in _items(definition):
            try:
                SigmaDetectionItem.from_mapping(key, value, policy=policy)
            except Exception:  # any failure locates the item; the reason comes from pySigma
                return ("detection", str(name), str(key)) if key else ("detection", str(name))
        try:
            SigmaDetection.from_definition(definition, policy=policy)
        except Exception:
            return ("detection", str(name))
    return None


def _items(definition: Any) -> Iterator[tuple[str | None, Any]]:
    if isinstance(definition, dict):
        yield from definition.items()
    elif isinstance(definition, list) and not all(isinstance(v, SCALARS) for v in definition):
        for item in definition:
            yield from _items(item)
    else:
        yield None, definition


TOP_LEVEL: dict[type, YamlPath] = {
    sx.SigmaConditionError: ("detection", "condition"),
    sx.SigmaLogsourceError: ("logsource",),
    sx.SigmaTitleError: ("title",),
    sx.SigmaIdentifierError: ("id",),
    sx.SigmaNameError: ("name",),
    sx.SigmaStatusError: ("status",),
    sx.SigmaLevelError: ("level",),
    sx.SigmaDateError: ("date",),
    sx.SigmaDescriptionError: ("description",),
    sx.SigmaReferencesError: ("references",),
    sx.SigmaTagError: ("tags",),
    sx.SigmaFalsePositivesError: ("falsepositives",),
    sx.SigmaAuthorError: ("author",),
    sx.SigmaLicenseError: ("license",),
    sx.SigmaFieldsError: ("fields",),
    sx.SigmaRelatedError: ("related",),
    sx.SigmaScopeError: ("scope",),
    sx.SigmaTaxonomyError: ("taxonomy",),
    sx.SigmaCorrelationRuleError: ("correlation",),
    sx.SigmaFilterError: ("filter",),
}
