"""Step 2: validate plain spec data against the spec format; export the format as JSON Schema.

Note [Schema]
The spec format is defined once, here, as pydantic v2 models with ``extra="forbid"``: an unknown
key, a wrong type or a missing field becomes a pydantic error whose ``loc`` is a key path, which
``loading.Document`` maps back to a line. The JSON Schema shipped in the package
(``conformance/spec.schema.json``) is exported from these models (``python -m conformance schema``)
and a project test checks that the shipped copy is current, so editors and this validator agree.
The format is described for authors in docs/spec-format.md; what the models cannot say
(expressions, names, version specifiers, quotes) is checked by ``compiling``.
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .errors import SpecError, SpecErrors
from .loading import Document, render_path
from .language.patterns import UnsafePattern, check_pattern


def _check_match(pattern: str) -> None:
    """A 'match:' pattern must be a regular expression of the safe subset (``language.patterns``):
    checked here too, so that schema validation itself never compiles an arbitrary pattern."""
    try:
        check_pattern(pattern)
    except UnsafePattern as exc:
        text = str(exc)
        if text.startswith("invalid regular expression: "):
            raise ValueError(f"'match' is not a valid regular expression: {text.split(': ', 1)[1]}") from None
        raise ValueError(f"'match' is refused: {text}") from None

TOPICS = (
    "requires_grad",
    "grad_modes",
    "backward",
    "detach",
    "leaves",
    "optimizers",
    "devices",
    "numpy",
    "views_inplace",
    "item",
    "deprecated",
    "tensor_basics",
)
VERDICTS = ("holds", "refined", "refuted")
DTYPE_FAMILIES = {
    "float": ("float32", "float64"),
    "half": ("float16", "bfloat16"),
    "floating": ("float32", "float64", "float16", "bfloat16"),
    "int": ("int64", "int32", "int16", "int8", "uint8"),
    "signed": ("int64", "int32", "int16", "int8"),
    "bool": ("bool",),
    "complex": ("complex64", "complex128"),
}
DTYPES = (
    "float32", "float64", "float16", "bfloat16",
    "int64", "int32", "int16", "int8", "uint8",
    "bool", "complex64", "complex128",
)
# Memory layouts a drawn tensor can have (see strategies, Note [Drawn layouts]). ``any`` is the
# default: every layout that is a valid target of writes; ``expanded`` (stride 0, overlapping
# elements) is opt-in through ``all`` or by name, since in-place writes to it are refused.
LAYOUTS = ("contiguous", "transposed", "sliced", "offset", "expanded")
LAYOUT_FAMILIES = {"any": ("contiguous", "transposed", "sliced", "offset"), "all": LAYOUTS}
MAX_DRAWN_ELEMENTS = 10_000  # elements of one drawn tensor (Hypothesis draws each one)
ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]*$"
RESERVED_NAMES = ("torch", "nn", "F", "optim", "np", "math", "device", "other_device", "helpers")

# The shipped claims use TOPICS; a user's own claims may name any topic that can be a pytest marker.
TOPIC_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
Topic = Annotated[str, Field(pattern=TOPIC_PATTERN, description=f"a topic: {', '.join(TOPICS)}, or your own "
                                                                 "(lower-case letters, digits, '_')")]
Verdict = Literal[VERDICTS]  # type: ignore[valid-type]
Scalar = Union[bool, int, float, str, None]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Source(Strict):
    """Where a claim comes from: a seed article and a verbatim quote from it; for a user's own claims
    also a documentation page (``url`` with a ``quote``), or ``none`` with the reason there is none."""

    seed: Optional[str] = Field(None, min_length=1, pattern=r"^[^/\\]+$", description="file name of the seed article")
    url: Optional[str] = Field(None, pattern=r"^https?://\S+$", description="a documentation page the quote is from")
    quote: Optional[str] = Field(None, min_length=1, description="verbatim substring of the article or page")
    none: Optional[str] = Field(None, min_length=1, description="no source: why (e.g. 'our own API contract')")

    @model_validator(mode="after")
    def _one_kind(self) -> "Source":
        kinds = [k for k in ("seed", "url", "none") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError("a source is {seed: ARTICLE, quote: ...}, {url: PAGE, quote: ...} or {none: REASON}")
        if kinds[0] != "none" and self.quote is None:
            raise ValueError(f"a source with '{kinds[0]}' needs 'quote': the words it says")
        if kinds[0] == "none" and self.quote is not None:
            raise ValueError("a source with 'none' has no 'quote'")
        return self


class ShapeRange(Strict):
    min_dims: int = Field(0, ge=0, le=6)
    max_dims: int = Field(4, ge=0, le=6)
    min_side: int = Field(1, ge=0, le=64)
    max_side: int = Field(4, ge=0, le=64)

    @model_validator(mode="after")
    def _ordered(self) -> "ShapeRange":
        if self.min_dims > self.max_dims:
            raise ValueError("min_dims must not exceed max_dims")
        if self.min_side > self.max_side:
            raise ValueError("min_side must not exceed max_side")
        if self.max_side ** self.max_dims > MAX_DRAWN_ELEMENTS:
            raise ValueError(f"max_side ** max_dims is {self.max_side ** self.max_dims}; a drawn tensor has at most "
                             f"{MAX_DRAWN_ELEMENTS} elements")
        return self


class Bounds(Strict):
    min: Union[int, float] = Field()
    max: Union[int, float] = Field()

    @model_validator(mode="after")
    def _ordered(self) -> "Bounds":
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class TensorDraw(Strict):
    """A tensor drawn by Hypothesis: dtype family or list, shape, element bounds, device."""

    dtype: Union[str, list[str]] = "float"
    shape: Union[list[int], str, ShapeRange] = Field(default_factory=ShapeRange)
    elements: Optional[Bounds] = None
    requires_grad: Union[bool, str] = False
    device: Literal["device", "cpu", "other_device"] = "device"
    layout: Union[str, list[str]] = "any"  # a family of LAYOUT_FAMILIES, a layout name, or a list

    @field_validator("layout")
    @classmethod
    def _known_layout(cls, value: Union[str, list[str]]) -> Union[str, list[str]]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise ValueError("layout list must not be empty")
        for name in names:
            if name not in LAYOUT_FAMILIES and name not in LAYOUTS:
                raise ValueError(f"unknown layout {name!r}; use {', '.join(LAYOUT_FAMILIES)} or one of {', '.join(LAYOUTS)}")
        return value

    @field_validator("dtype")
    @classmethod
    def _known_dtype(cls, value: Union[str, list[str]]) -> Union[str, list[str]]:
        names = [value] if isinstance(value, str) else value
        if not names:
            raise ValueError("dtype list must not be empty")
        for name in names:
            if name not in DTYPE_FAMILIES and name not in DTYPES:
                raise ValueError(
                    f"unknown dtype {name!r}; use a family ({', '.join(DTYPE_FAMILIES)}) or a dtype ({', '.join(DTYPES)})"
                )
        return value

    @field_validator("shape")
    @classmethod
    def _small_shape(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) > 6 or any(side < 0 or side > 64 for side in value):
                raise ValueError("a literal shape has at most 6 dimensions of at most 64 each")
            if math.prod(value) > MAX_DRAWN_ELEMENTS:
                raise ValueError(f"a literal shape has at most {MAX_DRAWN_ELEMENTS} elements (got {math.prod(value)})")
        return value


class Given(Strict):
    """One named value: exactly one of the kinds below."""

    tensor: Optional[TensorDraw] = None
    integer: Optional[Bounds] = None
    floating: Optional[Bounds] = None
    boolean: Optional[dict] = None
    sampled_from: Optional[list[Scalar]] = None
    expr: Optional[str] = None
    module: Optional[str] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Given":
        kinds = [k for k in GIVEN_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a given value needs exactly one of: {', '.join(GIVEN_KINDS)} (found {len(kinds)})")
        if self.boolean not in (None, {}):
            raise ValueError("boolean takes no options; write 'boolean: {}'")
        if self.sampled_from is not None and not self.sampled_from:
            raise ValueError("sampled_from needs at least one value")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in GIVEN_KINDS if getattr(self, k) is not None)


GIVEN_KINDS = ("tensor", "integer", "floating", "boolean", "sampled_from", "expr", "module")


class Step(Strict):
    """A step with options: expected exception or warning, or a torch version range; or ``use:``,
    the steps of a named step list from the file's ``helpers`` (Note [Spec helpers])."""

    do: Optional[str] = Field(None, min_length=1)
    use: Optional[str] = Field(None, pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    raises: Optional[str] = None
    warns: Optional[str] = None
    no_warning: Optional[str] = None
    match: Optional[str] = None
    torch: Optional[str] = None

    @model_validator(mode="before")
    @classmethod
    def _has_do(cls, value: Any) -> Any:
        # `- f = lambda t: t` or `- d = {a: 1}` unquoted is read by YAML as a mapping, not as code.
        if isinstance(value, dict) and "do" not in value and "use" not in value:
            raise ValueError("a step written as a mapping needs 'do:' (or 'use:'); if the step is code containing "
                             "': ' (a lambda, a dict), quote it or write it as a block with '|'")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Step":
        if self.use is not None and (self.do is not None or self.raises or self.warns or self.no_warning
                                     or self.match is not None):
            raise ValueError("a 'use:' step takes no 'do', 'raises', 'warns', 'no_warning' or 'match' "
                             "(only 'torch'); put those on the steps of the helper")
        if sum(bool(x) for x in (self.raises, self.warns, self.no_warning)) > 1:
            raise ValueError("a step takes at most one of 'raises', 'warns' and 'no_warning'")
        if self.match is not None and not (self.raises or self.warns):
            raise ValueError("'match' needs 'raises' or 'warns'")
        if self.match is not None:
            _check_match(self.match)
        return self


StepEntry = Union[str, Step]


class Close(Strict):
    actual: str
    expected: Any
    rtol: float = Field(1.3e-6, ge=0)
    atol: float = Field(1e-5, ge=0)


class Equal(Strict):
    actual: str
    expected: Any


class Gradcheck(Strict):
    fn: str
    inputs: list[str] = Field(min_length=1)
    order: Literal[1, 2] = 1
    atol: float = Field(1e-5, ge=0)
    rtol: float = Field(1e-3, ge=0)


class Check(Strict):
    """One expectation: exactly one kind, optionally for a torch version range only."""

    that: Optional[str] = None
    close: Optional[Close] = None
    equal: Optional[Equal] = None
    shares_storage: Optional[list[str]] = Field(None, min_length=2, max_length=2)
    distinct_storage: Optional[list[str]] = Field(None, min_length=2, max_length=2)
    gradcheck: Optional[Gradcheck] = None
    torch: Optional[str] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Check":
        kinds = [k for k in CHECK_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"an expectation needs exactly one of: {', '.join(CHECK_KINDS)} (found {len(kinds)})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in CHECK_KINDS if getattr(self, k) is not None)


CHECK_KINDS = ("that", "close", "equal", "shares_storage", "distinct_storage", "gradcheck")


class RefutedBy(Strict):
    """Which check of ``as_stated`` carries the article's statement (Note [Checked verdicts]).

    ``expect: N``: the expectation ``as_stated.expect[N]`` must fail. ``step: N``: the step
    ``as_stated.do[N]`` refutes the article: a plain step must raise ``raises`` with a message
    matching ``match``; a step that itself expects an exception or a warning (the article says it
    raises or warns) refutes it by not doing so.
    """

    expect: Optional[int] = Field(None, ge=0)
    step: Optional[int] = Field(None, ge=0)
    raises: Optional[str] = None
    match: Optional[str] = None

    @model_validator(mode="after")
    def _one_target(self) -> "RefutedBy":
        if (self.expect is None) == (self.step is None):
            raise ValueError("refuted_by needs exactly one of 'expect: N' (an index into as_stated.expect) "
                             "and 'step: N' (an index into as_stated.do)")
        if self.expect is not None and (self.raises is not None or self.match is not None):
            raise ValueError("'raises' and 'match' go with 'step: N', not with 'expect: N'")
        if self.match is not None:
            _check_match(self.match)
        if self.raises is not None and self.match is None:
            raise ValueError("a refuting exception needs 'match': the part of its message that refutes the article")
        return self


class AsStated(Strict):
    """The article's statement as stated, which must fail on the installed torch, at ``refuted_by``."""

    reuse: Optional[Union[int, Literal["all"]]] = None
    do: Optional[list[StepEntry]] = None
    expect: list[Check] = Field(default_factory=list)
    refuted_by: RefutedBy

    @field_validator("reuse")
    @classmethod
    def _reuse(cls, value: Any) -> Any:
        if isinstance(value, int) and (isinstance(value, bool) or value < 0):
            raise ValueError("reuse must be 'all' or the number of the claim's own steps to run first (>= 0)")
        return value


class DevicesOnly(Strict):
    only: list[str] = Field(min_length=1)


class DevicesExcept(Strict):
    except_: list[str] = Field(min_length=1, alias="except")


class DevicesCross(Strict):
    """``devices: {cross: cuda}``: a cross-device claim about one accelerator kind (``x.cuda()``)."""

    cross: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")


def is_cross(devices: Any) -> bool:
    """Whether a claim's ``devices`` makes it a cross-device claim (generic or of one kind)."""
    return devices == "cross" or isinstance(devices, DevicesCross)


def claim_digest(claim: "Claim") -> str:
    """A digest of everything a claim says (its validated content, not its file's layout).

    Results record it per claim, so a committed result made by an earlier text of the claim is
    known to be stale even when the claim kept its id (``conformance.results_check.stale_claims``).
    """
    import hashlib

    text = json.dumps(claim.model_dump(mode="json"), sort_keys=True, ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Claim(Strict):
    id: str = Field(pattern=ID_PATTERN, max_length=80)
    topic: Optional[Topic] = None
    sources: list[Source] = Field(min_length=1)
    statement: str = Field(min_length=1)
    verdict: Verdict
    refinement: Optional[str] = None
    as_stated: Optional[AsStated] = None
    devices: Union[Literal["all", "cross"], DevicesOnly, DevicesExcept, DevicesCross] = "all"
    given: dict[str, Given] = Field(default_factory=dict)
    do: list[StepEntry] = Field(default_factory=list)
    expect: list[Check] = Field(min_length=1)
    examples: list[dict[str, Any]] = Field(default_factory=list)
    max_examples: Optional[int] = Field(None, ge=1, le=10_000)

    @field_validator("devices", mode="before")
    @classmethod
    def _devices(cls, value: Any) -> Any:
        if value in ("all", "cross"):
            return value
        if isinstance(value, dict) and len(value) == 1 and set(value) <= {"only", "except"}:
            (key, names), = value.items()
            if isinstance(names, list) and names and all(isinstance(n, str) and n for n in names):
                return value
        if isinstance(value, dict) and set(value) == {"cross"} and isinstance(value["cross"], str):
            return value
        raise ValueError(
            "devices must be 'all', 'cross', {cross: KIND}, {only: [device, ...]} or {except: [device, ...]}"
        )

    @field_validator("given")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"given name {name!r} must be an identifier that does not start with '_'")
            if name in RESERVED_NAMES:
                raise ValueError(f"given name {name!r} is reserved ({', '.join(RESERVED_NAMES)})")
        return value

    @model_validator(mode="after")
    def _verdict_fields(self) -> "Claim":
        if self.verdict == "holds":
            if self.refinement is not None or self.as_stated is not None:
                raise ValueError("a claim that holds has no 'refinement' or 'as_stated'")
        else:
            if not self.refinement:
                raise ValueError(f"a {self.verdict} claim needs 'refinement': the precise true statement")
            if self.as_stated is None:
                raise ValueError(
                    f"a {self.verdict} claim needs 'as_stated': the article's statement as checks that must fail"
                )
        return self


class SpecFile(Strict):
    topic: Topic
    claims: list[Claim] = Field(min_length=1)
    # Note [Spec helpers] (compiling.py): named expressions and named step lists for every claim.
    helpers: dict[str, Union[str, list[StepEntry]]] = Field(
        default_factory=dict, description="named expressions, and named step lists ('use: NAME'), "
                                          "that every claim of the file can use")

    @field_validator("helpers")
    @classmethod
    def _helper_names(cls, value: dict) -> dict:
        for name, source in value.items():
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"helper name {name!r} must be an identifier that does not start with '_'")
            if name in RESERVED_NAMES:
                raise ValueError(f"helper name {name!r} is reserved ({', '.join(RESERVED_NAMES)})")
            if isinstance(source, list) and not source:
                raise ValueError(f"helper {name!r} is an empty step list")
            if isinstance(source, str) and not source.strip():
                raise ValueError(f"helper {name!r} is empty; write an expression")
        return value


def validate(doc: Document) -> SpecFile:
    """Validate a loaded document; raise SpecErrors with one located message per problem."""
    try:
        return SpecFile.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecErrors(_errors_from(doc, exc)) from None


def _errors_from(doc: Document, exc: ValidationError) -> list[SpecError]:
    # Unions make pydantic report one error per alternative; keep the most specific per path.
    seen: dict[tuple, SpecError] = {}
    for err in exc.errors(include_url=False):
        path = _data_path(doc.data, err["loc"])
        message = _message(err, path)
        if path in seen:
            # Union alternatives: a specific problem (a validator's message) beats "wrong type".
            if seen[path].message.startswith("wrong type") and not message.startswith("wrong type"):
                seen[path] = SpecError(doc.file, doc.line_of(path), render_path(path), message)
            continue
        seen[path] = SpecError(doc.file, doc.line_of(path), render_path(path), message)
    return _dedupe_union_noise(list(seen.values()))


def _data_path(data: Any, loc: tuple) -> tuple:
    """The key path of an error: pydantic's loc without union tags, unless a tag is a real key (``none:``)."""
    path, node = [], data
    for part in loc:
        part = "except" if part == "except_" else part
        real = isinstance(node, dict) and part in node
        if not real and _is_union_tag(part):
            continue
        path.append(part)
        if real:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return tuple(path)


_UNION_TAGS = {
    "str", "int", "float", "bool", "list[str]", "list[int]", "none", "dict[str,any]", "Step", "ShapeRange",
    "DevicesOnly", "DevicesExcept", "DevicesCross", "literal['all','cross']", "Bounds", "list[union[str,Step]]",
    "function-after[_exactly_one(), Check]",
}


def _is_union_tag(part: Any) -> bool:
    if isinstance(part, int):
        return False
    text = str(part)
    return (
        text in _UNION_TAGS
        or text.startswith(("function-after[", "literal[", "list[", "dict[", "union["))
        or text in ("Step", "ShapeRange", "DevicesOnly", "DevicesExcept", "Bounds", "str", "bool", "int", "float")
    )


def _message(err: dict, path: tuple) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"unknown key {path[-1]!r}" + _suggest_keys(path)
    if not path and kind == "model_type":
        return f"a spec file must be a mapping with 'topic:' and 'claims:' (got {type(err.get('input')).__name__})"
    if kind == "missing":
        return f"missing required key {path[-1]!r}"
    if kind == "string_pattern_mismatch" and path and path[-1] == "id":
        return "claim id must be lower-case kebab-case (letters, digits, '-'), e.g. detach-shares-storage"
    if kind == "string_pattern_mismatch" and path and path[-1] == "topic":
        return (f"invalid topic {err.get('input')!r}; a topic is lower-case letters, digits and '_' (it becomes a "
                f"pytest marker), e.g. one of the shipped topics: {', '.join(TOPICS)}")
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"invalid value {err.get('input')!r}; expected {expected}"
    ctx = err.get("ctx", {})
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} {'entry' if ctx.get('min_length') == 1 else 'entries'} (got {ctx.get('actual_length')})"
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} entries (got {ctx.get('actual_length')})"
    if kind == "string_too_short":
        return "must not be empty"
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge") if kind == "greater_than_equal" else ctx.get("le")
        return f"must be {'at least' if kind == 'greater_than_equal' else 'at most'} {bound} (got {err.get('input')!r})"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if msg.startswith("Input should be a valid"):
        msg = re.sub(r" or instance of \w+$", "", msg)  # pydantic's model class names mean nothing to authors
        msg = f"wrong type: {msg[0].lower()}{msg[1:]} (got {type(err.get('input')).__name__})"
    return msg


def _suggest_keys(path: tuple) -> str:
    parent = path[:-1]
    owner = _owner_model(parent)
    if owner is None:
        return ""
    names = sorted(f.alias or n for n, f in owner.model_fields.items())
    return f"; allowed keys here: {', '.join(names)}"


def _owner_model(path: tuple):
    """The model whose fields are allowed at ``path`` (for 'allowed keys here' hints)."""
    annotation: Any = SpecFile
    for part in path:
        if isinstance(part, int):
            annotation = _element(annotation, list)
            continue
        model = _model_in(annotation)
        if model is not None and part in _fields_by_alias(model):
            annotation = _fields_by_alias(model)[part].annotation
        else:
            mapping_value = _element(annotation, dict)
            if mapping_value is None:
                return None
            annotation = mapping_value
    return _model_in(annotation)


def _fields_by_alias(model: Any) -> dict:
    return {(f.alias or n): f for n, f in model.model_fields.items()}


def _element(annotation: Any, container: type):
    from typing import get_args, get_origin

    if get_origin(annotation) is container:
        args = get_args(annotation)
        return args[-1] if args else None
    for arg in get_args(annotation):
        found = _element(arg, container)
        if found is not None:
            return found
    return None


def _model_in(annotation: Any):
    from typing import get_args

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _dedupe_union_noise(errors: list[SpecError]) -> list[SpecError]:
    """Drop 'wrong type' errors on a node when a deeper error explains what is wrong inside it."""
    keys = [e.key for e in errors]
    kept = []
    for err in errors:
        deeper = any(k != err.key and (k.startswith(err.key + ".") or k.startswith(err.key + "[")) for k in keys)
        if deeper and err.message.startswith("wrong type"):
            continue
        kept.append(err)
    return kept


def json_schema() -> dict:
    schema = SpecFile.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "autograd-conformance spec file"
    return schema


SCHEMA_PATH = Path(__file__).with_name("spec.schema.json")


def write_json_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
