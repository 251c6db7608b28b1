"""Field mapping: Sigma's field names onto the fields the views produce, as pySigma pipelines.

The mappings are data (`mappings/sigma/*.yml`, pySigma processing pipeline YAML); `prepare`
applies them to each rule before it is compiled. `produced_fields` answers, from the same
data, which Sigma fields a logsource can produce, for `detect validate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from sigma.exceptions import SigmaError
from sigma.rule import SigmaRule

from detect.core.errors import DetectError
from detect.core.resources import mapping_path
from detect.core.yamlio import parse_yaml

if TYPE_CHECKING:  # pySigma's processing (and jinja2 with it): 0.07 s to import, needed
    # only to compile a rule the cache of compiled rules does not hold
    from sigma.processing.pipeline import ProcessingPipeline

PIPELINE_FILES = ("linux.yml",)


class PipelineError(DetectError):
    pass


@cache
def pipeline_documents() -> tuple[tuple[Path, dict[str, Any]], ...]:
    """Each built-in mapping file, read and parsed once."""
    documents = []
    for path in default_paths():
        try:
            data = parse_yaml(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise PipelineError(f"{path}: {error}") from error
        if not isinstance(data, dict):
            raise PipelineError(f"{path}: not a pySigma processing pipeline")
        documents.append((path, data))
    return tuple(documents)


@cache
def load_pipeline() -> ProcessingPipeline:
    """The built-in mapping pipelines, merged; a bad built-in file fails at start-up."""
    from sigma.processing.pipeline import ProcessingPipeline

    pipeline = ProcessingPipeline()
    for path, data in pipeline_documents():
        try:
            pipeline = pipeline + ProcessingPipeline.from_dict(data)
        except SigmaError as error:
            raise PipelineError(f"{path}: {error}") from error
    return pipeline


def default_paths() -> tuple[Path, ...]:
    return tuple(mapping_path("sigma", name) for name in PIPELINE_FILES)


def prepare(rule: SigmaRule) -> SigmaRule:
    """Map the rule's field names in place (pySigma applies a pipeline to one rule at a time)."""
    load_pipeline().apply(rule)
    return rule


@cache
def field_mapping(product: str | None, category: str | None) -> dict[str, str]:
    """Sigma field name -> view field, as the mappings give the `product`/`category` logsource
    (the fields that logsource can produce). Shared: do not mutate."""
    found: dict[str, str] = {}
    for _, data in pipeline_documents():
        for item in data.get("transformations", ()):
            if item.get("type") == "field_name_mapping" and _applies(item, product, category):
                found.update(item["mapping"])
    return found


def _applies(item: dict[str, Any], product: str | None, category: str | None) -> bool:
    conditions: Iterable[dict[str, Any]] = item.get("rule_conditions", ())
    return any(
        c.get("type") == "logsource"
        and c.get("product") in (None, product)
        and c.get("category") in (None, category)
        for c in conditions
    )
