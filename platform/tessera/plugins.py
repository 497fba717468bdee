"""The plugin manager: built-in plugins first, then those installed through the ``tessera``
entry-point group, filtered by the ``PLUGINS`` setting (``TESSERA_PLUGINS``).

:class:`Plugins` loads them once and collects what they register (field types, formula
functions, metadata packages, actions, flow steps, jobs, blueprints, templates), refusing a
name registered twice and naming both plugins. Any problem at start-up is a
:class:`PluginError` that names the plugin and the cause; a hook failing at run time is a
:class:`PluginHookError` naming the plugin and the hook, and the surrounding transaction rolls
back.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .expressions import FunctionRegistry
from .fieldtypes import FieldTypeRegistry
from .records.actions import ActionRegistry
from .records.errors import RecordError

ENTRY_POINT_GROUP = "tessera"
#: built-in features, registered exactly like outside plugins (and always loaded)
DEFAULT_PLUGINS = ("tessera.default_fieldtypes", "tessera.default_functions", "tessera.default_jobs",
                   "tessera.flows.webhooks")

log = logging.getLogger(__name__)


class PluginError(Exception):
    """A plugin cannot be loaded or registers something it may not."""


class PluginHookError(RecordError):
    """A plugin's hook raised while the engine called it; the work it was part of is undone."""

    status = 500

    def __init__(self, plugin: str, hook: str, error: BaseException) -> None:
        self.plugin, self.hook, self.error = plugin, hook, error
        super().__init__(f"plugin '{plugin}' failed in {hook}: {type(error).__name__}: {error}")

    def message(self, locale: str = "en") -> str:
        from .i18n import translate

        return translate("A plugin failed (%(plugin)s); nothing was saved.", locale, plugin=self.plugin)


@dataclass(frozen=True)
class PluginInfo:
    """What ``tessera plugins list`` shows about one plugin."""

    name: str
    version: str
    module: str
    hooks: tuple[str, ...]
    packages: tuple[Path, ...]
    builtin: bool


class Plugins:
    """The loaded plugins and everything they registered."""

    def __init__(self, pm: pluggy.PluginManager, versions: dict[str, str]) -> None:
        self.pm = pm
        self.hook = pm.hook
        self._versions = versions
        self.field_types = self._collect_field_types()
        self.functions = self._collect_functions()
        self.actions = self._collect_actions()
        #: package folder -> the plugin that ships it
        self.package_owners: dict[Path, str] = {
            Path(folder): name for name, folders in self.answers("tessera_metadata_packages") for folder in folders or ()}
        self.metadata_packages: list[Path] = list(self.package_owners)
        self.flow_steps = self._by_name("tessera_register_flow_steps", "flow step type")
        self.flow_triggers = self._by_name("tessera_register_flow_triggers", "flow trigger type")
        self.periodic_jobs = self._by_name("tessera_register_periodic_jobs", "periodic job")
        self.job_types = self._by_name("tessera_register_job_types", "job type")
        self.template_folders: list[Path] = [
            Path(folder) for _name, folders in self.answers("tessera_template_folders") for folder in folders or ()]
        self.static_folders: list[tuple[str, Path]] = [
            (prefix, Path(folder)) for _n, pairs in self.answers("tessera_static_folders") for prefix, folder in pairs or ()]

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, selection: str | Iterable[str] | None = None) -> Plugins:
        """Built-in plugins, then the installed plugins named in ``selection`` (all when empty)."""
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        versions: dict[str, str] = {}
        for module_name in DEFAULT_PLUGINS:
            pm.register(importlib.import_module(module_name), name=module_name)
            versions[module_name] = importlib_metadata.version("tessera")
        wanted = _selection(selection)
        installed = {ep.name: ep for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP)}
        unknown = sorted(wanted - set(installed)) if wanted else []
        if unknown:
            raise PluginError(f"TESSERA_PLUGINS names {', '.join(repr(n) for n in unknown)}, which "
                              f"{'is' if len(unknown) == 1 else 'are'} not installed "
                              f"(installed: {', '.join(sorted(installed)) or 'none'})")
        for name, entry_point in sorted(installed.items()):
            if wanted and name not in wanted:
                continue
            try:
                plugin = entry_point.load()
            except Exception as exc:  # noqa: BLE001 - any import failure stops start-up with its cause
                raise PluginError(f"plugin '{name}' ({entry_point.value}) failed to import: "
                                  f"{type(exc).__name__}: {exc}") from exc
            try:
                pm.register(plugin, name=name)
            except (ValueError, pluggy.PluginValidationError) as exc:
                raise PluginError(f"plugin '{name}' cannot be registered: {exc}") from exc
            versions[name] = entry_point.dist.version if entry_point.dist else "?"
        try:
            pm.check_pending()  # a misspelt hook implementation is an error, not silence
        except pluggy.PluginValidationError as exc:
            owner = pm.get_name(exc.plugin) or "unknown"
            raise PluginError(f"plugin '{owner}' implements an unknown hook: {exc}") from exc
        return cls(pm, versions)

    # ------------------------------------------------------------------ calling
    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook; a plugin raising becomes a PluginHookError naming it. Deliberate
        refusals (RecordError subclasses) pass through as they are."""
        hook = getattr(self.pm.hook, hook_name)
        try:
            return hook(**kwargs)
        except RecordError:
            raise
        except Exception as exc:
            raise PluginHookError(self._blame(exc, hook), hook_name, exc) from exc

    def owner_of(self, file: str | Path) -> str | None:
        """The plugin whose metadata package holds ``file``, if any."""
        path = Path(file).resolve()
        for folder, plugin in self.package_owners.items():
            if path.is_relative_to(folder.resolve()):
                return plugin
        return None

    def has_implementations(self, hook_name: str) -> bool:
        return bool(getattr(self.pm.hook, hook_name).get_hookimpls())

    @staticmethod
    def _blame(exc: BaseException, hook: Any) -> str:
        """The plugin whose hook implementation the failure passed through."""
        owners = {impl.function.__code__: impl.plugin_name for impl in hook.get_hookimpls()
                  if hasattr(impl.function, "__code__")}
        traceback = exc.__traceback__
        while traceback is not None:
            owner = owners.get(traceback.tb_frame.f_code)
            if owner is not None:
                return owner
            traceback = traceback.tb_next
        return "unknown"

    def answers(self, hook_name: str) -> Iterator[tuple[str, Any]]:
        """Each plugin's answer to a registration hook (one without arguments), with the
        plugin's name, in call order."""
        for impl in reversed(getattr(self.pm.hook, hook_name).get_hookimpls()):
            try:
                answer = impl.function()
            except Exception as exc:  # noqa: BLE001 - any failure stops start-up naming the plugin
                raise PluginError(f"plugin '{impl.plugin_name}' failed in {hook_name}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            if answer is not None:
                yield impl.plugin_name, answer

    # ------------------------------------------------------------------ registries
    def _collect_field_types(self) -> FieldTypeRegistry:
        registry, owners = FieldTypeRegistry(), {}
        for plugin, types in self.answers("tessera_register_field_types"):
            for field_type in types:
                _register(registry.register, field_type, field_type.name, plugin, owners, "field type")
        return registry

    def _collect_functions(self) -> FunctionRegistry:
        registry, owners = FunctionRegistry(), {}
        for plugin, specs in self.answers("tessera_register_formula_functions"):
            for spec in specs:
                _register(registry.register, spec, spec.name.upper(), plugin, owners, "formula function")
        return registry

    def _collect_actions(self) -> ActionRegistry:
        registry, owners = ActionRegistry(), {}
        for plugin, actions in self.answers("tessera_register_actions"):
            for action in actions:
                _register(lambda a, p=plugin: registry.register(a, p), action, action.name, plugin, owners, "action")
        return registry

    def _by_name(self, hook_name: str, what: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for plugin, items in self.answers(hook_name):
            for item in items:
                _register(lambda i: found.__setitem__(i.name, i), item, item.name, plugin, owners, what)
        return found

    # ------------------------------------------------------------------ describing
    def info(self) -> list[PluginInfo]:
        result = []
        for name, plugin in self.pm.list_name_plugin():
            hooks = tuple(sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or ()))
            packages: tuple[Path, ...] = ()
            if hasattr(plugin, "tessera_metadata_packages"):
                packages = tuple(Path(p) for p in plugin.tessera_metadata_packages() or ())
            module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__module__
            result.append(PluginInfo(name, self._versions.get(name, "?"), module, hooks, packages,
                                     name in DEFAULT_PLUGINS))
        return sorted(result, key=lambda p: (not p.builtin, p.name))


def _register(register: Callable[[Any], None], item: Any, name: str, plugin: str,
              owners: dict[str, str], what: str) -> None:
    if name in owners:
        raise PluginError(f"{what} '{name}' is registered by both '{owners[name]}' and '{plugin}'")
    try:
        register(item)
    except ValueError as exc:
        raise PluginError(f"plugin '{plugin}' registers an invalid {what} '{name}': {exc}") from exc
    owners[name] = plugin


def _selection(selection: str | Iterable[str] | None) -> set[str]:
    if selection is None:
        return set()
    if isinstance(selection, str):
        return {part.strip() for part in selection.split(",") if part.strip()}
    return {str(part).strip() for part in selection if str(part).strip()}
