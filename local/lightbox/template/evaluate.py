"""CloudFormation's intrinsic functions and Conditions, evaluated as AWS evaluates them.

What a name stands for (a parameter, a pseudo parameter, a resource's Ref or attribute, an export)
is asked of the stack (`Names`); this module knows the functions. Only the branch Fn::If picks is
evaluated, so a Ref to a resource whose Condition is false is fine inside the other branch, as on AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from lightbox.exceptions import TemplateError
from lightbox.template import intrinsics
from lightbox.template.intrinsics import NO_VALUE

_RULES_ONLY = {"Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn", "Fn::RefAll", "Fn::ValueOf",
               "Fn::ValueOfAll"}


class Names(Protocol):
    """What the names in a template stand for, in one stack."""

    def ref(self, name: str, where: str) -> Any: ...

    def get_att(self, resource: str, attribute: str, where: str) -> Any: ...

    def import_value(self, name: str, where: str) -> Any: ...


def error(where: str, message: str) -> TemplateError:
    resource, _, prop = where.partition(".")
    return TemplateError(resource, prop, message)


class Evaluator:
    def __init__(self, names: Names, conditions: Mapping[str, Any], mappings: Mapping[str, Any]) -> None:
        self.names = names
        self._conditions = conditions
        self._mappings = mappings
        self._decided: dict[str, bool] = {}
        self._deciding: set[str] = set()
        self._lenient: Callable[[TemplateError], None] | None = None

    def resolve_leniently(self, value: Any, where: str, report: Callable[[TemplateError], None]) -> Any:
        """As resolve, but a key whose value cannot be evaluated is left out and reported instead of
        refusing the whole value (one broken route of an OpenAPI body, one odd tag of a role)."""
        self._lenient = report
        try:
            return self.resolve(value, where)
        finally:
            self._lenient = None

    # -- values --------------------------------------------------------------------------
    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic evaluated; AWS::NoValue removes the key or item it stands for."""
        if isinstance(value, list):
            out = [self.resolve(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return [v for v in out if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg, where)
            if isinstance(key, str) and key.startswith("Fn::"):
                return self._function(key, arg, where)
        resolved: dict[str, Any] = {}
        for k, v in value.items():
            try:
                resolved[k] = self.resolve(v, f"{where}.{k}")
            except TemplateError as exc:
                if self._lenient is None:
                    raise
                self._lenient(exc)
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise error(where, f"Ref takes a name; got {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        return self.names.ref(name, where)

    def _function(self, key: str, arg: Any, where: str) -> Any:
        handler = getattr(self, "_fn_" + key[4:].lower(), None)
        if handler is None:
            if key in _RULES_ONLY:
                raise error(where, f"{key} is only valid in a template's Rules section")
            raise error(where, f"{key} is not an intrinsic function CloudFormation knows")
        return handler(arg, f"{where}")

    def _args(self, key: str, arg: Any, count: int | tuple[int, ...], where: str) -> list[Any]:
        counts = (count,) if isinstance(count, int) else count
        if not isinstance(arg, list) or len(arg) not in counts:
            raise error(where, f"{key} takes a list of {' or '.join(map(str, counts))} arguments; got {arg!r}")
        return arg

    def _string(self, key: str, value: Any, where: str) -> str:
        try:
            return intrinsics.text(value)
        except TypeError as exc:
            raise error(where, f"{key}: the value {exc}") from None

    def _fn_getatt(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        resource, attribute = self._args("Fn::GetAtt", arg, 2, where)
        attribute = self.resolve(attribute, where)  # CloudFormation allows a Ref as the attribute name
        if not isinstance(resource, str) or not isinstance(attribute, str):
            raise error(where, f"Fn::GetAtt takes [Resource, Attribute]; got {arg!r}")
        return self.names.get_att(resource, attribute, where)

    def _fn_sub(self, arg: Any, where: str) -> str:
        extra: dict[str, Any] = {}
        if isinstance(arg, list):
            text, variables = self._args("Fn::Sub", arg, 2, where)
            if not isinstance(variables, dict):
                raise error(where, f"Fn::Sub's second argument must be a mapping of variables; got {variables!r}")
            extra = {k: self.resolve(v, f"{where}.{k}") for k, v in variables.items()}
        else:
            text = arg
        if not isinstance(text, str):
            raise error(where, f"Fn::Sub takes a string; got {text!r}")

        def lookup(name: str) -> Any:
            if name in extra:
                return extra[name]
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return self.names.get_att(resource, attribute, where)
            return self.names.ref(name, where)

        try:
            return intrinsics.substitute(text, lookup)
        except TypeError as exc:
            raise error(where, f"Fn::Sub: a variable {exc}") from None

    def _fn_join(self, arg: Any, where: str) -> str:
        separator, items = self._args("Fn::Join", arg, 2, where)
        items = self.resolve(items, where)
        if not isinstance(items, list):
            raise error(where, f"Fn::Join's second argument must be a list; got {items!r}")
        return self._string("Fn::Join", separator, where).join(self._string("Fn::Join", v, where) for v in items)

    def _fn_select(self, arg: Any, where: str) -> Any:
        index, items = self._args("Fn::Select", arg, 2, where)
        index, items = self.resolve(index, where), self.resolve(items, where)
        try:
            i = int(index)
        except (TypeError, ValueError):
            raise error(where, f"Fn::Select's index must be a number; got {index!r}") from None
        if not isinstance(items, list):
            raise error(where, f"Fn::Select's second argument must be a list; got {items!r}")
        if not 0 <= i < len(items):
            raise error(where, f"Fn::Select index {i} is out of range for a list of {len(items)}: {items!r}")
        return items[i]

    def _fn_split(self, arg: Any, where: str) -> list[str]:
        separator, value = self._args("Fn::Split", arg, 2, where)
        return self._string("Fn::Split", self.resolve(value, where), where).split(str(separator))

    def _fn_if(self, arg: Any, where: str) -> Any:
        name, yes, no = self._args("Fn::If", arg, 3, where)
        return self.resolve(yes if self.condition(name, where) else no, where)

    def _fn_findinmap(self, arg: Any, where: str) -> Any:
        args = self._args("Fn::FindInMap", arg, (3, 4), where)
        keys = [self._string("Fn::FindInMap", self.resolve(k, where), where) for k in args[:3]]
        found: Any = self._mappings.get(keys[0])
        for key in keys[1:]:
            found = found.get(key) if isinstance(found, dict) else None
        if found is None:
            if len(args) == 4 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                return self.resolve(args[3]["DefaultValue"], where)  # AWS::LanguageExtensions
            raise error(where, f"Fn::FindInMap: Mappings has no {'.'.join(keys)}")
        return self.resolve(found, where)

    def _fn_base64(self, arg: Any, where: str) -> str:
        return intrinsics.base64_text(self._string("Fn::Base64", self.resolve(arg, where), where))

    def _fn_getazs(self, arg: Any, where: str) -> list[str]:
        region = self.resolve(arg, where) or self.names.ref("AWS::Region", where)
        return intrinsics.availability_zones(str(region))

    def _fn_cidr(self, arg: Any, where: str) -> list[str]:
        block, count, bits = (self.resolve(a, where) for a in self._args("Fn::Cidr", arg, 3, where))
        try:
            return intrinsics.cidr(str(block), int(count), int(bits))
        except ValueError as exc:
            raise error(where, f"Fn::Cidr: {exc}") from None

    def _fn_importvalue(self, arg: Any, where: str) -> Any:
        return self.names.import_value(self._string("Fn::ImportValue", self.resolve(arg, where), where), where)

    def _fn_length(self, arg: Any, where: str) -> int:
        value = self.resolve(arg, where)
        if not isinstance(value, list):
            raise error(where, f"Fn::Length takes a list; got {value!r}")
        return len(value)

    def _fn_tojsonstring(self, arg: Any, where: str) -> str:
        return intrinsics.json_text(self.resolve(arg, where))

    def _fn_transform(self, arg: Any, where: str) -> Any:
        name = arg.get("Name") if isinstance(arg, dict) else arg
        raise error(where, f"Fn::Transform {name}: macros are not run locally (AWS::Include is expanded "
                           "when its Location is a local file)")

    # Condition functions also appear as values (`!Equals` inside `!If` is unusual but legal).
    def _fn_equals(self, arg: Any, where: str) -> bool:
        return self._condition_value({"Fn::Equals": arg}, where)

    def _fn_and(self, arg: Any, where: str) -> bool:
        return self._condition_value({"Fn::And": arg}, where)

    def _fn_or(self, arg: Any, where: str) -> bool:
        return self._condition_value({"Fn::Or": arg}, where)

    def _fn_not(self, arg: Any, where: str) -> bool:
        return self._condition_value({"Fn::Not": arg}, where)

    # -- conditions ----------------------------------------------------------------------
    def condition(self, name: Any, where: str) -> bool:
        """A named condition of the Conditions section, evaluated once."""
        if not isinstance(name, str) or name not in self._conditions:
            known = ", ".join(sorted(self._conditions)) or "none"
            raise error(where, f"names no condition of this template: {name!r} (Conditions: {known})")
        if name not in self._decided:
            if name in self._deciding:
                raise error(f"Conditions.{name}", "refers to itself through other conditions")
            self._deciding.add(name)
            try:
                self._decided[name] = self._condition_value(self._conditions[name], f"Conditions.{name}")
            finally:
                self._deciding.discard(name)
        return self._decided[name]

    def _condition_value(self, expr: Any, where: str) -> bool:
        if isinstance(expr, bool):
            return expr
        if isinstance(expr, str) and expr.lower() in ("true", "false"):
            return expr.lower() == "true"
        if not isinstance(expr, dict) or len(expr) != 1:
            raise error(where, f"a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition; got {expr!r}")
        ((key, arg),) = expr.items()
        if key == "Condition":
            return self.condition(arg, where)
        if key == "Fn::Equals":
            a, b = (self.resolve(v, where) for v in self._args(key, arg, 2, where))
            return bool(_comparable(a) == _comparable(b))
        if key == "Fn::Not":
            (inner,) = self._args(key, arg, 1, where)
            return not self._condition_value(inner, where)
        if key in ("Fn::And", "Fn::Or"):
            if not isinstance(arg, list) or not 2 <= len(arg) <= 10:
                raise error(where, f"{key} takes a list of 2 to 10 conditions; got {arg!r}")
            values = (self._condition_value(c, where) for c in arg)
            return all(values) if key == "Fn::And" else any(values)
        if key == "Fn::If":
            return self._condition_value(self._fn_if(arg, where), where)
        value = self.resolve(expr, where)
        return self._condition_value(value, where)


def _comparable(value: Any) -> Any:
    """Fn::Equals compares what CloudFormation compares: the text of scalars, lists item by item."""
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items()}
    return intrinsics.text(value)
