"""One stack read as CloudFormation reads it: the pre-transforms, the SAM transform, Conditions, then
every resource that exists handed to its builder; child stacks the same way, recursively.

A stack answers the evaluator's questions (what a Ref or an attribute is) and the builders' (its
folder, its attributes, its child stacks). Resources in a child are named `Child/LogicalId`, as SAM
CLI names them, so two children can hold the same logical id.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lightbox.exceptions import TemplateError
from lightbox.template import apis, catalog, cdk, functions, provisioned, rules, sources, topics
from lightbox.template.attributes import Attributes, StackIdentity
from lightbox.template.building import Load, Res
from lightbox.template.document import read_template
from lightbox.template.evaluate import Evaluator, error
from lightbox.template.extensions import (
    expand_includes,
    expand_language_extensions,
    import_names,
    is_local,
    local_path,
    transforms,
)
from lightbox.template.model import Finding, Resource
from lightbox.template.parameters import Missing, parameter_values, pseudo_parameters, undeclared
from lightbox.template.sam import SAM_TRANSFORM, Origins, translate
from lightbox.template.sam_leniency import lenient

# Types whose properties must evaluate, or the template is refused: what runs depends on all of them.
# Any other resource's property that cannot be evaluated is left out, with a line saying so.
_ESSENTIAL = {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion", "AWS::SQS::Queue", "AWS::S3::Bucket",
              "AWS::Lambda::EventSourceMapping", "AWS::Events::Rule", "AWS::Scheduler::Schedule",
              "Custom::S3BucketNotifications", "AWS::CloudFormation::Stack", "AWS::SNS::Subscription"}
_KNOWN_TRANSFORMS = {SAM_TRANSFORM, "AWS::LanguageExtensions", "AWS::Include"}
_BUILDERS = {
    "AWS::Lambda::Function": functions.build_function,
    "AWS::Lambda::EventInvokeConfig": functions.build_invoke_config,
    "AWS::SQS::Queue": sources.build_queue,
    "AWS::S3::Bucket": sources.build_bucket,
    "AWS::Lambda::EventSourceMapping": sources.build_event_source_mapping,
    "AWS::Events::Rule": rules.build_rule,
    "AWS::Scheduler::Schedule": rules.build_schedule,
    "AWS::SNS::Topic": topics.build_topic,
    "AWS::SNS::Subscription": topics.build_subscription,
    "Custom::S3BucketNotifications": sources.build_custom_s3_notifications,
}


class Stack:
    def __init__(self, load: Load, path: Path, identity: StackIdentity, given: Mapping[str, Any], source: str) -> None:
        self.load, self.path, self.base, self.identity = load, path, path.parent, identity
        doc = read_template(path)
        load.files.append(path)
        imports = import_names(doc) & set(given)
        load.imports.update({k: given[k] for k in imports})
        self.parameters = parameter_values(doc.get("Parameters") or {}, {k: v for k, v in given.items()
                                                                         if k not in imports})
        load.findings.extend(undeclared(doc.get("Parameters") or {}, given, imports, source))
        doc = expand_includes(doc, self.base, load.files)
        doc = expand_language_extensions(doc, self.parameters)
        cdk.rewrite_assets(doc)
        self.cdk = cdk.is_cdk(doc)
        self.written: dict[str, Any] = doc["Resources"]
        kinds = transforms(doc)
        for kind in kinds:
            if kind not in _KNOWN_TRANSFORMS:
                raise TemplateError("Transform", kind, "macros are not run locally (the transforms read are "
                                                       f"{', '.join(sorted(_KNOWN_TRANSFORMS))})")
        serverless = any(isinstance(r, dict) and str(r.get("Type", "")).startswith("AWS::Serverless::")
                         for r in self.written.values())
        if serverless and SAM_TRANSFORM not in kinds:
            load.findings.append(Finding(str(path.name), "Transform", "", f"the template has AWS::Serverless resources "
                                         f"but no `Transform: {SAM_TRANSFORM}`; AWS would refuse it at deploy (the "
                                         "transform is applied here anyway)", "warning"))
        if SAM_TRANSFORM in kinds or serverless:
            doc, refused = lenient(doc, self.parameters)
            load.findings.extend(refused)
            doc = translate(doc, self.base, self.parameters, identity.region, identity.account, load.files)
        self.origins = Origins(self.written)
        self.raw: dict[str, Any] = doc.get("Resources") or {}
        self.outputs: dict[str, Any] = doc.get("Outputs") or {}
        self.evaluator = Evaluator(self, doc.get("Conditions") or {}, doc.get("Mappings") or {})
        self.values = {**pseudo_parameters(identity), **self.parameters}
        self.children: dict[str, Stack | None] = {}
        self._loading: set[str] = set()
        self._props: dict[tuple[str, str], Any] = {}
        self._resolving: set[tuple[str, str]] = set()
        self.exists: dict[str, str] = {}  # Conditions cannot refer to resources; exists is filled below
        self.exists = {k: str(v.get("Type")) for k, v in self.raw.items() if self._exists(k, v)}
        self.attributes = Attributes(identity, self.exists, self._name_property,
                                     provisioned.of_stack(load.provisioned, identity.path, self.exists))

    # -- names -----------------------------------------------------------------------------
    def user_name(self, logical_id: str) -> tuple[str, str, str | None]:
        """(Child/Name, the type as written, the SAM event) of a resource of this stack."""
        written, kind, event = self.origins.of(logical_id, str(self.raw.get(logical_id, {}).get("Type", "")))
        if self.cdk and written == logical_id:
            written = cdk.construct_id(logical_id, self.raw.get(logical_id, {}).get("Metadata"))
        return (f"{self.identity.path}/{written}" if self.identity.path else written), kind, event

    def _exists(self, logical_id: str, res: Any) -> bool:
        """Resources whose Condition is false do not exist, as on AWS (SAM CLI keeps them)."""
        condition = res.get("Condition") if isinstance(res, dict) else None
        if condition is None:
            return True
        try:
            return self.evaluator.condition(condition, logical_id)
        except TemplateError as exc:
            name, kind, _ = self.user_name(logical_id)
            self.load.finding(Res(logical_id, kind, name, kind, None, {}, {}, ""), "Condition",
                              f"{exc.message}; AWS would refuse this template at deploy (the resource is kept)",
                              kind="warning")
            return True

    def _where(self, logical_id: str, prop: str = "") -> str:
        name, _, event = self.user_name(logical_id)
        path = f"Events.{event}.Properties" if event else ""
        return ".".join(p for p in (name, path, prop) if p)

    def _raw_props(self, logical_id: str) -> dict[str, Any]:
        props = self.raw[logical_id].get("Properties")
        return props if isinstance(props, dict) else {}

    def _name_property(self, logical_id: str, prop: str) -> Any:
        key = (logical_id, prop)
        if key not in self._props:
            if key in self._resolving:
                raise error(self._where(logical_id, prop), "refers to itself (a circular Ref)")
            self._resolving.add(key)
            try:
                self._props[key] = self.evaluator.resolve(self._raw_props(logical_id).get(prop),
                                                          self._where(logical_id, prop))
            finally:
                self._resolving.discard(key)
        return self._props[key]

    # -- what the evaluator asks -------------------------------------------------------------
    def ref(self, name: str, where: str) -> Any:
        if name in self.values:
            value = self.values[name]
            if isinstance(value, Missing):
                raise value.error()
            return value
        if name in self.exists:
            return self.attributes.ref(name)
        if name in self.raw:
            raise error(where, f"refers to {name}, whose Condition {self.raw[name].get('Condition')} is false, so it "
                               "does not exist; guard the Ref with Fn::If, as AWS requires")
        raise error(where, f"Ref {name} names no parameter or resource of this template")

    def get_att(self, resource: str, attribute: str, where: str) -> Any:
        if resource not in self.exists:
            self.ref(resource, where)  # the same errors as a Ref
        if self.exists[resource] == "AWS::CloudFormation::Stack" and attribute.startswith("Outputs."):
            child = self._child_stack(resource)
            if child is None:
                raise error(where, f"Fn::GetAtt {resource}.{attribute}: that stack is not loaded (not a local file)")
            return child.output(attribute.removeprefix("Outputs."))
        value, known = self.attributes.get_att(resource, attribute)
        if not known:
            name, kind, _ = self.user_name(resource)
            self.load.finding(Res(resource, kind, name, kind, None, {}, {}, ""), attribute,
                              f"Fn::GetAtt {resource}.{attribute} is not emulated; it gives {value!r}", kind="warning")
        return value

    def import_value(self, name: str, where: str) -> Any:
        for values in (self.load.imports, self.load.exports):
            if name in values:
                return values[name]
        raise error(where, f"Fn::ImportValue {name}: other stacks' exports are not read; give its value with "
                           f"--parameter-overrides {name}=VALUE")

    def output(self, name: str) -> Any:
        spec = self.outputs.get(name)
        if not isinstance(spec, dict):
            raise TemplateError(f"{self.identity.path}.Outputs", name, "no such output in that stack")
        if "Condition" in spec and not self.evaluator.condition(spec["Condition"], f"Outputs.{name}"):
            raise TemplateError(f"{self.identity.path}.Outputs", name, "its Condition is false, so it does not exist")
        return self.evaluator.resolve(spec.get("Value"), f"{self.identity.path}.Outputs.{name}")

    def exports(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, spec in self.outputs.items():
            export = spec.get("Export") if isinstance(spec, dict) else None
            if isinstance(export, dict):
                try:
                    out[str(self.evaluator.resolve(export.get("Name"), "Outputs"))] = self.output(key)
                except TemplateError:
                    continue  # an export that cannot be evaluated is only an error where it is imported
        return out

    # -- what builders ask -------------------------------------------------------------------
    def events_of(self, logical_id: str) -> list[str]:
        return self.origins.described_events(logical_id)

    def sam_api_events(self) -> dict[tuple[str, str, str], str]:
        return self.origins.api_events(self.exists, self.attributes.physical_name)

    def sam_api_owners(self) -> dict[tuple[str, str, str], str]:
        owners = self.origins.api_event_owners(self.exists, self.attributes.physical_name)
        return {key: self.user_name(logical_id)[0] for key, logical_id in owners.items()}

    def sam_s3_events(self) -> dict[str, dict[str, tuple[tuple[str, ...], str, str]]]:
        return self.origins.s3_events(self.exists, self.attributes.physical_name)

    def child(self, res: Res) -> None:
        self._child_stack(res.logical_id)

    def _child_stack(self, logical_id: str) -> Stack | None:
        if logical_id in self.children:
            return self.children[logical_id]
        if logical_id in self._loading:
            raise error(self._where(logical_id), "the child stack's Parameters need its own Outputs (a cycle)")
        self._loading.add(logical_id)
        try:
            self.children[logical_id] = self._load_child(logical_id)
        finally:
            self._loading.discard(logical_id)
        return self.children[logical_id]

    def _load_child(self, logical_id: str) -> Stack | None:
        name, kind, _ = self.user_name(logical_id)
        res = Res(logical_id, "AWS::CloudFormation::Stack", name, kind, None, {}, {}, "")
        location = self._name_property(logical_id, "TemplateURL")
        if not is_local(location):
            where = "Location" if kind.startswith("AWS::Serverless") else "TemplateURL"
            what = "applications from the Serverless Application Repository are not fetched" if str(
                location).startswith("https://sar.invalid/") else f"{location!r} is not a local template"
            self.load.finding(res, where, f"{what}: this nested stack is not loaded, its resources do not exist "
                                          "locally")
            return None
        params = self._name_property(logical_id, "Parameters") or {}
        if not isinstance(params, dict):
            raise error(self._where(logical_id, "Parameters"), "must be a mapping of parameter values")
        path = local_path(self.base, str(location))
        child_name = name.rsplit("/", 1)[-1]
        stack_path = f"{self.identity.path}/{child_name}" if self.identity.path else child_name
        arn = self.attributes.arn(logical_id)  # the child's AWS::StackId is what the parent's Ref gives
        ident = StackIdentity(stack_path, arn.split("/")[1], arn, self.identity.region, self.identity.account,
                              self.identity.sqs_endpoint)
        child = Stack(self.load, path, ident, params, f"{name}'s Parameters")
        child.build()
        return child

    # -- building ----------------------------------------------------------------------------
    def _res(self, logical_id: str) -> Res:
        name, kind, event = self.user_name(logical_id)
        raw, essential = self.raw[logical_id], self.exists[logical_id] in _ESSENTIAL
        props: dict[str, Any] = self._raw_props(logical_id)
        if essential:
            props = self.evaluator.resolve(props, self._where(logical_id))
        else:  # what cannot be evaluated is left out and said: it does not stop the rest
            def report(exc: TemplateError) -> None:
                self.load.findings.append(Finding(exc.resource, kind, exc.prop, f"{exc.message}; AWS would refuse "
                                                  "this template at deploy (left out here)", "warning"))

            props = self.evaluator.resolve_leniently(props, self._where(logical_id), report)
        meta = raw.get("Metadata") if isinstance(raw.get("Metadata"), dict) else {}
        try:
            physical = self.attributes.physical_name(logical_id)
        except TemplateError:
            if essential:
                raise
            physical = logical_id
        return Res(logical_id, self.exists[logical_id], name, kind, event, props, meta, physical)

    def build(self) -> None:
        collector = apis.ApiCollector()
        layers_first = sorted(self.exists, key=lambda k: self.exists[k] != "AWS::Lambda::LayerVersion")
        for logical_id in layers_first:
            kind = self.exists[logical_id]
            res = self._res(logical_id)
            self.load.resources[f"{self.identity.path}/{logical_id}".lstrip("/")] = Resource(
                f"{self.identity.path}/{logical_id}".lstrip("/"), logical_id, kind, res.props, res.physical,
                self.identity.path, res.user_type)
            self._build_one(collector, res)
        collector.finish(self)
        apis.say_unrouted_events(self, lambda fn: self.user_name(self.origins.function_of(
            fn, self.exists, self.attributes.physical_name)))
        self.load.exports.update(self.exports())

    def _build_one(self, collector: apis.ApiCollector, res: Res) -> None:
        kind = res.type
        try:
            if kind == "AWS::Lambda::LayerVersion":
                functions.build_layer(self, res)
            elif kind == "AWS::CloudFormation::Stack":
                self.child(res)
            elif kind in catalog.API_TYPES:
                collector.add(self, res)
            elif kind in _BUILDERS:
                _BUILDERS[kind](self, res)
        except (TypeError, AttributeError, ValueError, KeyError, IndexError) as exc:
            raise TemplateError(res.name, "Properties", f"could not be read ({type(exc).__name__}: {exc}); "
                                                        "check their types against the AWS reference") from None
        written = res.name.rsplit("/", 1)[-1]
        generated = res.user_type.startswith("AWS::Serverless::") and res.logical_id != written and not res.event
        message = catalog.type_message(kind, self.events_of(written), res.props)
        if message:
            prop = catalog.SAM_PROPERTIES.get(kind, "") if generated else ""
            self.load.finding(Res(res.logical_id, kind, res.name, res.user_type, res.event, {}, {}, ""), prop, message)
        elif not catalog.is_known(kind) and kind not in _BUILDERS and kind != "AWS::CloudFormation::Stack" \
                and kind != "AWS::Lambda::LayerVersion":
            self.load.finding(res, "", f"{kind} resources are not emulated: it is not created, and Ref/GetAtt on "
                                       "it give placeholders")
        for prop, text, level in catalog.property_findings(kind, res.props):
            if res.user_type.startswith("AWS::Serverless::"):  # say it in SAM's words
                prop = catalog.sam_property(kind, prop, generated)
            self.load.finding(res, prop, text, kind=level)
        if kind in catalog.QUIET_TYPES and res.logical_id == written:  # not the roles and permissions SAM makes
            self.load.finding(res, "", "accepted; changes nothing locally", kind="ignored")
