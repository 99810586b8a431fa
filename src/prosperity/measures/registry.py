"""The catalogue of measures the table layer and the CLI can compute by name.

A measure is named on the command line as ``name`` or ``name:param[:param...]``, e.g. ``gini``,
``atkinson:0.5``, ``ge:2``, ``fgt:1``, ``share:0.9:1``. Each entry points to a kernel

    kernel(s: SortedIncome, *, influence: bool, **params) -> Estimate

(``influence`` in sorted order, see :mod:`prosperity.measures.estimate`). Measures with
``uses_line=True`` also receive ``line=<float>``, the poverty line (absolute, or relative and
computed by the table layer from the reference population) and return ``line_derivative``.

``income_domain`` states what incomes the measure accepts: ``"any"`` (negative allowed, e.g. Gini,
shares), ``"nonnegative"`` (zeros allowed, e.g. Theil T, FGT) or ``"positive"`` (MLD, Atkinson
eps >= 1, variance of logs, Watts below the line). The table layer validates against it and says
which rows break it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .estimate import Estimate

INCOME_DOMAINS = ("any", "nonnegative", "positive")


@dataclass(frozen=True)
class MeasureSpec:
    name: str
    kernel: Callable[..., Estimate]
    description: str
    params: tuple[str, ...] = ()  # parameter names, filled positionally from "name:a:b"
    defaults: dict = field(default_factory=dict)  # defaults for trailing params
    income_domain: str = "any"
    uses_line: bool = False
    # optional: validate parsed parameters; raise ValueError with a helpful message
    check: Callable[[dict], None] | None = None
    # optional: the income domain when it depends on the parameters or the kernel's convention
    # (GE(alpha <= 0) needs positive incomes; MLD under PIP's convention accepts zeros)
    domain_rule: Callable[[dict, str | None], str] | None = None

    # How the table layer drives the kernel (checked against the kernel's signature at registration):
    # threshold: "none"; "line" (uses_line: the poverty line is passed as line=); "own_fraction" (the
    # kernel estimates fraction x median itself; line= imposes e.g. the whole sample's threshold);
    # "median_band" (bands around the median; median= imposes the whole sample's median).
    threshold: str = "none"
    # convention_kind: None (no convention=), "quantile" (takes the table's quantile_convention) or
    # "measure" (its own convention, set with conventions={name: ...}).
    convention_kind: str | None = None
    # poor_rule: the kernel takes inclusive= (poor: y <= z when True, as R convey; y < z when False, as
    # laeken, Eurostat and PIP); measure(poor_if=) / the CLI's --poor-if set it for every such measure.
    poor_rule: bool = False

    def __post_init__(self):
        if self.uses_line and self.threshold == "none":
            object.__setattr__(self, "threshold", "line")

    def domain_for(self, params: dict, convention: str | None = None) -> str:
        """The incomes this measure accepts with these parameters and this convention."""
        return self.income_domain if self.domain_rule is None else self.domain_rule(params, convention)

    def label(self, params: dict) -> str:
        """Canonical name with parameters, e.g. ``atkinson:0.5``."""
        if not self.params:
            return self.name
        return ":".join([self.name] + [_fmt(params[p]) for p in self.params])


REGISTRY: dict[str, MeasureSpec] = {}


def register(spec: MeasureSpec) -> MeasureSpec:
    if spec.income_domain not in INCOME_DOMAINS:
        raise ValueError(f"income_domain must be one of {INCOME_DOMAINS}")
    if spec.name in REGISTRY:
        raise ValueError(f"measure {spec.name!r} registered twice")
    _check_kernel_contract(spec)
    REGISTRY[spec.name] = spec
    return spec


THRESHOLDS = ("none", "line", "own_fraction", "median_band")
CONVENTION_KINDS = (None, "quantile", "measure")


def _check_kernel_contract(spec: MeasureSpec) -> None:
    """The declared threshold and convention must match the keywords the kernel accepts."""
    import inspect

    if spec.threshold not in THRESHOLDS or spec.convention_kind not in CONVENTION_KINDS:
        raise ValueError(f"measure {spec.name!r}: threshold must be one of {THRESHOLDS}, convention_kind one of "
                         f"{CONVENTION_KINDS}")
    if (spec.threshold == "line") != spec.uses_line:
        raise ValueError(f"measure {spec.name!r}: threshold 'line' and uses_line=True go together")
    accepted = set(inspect.signature(spec.kernel).parameters)
    needs = {"line": "line", "own_fraction": "line", "median_band": "median"}.get(spec.threshold)
    if needs and needs not in accepted:
        raise ValueError(f"measure {spec.name!r}: threshold {spec.threshold!r} needs a kernel accepting {needs}=")
    if spec.poor_rule and "inclusive" not in accepted:
        raise ValueError(f"measure {spec.name!r}: poor_rule=True needs a kernel accepting inclusive=")
    if (spec.convention_kind is not None) != ("convention" in accepted):
        raise ValueError(f"measure {spec.name!r}: convention_kind {spec.convention_kind!r} does not match the kernel "
                         f"({'accepts' if 'convention' in accepted else 'has no'} convention=)")


def _fmt(x) -> str:
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def parse_measure(text: str) -> tuple[MeasureSpec, dict]:
    """Parse ``"atkinson:0.5"`` into (spec, {"epsilon": 0.5}), with errors that say how to fix."""
    from . import catalog  # noqa: F401  (fills REGISTRY)

    parts = [p.strip() for p in str(text).split(":")]
    name, args = parts[0].lower(), parts[1:]
    if name not in REGISTRY:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown measure {text!r}. Known measures: {known}")
    spec = REGISTRY[name]
    if len(args) > len(spec.params):
        raise ValueError(
            f"measure {name!r} takes at most {len(spec.params)} parameter(s) "
            f"({', '.join(spec.params) or 'none'}), got {text!r}"
        )
    params = dict(spec.defaults)
    for pname, raw in zip(spec.params, args):
        try:
            params[pname] = float(raw)
        except ValueError:
            raise ValueError(f"parameter {pname!r} of measure {name!r} must be a number, got {raw!r} in {text!r}") from None
    missing = [p for p in spec.params if p not in params]
    if missing:
        raise ValueError(f"measure {name!r} needs parameter(s) {missing}: write e.g. {name}:{':'.join('1' for _ in missing)}")
    if spec.check is not None:
        spec.check(params)
    return spec, params
